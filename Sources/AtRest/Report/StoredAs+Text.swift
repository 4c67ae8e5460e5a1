import AtRestEncryption

/// How the reports spell the storage vocabulary: the names of the JSON fields' values, of
/// metrics labels and of table cells. Stable: scripts and dashboards match them.
extension StoredAs {
    /// `plaintext` or `encrypted`.
    var storageName: String { isPlaintext ? "plaintext" : "encrypted" }

    /// `identity` for plaintext; `aescbc`, `aesgcm`, `secretbox`, `kms`, or the unknown provider's text.
    var providerName: String {
        switch self {
        case .plaintext: return ProviderConfiguration.identity.typeName
        case .encrypted(let format, _, _): return format.provider
        case .unknownProvider(let provider): return provider
        }
    }

    /// `v1` or `v2` for KMS.
    var kmsVersionName: String? {
        if case .kms(let version)? = format { return version.rawValue }
        return nil
    }

    /// `plaintext protobuf`, `aesgcm key1`, `kms v2 my-kms (key id abc)`, as the inventory and
    /// `inspect` name a value classified from its bytes.
    var summary: String {
        switch self {
        case .plaintext(let encoding): return "plaintext \((encoding ?? .other).rawValue)"
        case .unknownProvider(let provider): return "unknown provider \(EnvelopePrefix.reservedText)\(provider)"
        case .encrypted(let format, let keyName, let keyID):
            var parts = [format.provider]
            if let kmsVersionName { parts.append(kmsVersionName) }
            parts.append(keyName ?? "(no key name)")
            if let keyID { parts.append("(key id \(keyID))") }
            return parts.joined(separator: " ")
        }
    }

    /// How a revision of the history is stored: `plaintext`, `aescbc key0`, `kms v2 my-kms`.
    var revisionText: String {
        isPlaintext ? "plaintext" : [providerName, kmsVersionName, keyName].compactMap { $0 }.joined(separator: " ")
    }

    /// How a key of the history is stored now: `plaintext`, or its `summary`.
    static func nowText(_ now: StoredAs?) -> String {
        guard let now else { return "deleted" }
        return now.isPlaintext ? "plaintext" : now.summary
    }
}
