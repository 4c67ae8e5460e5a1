/// HKDF-Expand with SHA-256 (RFC 5869 §2.3), the key derivation of KMS v2's
/// `HKDF_SHA256_XNONCE_AES_GCM_SEED` values.
///
/// Only the expand step: upstream derives each data key as
/// `hkdf.Expand(sha256.New, seed, info)` (`sha256KDFExpandOnly` in
/// `pkg/storage/value/encrypt/aes/aes_extended_nonce.go`), with the seed used directly as the
/// PRK — no extract, no salt. `T(i) = HMAC-SHA256(PRK, T(i-1) || info || i)`.
public enum HKDFSHA256 {
    public static let hashByteCount = 32
    /// RFC 5869: L ≤ 255 · HashLen.
    public static let maximumOutputByteCount = 255 * hashByteCount

    /// The first `outputByteCount` bytes of HKDF-Expand(`pseudoRandomKey`, `info`).
    /// - Throws: ``DecryptionFailure/invalidKeyLength(_:)`` (with the requested length) when
    ///   `outputByteCount` is not in 1...8160; ``DecryptionFailure/backend(_:)`` if HMAC fails.
    public static func expand(pseudoRandomKey: SecretBytes, info: UnsafeRawBufferPointer, outputByteCount: Int) throws(DecryptionFailure) -> SecretBytes {
        guard (1...maximumOutputByteCount).contains(outputByteCount) else { throw .invalidKeyLength(outputByteCount) }
        return try HKDFBackend.expand(pseudoRandomKey: pseudoRandomKey, info: info, outputByteCount: outputByteCount)
    }
}

extension HKDFSHA256 {
    /// Derives 32-byte keys from one pseudo-random key, one per `info`, over an HMAC
    /// context keyed once: the per-value keys of a KMS v2 seed. Not thread-safe: one per thread.
    public final class Expander {
        private let backend: HMACSHA256Backend

        public init(pseudoRandomKey: SecretBytes) throws(DecryptionFailure) {
            backend = try HMACSHA256Backend(key: pseudoRandomKey)
        }

        /// HKDF-Expand(key, `info`, 32) into `output`, which must hold 32 bytes.
        public func expand32(info: UnsafeRawBufferPointer, into output: UnsafeMutablePointer<UInt8>) throws(DecryptionFailure) {
            try backend.firstExpandBlock(info: info, into: output)
        }
    }
}

/// The implementation behind ``HKDFSHA256/Expander``.
typealias HMACSHA256Backend = OpenSSLHMACSHA256Context

/// The implementation behind ``HKDFSHA256``.
typealias HKDFBackend = OpenSSLHKDFBackend
