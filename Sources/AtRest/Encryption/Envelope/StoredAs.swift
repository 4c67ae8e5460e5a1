/// How one value is stored: what the audit counts entries under and what every report names.
/// The reports spell it (`Report`); nothing else turns it into text.
public enum StoredAs: Sendable, Hashable, Comparable {
    /// Unencrypted. The encoding when the value's bytes were classified; `nil` when only
    /// the fact that identity reads it matters (the audit's verdicts and totals).
    case plaintext(PlaintextEncoding?)
    /// Under a provider the apiserver writes: the key name (KMS: the provider name), `nil`
    /// when the prefix has none, and for KMS v2 the key ID of its EncryptedObject.
    case encrypted(EnvelopeFormat, keyName: String?, keyID: String?)
    /// A `k8s:enc:` prefix no apiserver writes; the provider text, escaped.
    case unknownProvider(String)

    /// How a value of `storageClass` is stored.
    public init(_ storageClass: StorageClass) {
        switch storageClass {
        case .plaintext(let encoding): self = .plaintext(encoding)
        case .encrypted(.keyed(let provider, let keyName)): self = .encrypted(.keyed(provider), keyName: keyName, keyID: nil)
        case .encrypted(.kmsV1(let name)): self = .encrypted(.kms(.v1), keyName: name, keyID: nil)
        case .encrypted(.kmsV2(let name, let object)): self = .encrypted(.kms(.v2), keyName: name, keyID: object?.keyID)
        case .encrypted(.unknown(let provider)): self = .unknownProvider(provider)
        }
    }

    /// The same without the plaintext encoding, as the audit counts values.
    public var ignoringEncoding: StoredAs {
        if case .plaintext(.some) = self { return .plaintext(nil) }
        return self
    }

    /// The same without the KMS v2 key ID, as a revision's history names it.
    public var ignoringKeyID: StoredAs {
        if case .encrypted(let format, let keyName, .some) = self { return .encrypted(format, keyName: keyName, keyID: nil) }
        return self
    }

    public var isPlaintext: Bool { if case .plaintext = self { return true } else { return false } }

    public var isUnknownProvider: Bool { if case .unknownProvider = self { return true } else { return false } }

    /// The provider's format, for values stored under one the apiserver writes.
    public var format: EnvelopeFormat? {
        if case .encrypted(let format, _, _) = self { return format }
        return nil
    }

    /// The key name (KMS: the provider name), when the value carries one.
    public var keyName: String? {
        if case .encrypted(_, let keyName, _) = self { return keyName }
        return nil
    }

    /// The KMS v2 key ID of the stored EncryptedObject.
    public var keyID: String? {
        if case .encrypted(_, _, let keyID) = self { return keyID }
        return nil
    }

    /// Encrypted before plaintext; then by provider (plaintext: encoding, `identity` when
    /// unclassified), KMS version, key name and key ID: the order the reports list them in.
    public static func < (a: StoredAs, b: StoredAs) -> Bool {
        a.order.lexicographicallyPrecedes(b.order)
    }

    private var order: [String] {
        switch self {
        case .plaintext(let encoding):
            return ["plaintext", encoding?.rawValue ?? "identity", "", "", ""]
        case .encrypted(let format, let keyName, let keyID):
            let version: String = if case .kms(let version) = format { version.rawValue } else { "" }
            return ["encrypted", format.provider, version, keyName ?? "", keyID ?? ""]
        case .unknownProvider(let provider):
            return ["encrypted", provider, "", "", ""]
        }
    }
}
