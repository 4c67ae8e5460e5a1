import AtRestEncryption

/// A storage class flattened to the names used in totals and JSON output.
public struct StorageLabel: Sendable, Hashable, Comparable, Codable {
    /// `plaintext` or `encrypted`.
    public var storage: String
    /// Plaintext: the encoding (`protobuf`, `json`, `cbor`, `empty`, `other`).
    /// Encrypted: the provider (`aescbc`, `aesgcm`, `secretbox`, `kms`, or an unknown one).
    public var kind: String
    /// For KMS: `v1` or `v2`.
    public var kmsVersion: String?
    /// The key name (KMS: the provider name); nil for plaintext or when the envelope is malformed.
    public var keyName: String?
    /// KMS v2 only: the KMS key ID from the EncryptedObject.
    public var keyID: String?
    /// An encrypted value whose `k8s:enc:` prefix no apiserver writes.
    public var unknownProvider: Bool

    public init(_ storageClass: StorageClass) {
        storage = storageClass.storage
        kmsVersion = nil
        keyName = nil
        keyID = nil
        unknownProvider = false
        switch storageClass {
        case .plaintext(let encoding):
            kind = encoding.rawValue
        case .encrypted(let envelope):
            kind = envelope.provider
            keyName = envelope.keyName
            switch envelope {
            case .kmsV1: kmsVersion = "v1"
            case .kmsV2(_, let object):
                kmsVersion = "v2"
                keyID = object?.keyID
            case .unknown: unknownProvider = true
            case .keyed: break
            }
        }
    }

    /// `plaintext protobuf`, `aesgcm key1`, `kms v2 my-kms (key id abc)`.
    public var summary: String {
        if storage == "plaintext" { return "plaintext \(kind)" }
        if unknownProvider { return "unknown provider \(EnvelopePrefix.reservedText)\(kind)" }
        var parts = [kind]
        if let kmsVersion { parts.append(kmsVersion) }
        parts.append(keyName ?? "(no key name)")
        if let keyID { parts.append("(key id \(keyID))") }
        return parts.joined(separator: " ")
    }

    public static func < (a: StorageLabel, b: StorageLabel) -> Bool {
        (a.storage, a.kind, a.kmsVersion ?? "", a.keyName ?? "", a.keyID ?? "")
            < (b.storage, b.kind, b.kmsVersion ?? "", b.keyName ?? "", b.keyID ?? "")
    }
}
