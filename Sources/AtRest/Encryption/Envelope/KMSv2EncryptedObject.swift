import AtRestDump

/// The KMS v2 envelope (`pkg/storage/value/encrypt/envelope/kmsv2/v2/api.proto`).
/// Parsed to report the key ID and DEK source; reading the data needs the plugin (`KMSSession`).
public struct KMSv2EncryptedObject: Sendable, Hashable {
    /// `EncryptedDEKSourceType`; proto3 omits 0, so an absent field means `aesGCMKey`.
    public enum DEKSourceType: Sendable, Hashable {
        case aesGCMKey
        case hkdfSHA256XNonceAESGCMSeed
        case unknown(UInt64)

        /// Upstream's enum name: `AES_GCM_KEY`, `HKDF_SHA256_XNONCE_AES_GCM_SEED`.
        public var name: String {
            switch self {
            case .aesGCMKey: return "AES_GCM_KEY"
            case .hkdfSHA256XNonceAESGCMSeed: return "HKDF_SHA256_XNONCE_AES_GCM_SEED"
            case .unknown(let raw): return "unknown type \(raw)"
            }
        }
    }

    public var keyID: String
    public var encryptedDataCount: Int
    /// SHA-256 of the wrapped DEK or seed: tells writes with the same DEK apart without revealing it.
    public var encryptedDEKSourceSHA256: [UInt8]
    public var dekSourceType: DEKSourceType
    public var annotations: [String: [UInt8]]

    /// Decodes the protobuf; `nil` when it is not a well-formed EncryptedObject.
    public init?(protobuf bytes: UnsafeRawBufferPointer) {
        var reader = ProtobufReader(bytes)
        var keyID = ""
        var dataCount = 0
        var dekSource: [UInt8] = []
        var type = DEKSourceType.aesGCMKey
        var annotations: [String: [UInt8]] = [:]
        do {
            while let field = try reader.next() {
                switch (field.number, field.value) {
                case (1, .bytes(let data)): dataCount = data.count
                case (2, .bytes(let data)): keyID = String(decoding: data, as: UTF8.self)
                case (3, .bytes(let data)): dekSource = Array(data)
                case (4, .bytes(let entry)):
                    var inner = ProtobufReader(entry)
                    var key = "", value: [UInt8] = []
                    while let f = try inner.next() {
                        if case .bytes(let d) = f.value {
                            if f.number == 1 { key = String(decoding: d, as: UTF8.self) } else if f.number == 2 { value = Array(d) }
                        }
                    }
                    annotations[key] = value
                case (5, .varint(let raw)):
                    type = raw == 0 ? .aesGCMKey : raw == 1 ? .hkdfSHA256XNonceAESGCMSeed : .unknown(raw)
                default: break
                }
            }
        } catch {
            return nil
        }
        self.keyID = keyID
        self.encryptedDataCount = dataCount
        self.encryptedDEKSourceSHA256 = SHA256.hash(dekSource)
        self.dekSourceType = type
        self.annotations = annotations
    }
}
