import AtRestDump

/// Labels a stored value with its `StorageClass`, from its bytes alone.
///
/// Without a configuration the key name of a static-key provider is taken up to
/// the next `:` (key names may themselves contain `:`; the audit resolves those
/// against the configured names). KMS v2 provider names cannot contain `:`
/// (apiserver validation), so that split is exact.
public enum StorageClassifier {
    /// `k8s:enc:`, reserved for encrypted data.
    public static let encryptedPrefix = EnvelopePrefix.reserved
    static let protobufPrefix: [UInt8] = [0x6b, 0x38, 0x73, 0x00]
    static let cborPrefix: [UInt8] = [0xd9, 0xd9, 0xf7]

    public static func classify(_ value: UnsafeRawBufferPointer) -> StorageClass {
        if value.starts(with: encryptedPrefix) {
            return .encrypted(envelope(value))
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

    /// The envelope of a value that carries `k8s:enc:`. Without a configuration a key name
    /// ends at the next `:`; the audit resolves names with `:` against the configured ones.
    static func envelope(_ value: UnsafeRawBufferPointer) -> Envelope {
        func text(_ range: Range<Int>) -> String { display(UnsafeRawBufferPointer(rebasing: value[range])) }
        switch EnvelopePrefix.header(value) {
        case .plaintext, .noProvider:
            let start = EnvelopePrefix.reserved.count
            return .unknown(provider: text(start..<min(value.count, start + 32)))
        case .noVersion(let provider):
            return .unknown(provider: text(provider))
        case .unknown(let provider, let version):
            return .unknown(provider: "\(text(provider)):\(text(version))")
        case .known(let format, let nameStart):
            let nameEnd = EnvelopePrefix.nameEnd(value, from: nameStart, format: format)
            let name = nameEnd.map { text(nameStart..<$0) }
            switch format {
            case .keyed(let provider): return .keyed(provider: provider, keyName: name)
            case .kms(.v1): return .kmsV1(providerName: name)
            case .kms(.v2):
                guard let nameEnd, let name else { return .kmsV2(providerName: nil, object: nil) }
                let payload = UnsafeRawBufferPointer(rebasing: value[(nameEnd + 1)...])
                return .kmsV2(providerName: name, object: KMSv2EncryptedObject(protobuf: payload))
            }
        }
    }

    static func display(_ bytes: some Collection<UInt8>) -> String {
        EscapedBytes.string(bytes)
    }
}
