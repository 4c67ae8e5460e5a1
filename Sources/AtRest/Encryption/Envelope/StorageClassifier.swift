import AtRestDump

/// Labels a stored value with its `StorageClass`, from its bytes alone.
///
/// Without a configuration the key name of a static-key provider is taken up to
/// the next `:` (key names may themselves contain `:`; the audit resolves those
/// against the configured names). KMS v2 provider names cannot contain `:`
/// (apiserver validation), so that split is exact.
public enum StorageClassifier {
    /// `k8s:enc:`, reserved for encrypted data.
    public static let encryptedPrefix = Array("k8s:enc:".utf8)
    static let protobufPrefix: [UInt8] = [0x6b, 0x38, 0x73, 0x00]
    static let cborPrefix: [UInt8] = [0xd9, 0xd9, 0xf7]

    public static func classify(_ value: UnsafeRawBufferPointer) -> StorageClass {
        if value.starts(with: encryptedPrefix) {
            return .encrypted(envelope(UnsafeRawBufferPointer(rebasing: value[encryptedPrefix.count...])))
        }
        return .plaintext(plaintextEncoding(value))
    }

    public static func classify(_ value: [UInt8]) -> StorageClass {
        value.withUnsafeBytes { classify($0) }
    }

    static func plaintextEncoding(_ value: UnsafeRawBufferPointer) -> PlaintextEncoding {
        if value.isEmpty { return .empty }
        if value.starts(with: protobufPrefix) { return .protobuf }
        if value.starts(with: cborPrefix) { return .cbor }
        // JSON objects as the apiserver writes them (`json.Encoder`: no leading space).
        // Leading white space is tolerated for hand-written values.
        if let first = value.first(where: { $0 != 0x20 && $0 != 0x0a && $0 != 0x0d && $0 != 0x09 }), first == UInt8(ascii: "{") {
            return .json
        }
        return .other
    }

    /// `rest` is what follows `k8s:enc:`.
    static func envelope(_ rest: UnsafeRawBufferPointer) -> Envelope {
        guard let (provider, afterProvider) = field(rest) else {
            return .unknown(provider: display(rest.prefix(32)))
        }
        let providerName = String(decoding: provider, as: UTF8.self)
        guard let (version, afterVersion) = field(afterProvider) else {
            return .unknown(provider: display(provider))
        }
        let v = String(decoding: version, as: UTF8.self)
        switch (providerName, v) {
        case ("aescbc", "v1"), ("aesgcm", "v1"), ("secretbox", "v1"):
            let provider = KeyedProvider(rawValue: providerName) ?? .aescbc
            return .keyed(provider: provider, keyName: field(afterVersion).map { display($0.0) })
        case ("kms", "v1"):
            return .kmsV1(providerName: field(afterVersion).map { display($0.0) })
        case ("kms", "v2"):
            guard let (name, payload) = field(afterVersion) else { return .kmsV2(providerName: nil, object: nil) }
            return .kmsV2(providerName: display(name), object: KMSv2EncryptedObject(protobuf: payload))
        default:
            return .unknown(provider: "\(display(provider)):\(display(version))")
        }
    }

    /// Splits at the first `:`: the text before it, and the bytes after it.
    static func field(_ bytes: UnsafeRawBufferPointer) -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer)? {
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        return (UnsafeRawBufferPointer(rebasing: bytes[..<colon]), UnsafeRawBufferPointer(rebasing: bytes[(colon + 1)...]))
    }

    static func display(_ bytes: some Collection<UInt8>) -> String {
        EscapedBytes.string(bytes)
    }
}
