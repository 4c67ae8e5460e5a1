internal import COpenSSL
internal import CSodium

/// XSalsa20-Poly1305 open over libsodium's `crypto_secretbox_open_easy`.
enum SodiumSecretBoxBackend {
    /// `sodium_init()` result, computed once (Swift's lazy `static let` is thread-safe, and
    /// `sodium_init` itself may be called repeatedly from any thread). 0 = initialised now,
    /// 1 = already initialised, -1 = failure.
    private static let initStatus: Int32 = sodium_init()

    static var versionText: String { String(cString: sodium_version_string()) }

    static func initialize() throws(DecryptionFailure) {
        guard initStatus >= 0 else { throw .backend("sodium_init failed") }
    }

    /// `box` is `tag(16) || ciphertext`, `nonce` 24 bytes, `key` 32 bytes (checked by the caller).
    static func open(box: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, key: SecretBytes) throws(DecryptionFailure) -> [UInt8] {
        let count = box.count - crypto_secretbox_macbytes()
        guard count >= 0, let boxBase = box.baseAddress?.assumingMemoryBound(to: UInt8.self),
              let nonceBase = nonce.baseAddress?.assumingMemoryBound(to: UInt8.self) else { throw .truncated }
        var failure: DecryptionFailure?
        let plaintext = [UInt8](unsafeUninitializedCapacity: Swift.max(count, 1)) { output, initialized in
            initialized = 0
            guard let out = output.baseAddress else { failure = .backend("no output buffer"); return }
            let status = key.withUnsafeBytes { keyBytes -> Int32 in
                guard let keyBase = keyBytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return -1 }
                return crypto_secretbox_open_easy(out, boxBase, UInt64(box.count), nonceBase, keyBase)
            }
            if status == 0 {
                initialized = count
            } else {
                // libsodium does not write on failure, but do not rely on it.
                OPENSSL_cleanse(out, count)
                failure = .authenticationFailed
            }
        }
        if let failure { throw failure }
        return plaintext
    }

    /// Opens into `scratch` (wiped afterwards): authentication only, no plaintext kept.
    static func open(box: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, key: SecretBytes,
                     into scratch: ScratchBuffer) throws(DecryptionFailure) {
        let count = box.count - crypto_secretbox_macbytes()
        guard count >= 0, let boxBase = box.baseAddress?.assumingMemoryBound(to: UInt8.self),
              let nonceBase = nonce.baseAddress?.assumingMemoryBound(to: UInt8.self) else { throw .truncated }
        let status = scratch.withBytes(count) { out in
            key.withUnsafeBytes { keyBytes -> Int32 in
                guard let keyBase = keyBytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return -1 }
                return crypto_secretbox_open_easy(out, boxBase, UInt64(box.count), nonceBase, keyBase)
            }
        }
        if status != 0 { throw .authenticationFailed }
    }
}
