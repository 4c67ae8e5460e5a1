import AtRestDump

/// Decrypts the `encryptedData` of a KMS v2 value, given the plaintext DEK or seed.
///
/// Offline, atrest normally cannot unwrap `encryptedDEKSource` (only the KMS plugin can), so
/// this path exists for users who supply unwrapped DEKs/seeds, and to test the envelope parsing
/// and the GCM/HKDF path against upstream's golden values.
///
/// Layouts (`pkg/storage/value/encrypt/envelope/kmsv2/envelope.go`, `addTransformerForDecryption`):
/// * `AES_GCM_KEY` (0, or field 5 absent): `encryptedData = nonce(12) || ct || tag(16)`, AES-GCM
///   keyed by the DEK (`aes.NewCipher`: 16/24/32 bytes; the apiserver writes 32), AAD = etcd key.
/// * `HKDF_SHA256_XNONCE_AES_GCM_SEED` (1): `encryptedData = info(32) || nonce(12) || ct || tag(16)`;
///   key = first 32 bytes of HKDF-Expand-SHA256(seed, info) (expand only, no extract:
///   `aes_extended_nonce.go`), then AES-256-GCM with AAD = etcd key. The seed must be at least
///   32 bytes (`MinSeedSizeExtendedNonceGCM`).
public enum KMSv2Data {
    /// The plaintext of `encryptedDEKSource`, tagged with how it is used.
    public enum DEKSource: Sendable {
        case aesGCMKey(SecretBytes)
        case hkdfSHA256XNonceAESGCMSeed(SecretBytes)
    }

    /// `infoSizeExtendedNonceGCM`.
    public static let infoByteCount = PayloadLayout.KMSv2ExtendedNonce.infoByteCount
    /// `MinSeedSizeExtendedNonceGCM`.
    public static let minimumSeedByteCount = 32
    /// `derivedKeySizeExtendedNonceGCM`.
    public static let derivedKeyByteCount = 32

    /// Decrypts `encryptedData` with `dekSource`; `etcdKey` is the full etcd key (the AAD).
    /// A new GCM context per call: KMS v2 keys change per DEK/seed and per `info`, and this is
    /// not a bulk path.
    public static func decrypt(_ encryptedData: UnsafeRawBufferPointer, dekSource: DEKSource,
                               etcdKey: UnsafeRawBufferPointer) throws(DecryptionFailure) -> SecretBytes {
        switch dekSource {
        case .aesGCMKey(let dek):
            return try AESGCMDecryptor(key: dek).decrypt(encryptedData, additionalData: etcdKey)
        case .hkdfSHA256XNonceAESGCMSeed(let seed):
            guard seed.count >= minimumSeedByteCount else { throw .invalidKeyLength(seed.count) }
            guard encryptedData.count >= infoByteCount + AESGCMDecryptor.minimumPayloadByteCount,
                  let base = encryptedData.baseAddress else { throw .truncated }
            let info = UnsafeRawBufferPointer(start: base, count: infoByteCount)
            let key = try derivedKey(seed: seed, info: info)
            let payload = UnsafeRawBufferPointer(start: base + infoByteCount, count: encryptedData.count - infoByteCount)
            return try AESGCMDecryptor(key: key).decrypt(payload, additionalData: etcdKey)
        }
    }

    /// Convenience over arrays (tests, one-off use).
    public static func decrypt(_ encryptedData: [UInt8], dekSource: DEKSource, etcdKey: [UInt8]) throws(DecryptionFailure) -> SecretBytes {
        let result: Result<SecretBytes, DecryptionFailure> = encryptedData.withUnsafeBytes { data in
            etcdKey.withUnsafeBytes { key in
                Result { () throws(DecryptionFailure) in try decrypt(data, dekSource: dekSource, etcdKey: key) }
            }
        }
        return try result.get()
    }

    /// The per-value AES-256 key of a seed-type value: HKDF-Expand-SHA256(seed, info), 32 bytes.
    public static func derivedKey(seed: SecretBytes, info: UnsafeRawBufferPointer) throws(DecryptionFailure) -> SecretBytes {
        try HKDFSHA256.expand(pseudoRandomKey: seed, info: info, outputByteCount: derivedKeyByteCount)
    }

    /// The fields of a stored KMS v2 value needed to decrypt it, which ``KMSv2EncryptedObject``
    /// (made for reporting) does not keep: `encryptedData` and the wrapped `encryptedDEKSource`.
    public struct StoredValue: Sendable {
        /// The `<providerName>` of `k8s:enc:kms:v2:<providerName>:`.
        public var providerName: String
        public var object: KMSv2EncryptedObject
        public var encryptedData: [UInt8]
        /// Still wrapped by the KMS: not secret, hand it to whatever unwraps it.
        public var encryptedDEKSource: [UInt8]

        /// Parses a whole etcd value; `nil` unless it is `k8s:enc:kms:v2:<name>:` followed by an
        /// `EncryptedObject` that passes upstream's `ValidateEncryptedObject` field checks
        /// (non-empty `encryptedData`; `keyID` and `encryptedDEKSource` non-empty and ≤ 1024 bytes).
        public init?(etcdValue: UnsafeRawBufferPointer) {
            let prefix = EnvelopePrefix.kmsV2
            guard etcdValue.starts(with: prefix) else { return nil }
            let rest = UnsafeRawBufferPointer(rebasing: etcdValue[prefix.count...])
            // Provider names cannot contain ':' (validation), so the first ':' ends the name.
            guard let colon = rest.firstIndex(of: UInt8(ascii: ":")) else { return nil }
            let protobuf = UnsafeRawBufferPointer(rebasing: rest[(colon + 1)...])
            guard let object = KMSv2EncryptedObject(protobuf: protobuf) else { return nil }
            var data: [UInt8] = [], dekSource: [UInt8] = []
            var reader = ProtobufReader(protobuf)
            do {
                while let field = try reader.next() {
                    guard case .bytes(let bytes) = field.value else { continue }
                    if field.number == 1 { data = Array(bytes) } else if field.number == 3 { dekSource = Array(bytes) }
                }
            } catch {
                return nil
            }
            guard !data.isEmpty, !dekSource.isEmpty, dekSource.count <= 1024,
                  !object.keyID.isEmpty, object.keyID.utf8.count <= 1024 else { return nil }
            providerName = String(decoding: UnsafeRawBufferPointer(rebasing: rest[..<colon]), as: UTF8.self)
            self.object = object
            encryptedData = data
            encryptedDEKSource = dekSource
        }

        public init?(etcdValue: [UInt8]) {
            guard let value = etcdValue.withUnsafeBytes({ StoredValue(etcdValue: $0) }) else { return nil }
            self = value
        }

        /// Tags the unwrapped `encryptedDEKSource` with this value's type; `nil` for a type
        /// upstream rejects ("unknown encryptedDEKSourceType").
        public func dekSource(unwrapped: SecretBytes) -> DEKSource? {
            switch object.dekSourceType {
            case .aesGCMKey: return .aesGCMKey(unwrapped)
            case .hkdfSHA256XNonceAESGCMSeed: return .hkdfSHA256XNonceAESGCMSeed(unwrapped)
            case .unknown: return nil
            }
        }
    }
}
