internal import COpenSSL

/// AES-CBC decryption over OpenSSL 3's EVP interface, with one reusable `EVP_CIPHER_CTX`.
///
/// OpenSSL's own padding removal is switched off (`EVP_CIPHER_CTX_set_padding(ctx, 0)`): it
/// only accepts padding up to one block, while upstream accepts up to the whole plaintext, and
/// the caller must see the padded bytes to apply upstream's exact rule.
struct OpenSSLAESCBCBackend: ~Copyable {
    private let context: OpaquePointer

    init(key: SecretBytes) throws(DecryptionFailure) {
        guard let cipher = OpenSSLSupport.aesCBC[key.count] else {
            throw .backend(OpenSSLSupport.takeError("EVP_CIPHER_fetch(AES-\(key.count * 8)-CBC) failed"))
        }
        let context = try OpenSSLSupport.decryptionContext(cipher: cipher, key: key)
        guard EVP_CIPHER_CTX_set_padding(context, 0) == 1 else {
            EVP_CIPHER_CTX_free(context)
            throw .backend(OpenSSLSupport.takeError("EVP_CIPHER_CTX_set_padding failed"))
        }
        self.context = context
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    /// Decrypts whole blocks of `ciphertext` (non-empty, block-aligned) and hands the padded
    /// plaintext to `unpad`, which returns the length to keep or throws; on a throw the
    /// decrypted bytes are wiped before the error propagates.
    func decrypt(iv: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer,
                 unpad: (UnsafeMutableRawBufferPointer) throws(DecryptionFailure) -> Int) throws(DecryptionFailure) -> [UInt8] {
        let context = self.context
        let count = ciphertext.count
        var failure: DecryptionFailure?
        let plaintext = [UInt8](unsafeUninitializedCapacity: Swift.max(count, 1)) { output, initialized in
            initialized = 0
            guard let out = output.baseAddress else { failure = .backend("no output buffer"); return }
            if let error = Self.decryptBlocks(context, iv: iv, ciphertext: ciphertext, into: out) {
                failure = error
                return
            }
            do throws(DecryptionFailure) {
                initialized = try unpad(UnsafeMutableRawBufferPointer(start: out, count: count))
            } catch {
                OPENSSL_cleanse(out, count)
                failure = error
            }
        }
        if let failure { throw failure }
        return plaintext
    }

    /// Decrypts like `decrypt` into `scratch` instead of an array, and hands the padded
    /// plaintext to `check`; the bytes are wiped whatever `check` does.
    func authenticate(iv: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer, scratch: ScratchBuffer,
                      check: (UnsafeMutableRawBufferPointer) throws(DecryptionFailure) -> Void) throws(DecryptionFailure) {
        let context = self.context
        try scratch.withBytes(ciphertext.count) { out throws(DecryptionFailure) in
            if let error = Self.decryptBlocks(context, iv: iv, ciphertext: ciphertext, into: out) { throw error }
            try check(UnsafeMutableRawBufferPointer(start: out, count: ciphertext.count))
        }
    }

    private static func decryptBlocks(_ context: OpaquePointer, iv: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer,
                                      into out: UnsafeMutablePointer<UInt8>) -> DecryptionFailure? {
        // Key NULL keeps the key schedule; only the IV (and the chaining state) is reset.
        guard EVP_DecryptInit_ex2(context, nil, nil, iv.baseAddress?.assumingMemoryBound(to: UInt8.self), nil) == 1 else {
            return .backend(OpenSSLSupport.takeError("EVP_DecryptInit_ex2 (IV) failed"))
        }
        guard let written = OpenSSLSupport.decryptUpdate(context, output: out, input: ciphertext) else {
            return .backend(OpenSSLSupport.takeError("EVP_DecryptUpdate failed"))
        }
        var finalCount: Int32 = 0
        guard EVP_DecryptFinal_ex(context, out + written, &finalCount) == 1,
              written + Int(finalCount) == ciphertext.count else {
            OPENSSL_cleanse(out, written)
            return .backend(OpenSSLSupport.takeError("AES-CBC did not decrypt every block"))
        }
        return nil
    }
}
