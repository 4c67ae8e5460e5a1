/// Opens values written by the `aesgcm` provider (and the AES-GCM layer of KMS v1 ≥ 1.25
/// and KMS v2).
///
/// Stored payload, after `k8s:enc:aesgcm:v1:<keyName>:` (`gcm.TransformToStorage` in
/// `pkg/storage/value/encrypt/aes/aes.go`): `nonce(12) || ciphertext || tag(16)`, Go's
/// `cipher.NewGCM` defaults. The additional authenticated data is the full etcd key
/// (`authenticatedDataString` in `pkg/storage/etcd3/store.go`), so a value copied under another
/// key fails to open: that is tamper detection, and the audit reports it as such.
///
/// Why a class: it owns one OpenSSL `EVP_CIPHER_CTX` whose key schedule is set up once; each
/// value only resets the nonce (≈3× faster than a fresh context for 1 KiB values,
/// swift-toolchain.md §3). **Not thread-safe**: the context is mutated by every call, so use
/// one decryptor per thread (they are cheap; the key is copied into OpenSSL's context).
public final class AESGCMDecryptor {
    public static let nonceByteCount = PayloadLayout.AESGCM.nonceByteCount
    public static let tagByteCount = PayloadLayout.AESGCM.tagByteCount
    /// The shortest payload that can open (empty plaintext).
    public static let minimumPayloadByteCount = nonceByteCount + tagByteCount

    private let backend: AESGCMBackend
    private let keyByteCount: Int

    /// - Throws: ``DecryptionFailure/invalidKeyLength(_:)`` unless the key is 16, 24 or 32 bytes
    ///   (AES-128/192/256, what `aes.NewCipher` accepts).
    public init(key: SecretBytes) throws(DecryptionFailure) {
        guard [16, 24, 32].contains(key.count) else { throw .invalidKeyLength(key.count) }
        backend = try AESGCMBackend(key: key)
        keyByteCount = key.count
    }

    /// Opens `payload` (`nonce || ciphertext || tag`) with `additionalData` (for Kubernetes: the
    /// etcd key bytes).
    ///
    /// Upstream reports a payload shorter than the nonce as "shorter than the required size" and
    /// one shorter than nonce + tag as an authentication failure (Go's `aead.Open`); both are
    /// ``DecryptionFailure/truncated`` here because neither can be a value the apiserver wrote.
    /// - Returns: the plaintext, wiped when released. Nothing is returned (and the output is wiped) when the tag fails.
    public func decrypt(_ payload: UnsafeRawBufferPointer, additionalData: UnsafeRawBufferPointer) throws(DecryptionFailure) -> SecretBytes {
        let (nonce, ciphertext, tag) = try Self.parts(of: payload)
        return SecretBytes(try backend.open(nonce: nonce, ciphertext: ciphertext, tag: tag, additionalData: additionalData))
    }

    /// Checks that `payload` opens, decrypting into `scratch` (wiped) instead of a new buffer:
    /// what an audit needs of every value. Fails exactly as `decrypt` does.
    public func authenticate(_ payload: UnsafeRawBufferPointer, additionalData: UnsafeRawBufferPointer,
                             scratch: ScratchBuffer) throws(DecryptionFailure) {
        let (nonce, ciphertext, tag) = try Self.parts(of: payload)
        try backend.open(nonce: nonce, ciphertext: ciphertext, tag: tag, additionalData: additionalData, into: scratch)
    }

    /// Keys the decryptor anew, keeping its context; `key` is as long as the first key.
    /// For values that each carry their own key (KMS v2 seeds), where a fresh context per
    /// value costs more than the decryption.
    public func rekey(_ key: UnsafeRawBufferPointer) throws(DecryptionFailure) {
        guard key.count == keyByteCount else { throw .invalidKeyLength(key.count) }
        try backend.rekey(key)
    }

    /// `nonce || ciphertext || tag`, as views into `payload`.
    private static func parts(of payload: UnsafeRawBufferPointer) throws(DecryptionFailure)
        -> (nonce: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer, tag: UnsafeRawBufferPointer) {
        guard payload.count >= minimumPayloadByteCount, let base = payload.baseAddress else { throw .truncated }
        return (UnsafeRawBufferPointer(start: base, count: nonceByteCount),
                UnsafeRawBufferPointer(start: base + nonceByteCount, count: payload.count - minimumPayloadByteCount),
                UnsafeRawBufferPointer(start: base + payload.count - tagByteCount, count: tagByteCount))
    }

    /// Convenience over arrays (tests, one-off use).
    public func decrypt(_ payload: [UInt8], additionalData: [UInt8]) throws(DecryptionFailure) -> SecretBytes {
        let result: Result<SecretBytes, DecryptionFailure> = payload.withUnsafeBytes { p in
            additionalData.withUnsafeBytes { a in Result { () throws(DecryptionFailure) in try decrypt(p, additionalData: a) } }
        }
        return try result.get()
    }
}

/// The implementation behind ``AESGCMDecryptor`` (swift-crypto style: the API file talks only
/// to this alias, the backend file holds the C calls).
typealias AESGCMBackend = OpenSSLAESGCMBackend
