/// Opens values written by the `secretbox` provider.
///
/// Stored payload, after `k8s:enc:secretbox:v1:<keyName>:` (`pkg/storage/value/encrypt/secretbox/secretbox.go`,
/// which calls `golang.org/x/crypto/nacl/secretbox.Seal`): `nonce(24) || Poly1305 tag(16) ||
/// XSalsa20 ciphertext` — the same bytes as libsodium's `crypto_secretbox_easy` after the nonce.
/// No additional data: the value is not bound to its etcd key ("Does not perform authentication
/// of the data at rest" upstream), but Poly1305 still authenticates the bytes, so a wrong key or
/// a flipped bit fails.
///
/// A value type: libsodium has no per-key state to reuse (XSalsa20 derives a subkey per nonce),
/// so this only holds the key, and is `Sendable`.
public struct SecretBoxDecryptor: Sendable {
    public static let keyByteCount = 32
    public static let nonceByteCount = PayloadLayout.SecretBox.nonceByteCount
    public static let tagByteCount = PayloadLayout.SecretBox.tagByteCount
    /// `secretbox.Overhead + nonceSize` upstream: the shortest payload (empty plaintext).
    public static let minimumPayloadByteCount = nonceByteCount + tagByteCount

    private let key: SecretBytes

    /// - Throws: ``DecryptionFailure/invalidKeyLength(_:)`` unless the key is 32 bytes
    ///   ("expected key size 32 for secretbox provider" upstream); ``DecryptionFailure/backend(_:)``
    ///   if libsodium cannot initialise.
    public init(key: SecretBytes) throws(DecryptionFailure) {
        guard key.count == Self.keyByteCount else { throw .invalidKeyLength(key.count) }
        try SecretBoxBackend.initialize()
        self.key = key
    }

    /// Opens `payload` (`nonce || tag || ciphertext`); the plaintext is wiped when released.
    public func decrypt(_ payload: UnsafeRawBufferPointer) throws(DecryptionFailure) -> SecretBytes {
        let (nonce, box) = try Self.parts(of: payload)
        return SecretBytes(try SecretBoxBackend.open(box: box, nonce: nonce, key: key))
    }

    /// Checks that `payload` opens, with the same outcome as `decrypt`, by its Poly1305
    /// tag alone: secretbox decides that before it decrypts, so no plaintext is made.
    public func authenticate(_ payload: UnsafeRawBufferPointer) throws(DecryptionFailure) {
        let (nonce, box) = try Self.parts(of: payload)
        try SecretBoxBackend.authenticate(box: box, nonce: nonce, key: key)
    }

    /// `nonce || box` (tag and ciphertext), as views into `payload`.
    private static func parts(of payload: UnsafeRawBufferPointer) throws(DecryptionFailure)
        -> (nonce: UnsafeRawBufferPointer, box: UnsafeRawBufferPointer) {
        guard payload.count >= minimumPayloadByteCount, let base = payload.baseAddress else { throw .truncated }
        return (UnsafeRawBufferPointer(start: base, count: nonceByteCount),
                UnsafeRawBufferPointer(start: base + nonceByteCount, count: payload.count - nonceByteCount))
    }

    /// Convenience over an array (tests, one-off use).
    public func decrypt(_ payload: [UInt8]) throws(DecryptionFailure) -> SecretBytes {
        let result: Result<SecretBytes, DecryptionFailure> = payload.withUnsafeBytes { p in
            Result { () throws(DecryptionFailure) in try decrypt(p) }
        }
        return try result.get()
    }
}

/// The implementation behind ``SecretBoxDecryptor``.
typealias SecretBoxBackend = SodiumSecretBoxBackend
