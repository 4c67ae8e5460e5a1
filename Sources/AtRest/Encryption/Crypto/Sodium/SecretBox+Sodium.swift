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

    /// Checks `box`'s tag without decrypting it: what `crypto_secretbox_open_easy` does
    /// before it decrypts, and all that decides whether it fails (libsodium
    /// `crypto_secretbox_open_detached`): the XSalsa20 subkey of the nonce's first 16
    /// bytes (HSalsa20), the first 32 bytes of the Salsa20 stream under it and the
    /// nonce's last 8 as the Poly1305 key, and Poly1305 over the ciphertext. No plaintext
    /// is made; the subkey and the one-time key are wiped.
    static func authenticate(box: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, key: SecretBytes) throws(DecryptionFailure) {
        let tagCount = crypto_secretbox_macbytes()
        guard box.count >= tagCount, let boxBase = box.baseAddress?.assumingMemoryBound(to: UInt8.self),
              let nonceBase = nonce.baseAddress?.assumingMemoryBound(to: UInt8.self) else { throw .truncated }
        // Subkey (32) then one-time key (32), on the stack.
        var keys: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        let status = withUnsafeMutableBytes(of: &keys) { keys -> Int32 in
            let subkey = keys.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self)
            let oneTimeKey = subkey + 32
            defer { OPENSSL_cleanse(subkey, 64) }
            let derived = key.withUnsafeBytes { keyBytes -> Int32 in
                guard let keyBase = keyBytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return -1 }
                return crypto_core_hsalsa20(subkey, nonceBase, keyBase, nil)
            }
            guard derived == 0, crypto_stream_salsa20(oneTimeKey, 32, nonceBase + 16, subkey) == 0 else { return -1 }
            return crypto_onetimeauth_poly1305_verify(boxBase, boxBase + tagCount, UInt64(box.count - tagCount), oneTimeKey)
        }
        if status != 0 { throw .authenticationFailed }
    }
}
