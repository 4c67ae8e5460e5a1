/// The provider and version segments of a prefix the apiserver writes
/// (`pkg/server/options/encryptionconfig/config.go`, const block).
public enum EnvelopeFormat: Sendable, Hashable {
    /// aescbc, aesgcm or secretbox: `<provider>:v1`.
    case keyed(KeyedProvider)
    /// `kms:v1` or `kms:v2`.
    case kms(KMSConfiguration.APIVersion)

    /// The provider segment: `aescbc`, `aesgcm`, `secretbox`, `kms`.
    public var provider: String {
        switch self {
        case .keyed(let provider): return provider.rawValue
        case .kms: return "kms"
        }
    }

    /// The version segment: `v1`, `v2`.
    public var version: String {
        switch self {
        case .keyed: return "v1"
        case .kms(let version): return version.rawValue
        }
    }

    public var isKMS: Bool { if case .kms = self { return true } else { return false } }

    /// The format a provider of a configuration writes; `nil` for identity.
    public init?(_ provider: ProviderConfiguration) {
        switch provider {
        case .identity: return nil
        case .aescbc: self = .keyed(.aescbc)
        case .aesgcm: self = .keyed(.aesgcm)
        case .secretbox: self = .keyed(.secretbox)
        case .kms(let kms): self = .kms(kms.apiVersion)
        }
    }

    /// The format named by a provider and a version segment, if an apiserver writes it.
    init?(provider: UnsafeRawBufferPointer, version: UnsafeRawBufferPointer) {
        for format in Self.all where provider.elementsEqual(format.provider.utf8) && version.elementsEqual(format.version.utf8) {
            self = format
            return
        }
        return nil
    }

    static let all: [EnvelopeFormat] = KeyedProvider.allCases.map { .keyed($0) } + KMSConfiguration.APIVersion.allCases.map { .kms($0) }
}

/// The prefix of an encrypted etcd value, `k8s:enc:<provider>:<version>:<name>:`, built and
/// parsed here only. `k8s:enc:` itself is reserved for encrypted data
/// (`pkg/storage/value/encrypt/identity/identity.go`): identity refuses to read it.
///
/// Key names may contain `:` (only KMS v2 provider names may not, `validation_encryption.go`),
/// so a name is where a configured name followed by `:` ends, the longest one that fits;
/// without a configured name, the text up to the next `:`.
public enum EnvelopePrefix {
    /// `k8s:enc:`, as text for messages that name it.
    public static let reservedText = "k8s:enc:"
    /// `k8s:enc:`.
    public static let reserved = Array(reservedText.utf8)

    /// The whole prefix of values `format` writes under `name`: `k8s:enc:aesgcm:v1:key1:`.
    public static func bytes(_ format: EnvelopeFormat, name: String) -> [UInt8] {
        Array("\(reservedText)\(format.provider):\(format.version):\(name):".utf8)
    }

    /// The prefix up to the name: `k8s:enc:kms:v2:`.
    public static func bytes(_ format: EnvelopeFormat) -> [UInt8] {
        Array("\(reservedText)\(format.provider):\(format.version):".utf8)
    }

    /// `k8s:enc:kms:v1:` and `k8s:enc:kms:v2:`, made once: values are matched against them one by one.
    public static let kmsV1 = bytes(.kms(.v1)), kmsV2 = bytes(.kms(.v2))

    /// What a value's first bytes say, as offsets into it.
    public enum Header: Sendable, Hashable {
        /// No `k8s:enc:`: plaintext.
        case plaintext
        /// `k8s:enc:` and no `:` after it.
        case noProvider
        /// `k8s:enc:<provider>` and no `:` after it.
        case noVersion(provider: Range<Int>)
        /// `k8s:enc:<provider>:<version>:` that no apiserver writes.
        case unknown(provider: Range<Int>, version: Range<Int>)
        /// `k8s:enc:<provider>:<version>:` of `format`; the name starts at `nameStart`.
        case known(EnvelopeFormat, nameStart: Int)

        /// Whether the value carries `k8s:enc:`.
        public var isEncrypted: Bool { if case .plaintext = self { return false } else { return true } }
    }

    /// Reads the reserved prefix, the provider and the version of `value`.
    public static func header(_ value: UnsafeRawBufferPointer) -> Header {
        guard value.starts(with: reserved) else { return .plaintext }
        let providerStart = reserved.count
        guard let providerEnd = colon(value, from: providerStart) else { return .noProvider }
        guard let versionEnd = colon(value, from: providerEnd + 1) else { return .noVersion(provider: providerStart..<providerEnd) }
        let provider = providerStart..<providerEnd, version = (providerEnd + 1)..<versionEnd
        guard let format = EnvelopeFormat(provider: slice(value, provider), version: slice(value, version)) else {
            return .unknown(provider: provider, version: version)
        }
        return .known(format, nameStart: versionEnd + 1)
    }

    /// Where the name that starts at `start` ends (the offset of its closing `:`): the longest
    /// of `knownNames` followed by `:` (not for KMS v2, whose names hold no `:`), else the next `:`.
    public static func nameEnd(_ value: UnsafeRawBufferPointer, from start: Int, format: EnvelopeFormat,
                               knownNames: [String] = []) -> Int? {
        guard start <= value.count else { return nil }
        if format != .kms(.v2) {
            let tail = slice(value, start..<value.count)
            var longest: Int? = nil
            for name in knownNames {
                let count = name.utf8.count
                guard count < tail.count, tail[count] == UInt8(ascii: ":"), count > (longest ?? -1),
                      slice(tail, 0..<count).elementsEqual(name.utf8) else { continue }
                longest = count
            }
            if let longest { return start + longest }
        }
        return colon(value, from: start)
    }

    /// The offset of the first `:` at or after `start`.
    static func colon(_ value: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard start <= value.count else { return nil }
        return value[start...].firstIndex(of: UInt8(ascii: ":"))
    }

    static func slice(_ value: UnsafeRawBufferPointer, _ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: value[range])
    }
}

/// Where the parts of a payload (what follows the prefix) lie, as upstream writes them.
public enum PayloadLayout {
    /// `IV(16) ‖ AES-CBC(plaintext ‖ PKCS#7 padding)` (`cbc.TransformToStorage` in
    /// `pkg/storage/value/encrypt/aes/aes.go`).
    public enum AESCBC {
        public static let ivByteCount = 16
        public static let blockByteCount = 16
    }

    /// `nonce(12) ‖ ciphertext ‖ tag(16)` (`gcm.TransformToStorage` in `aes.go`); the etcd key is
    /// the additional data. KMS data written since 1.25 has the same layout under the DEK.
    public enum AESGCM {
        public static let nonceByteCount = 12
        public static let tagByteCount = 16
    }

    /// `nonce(24) ‖ Poly1305 tag(16) ‖ XSalsa20 ciphertext`
    /// (`pkg/storage/value/encrypt/secretbox/secretbox.go`; nacl `secretbox.Seal` puts the tag first).
    public enum SecretBox {
        public static let nonceByteCount = 24
        public static let tagByteCount = 16
    }

    /// `BE16 length ‖ encrypted DEK ‖ data` (`pkg/storage/value/encrypt/envelope/envelope.go`).
    public enum KMSv1 {
        public static let dekLengthByteCount = 2
    }

    /// KMS v2 data with a seed (`HKDF_SHA256_XNONCE_AES_GCM_SEED`): `info(32) ‖ nonce(12) ‖
    /// ciphertext ‖ tag(16)` (`aes_extended_nonce.go`).
    public enum KMSv2ExtendedNonce {
        public static let infoByteCount = 32
    }
}
