internal import COpenSSL

/// AES-GCM open over OpenSSL 3's EVP interface, with one reusable `EVP_CIPHER_CTX`.
///
/// The key schedule is set once in `init`; `open` re-initialises only the IV
/// (`EVP_DecryptInit_ex2(ctx, NULL, NULL, iv, NULL)`), which resets the GCM state and keeps the
/// key, so a context that failed a tag check is fine for the next value. The context frees (and
/// OpenSSL cleanses) the key schedule in `deinit`.
struct OpenSSLAESGCMBackend: ~Copyable {
    private let context: OpaquePointer

    init(key: SecretBytes) throws(DecryptionFailure) {
        guard let cipher = OpenSSLSupport.aesGCM[key.count] else {
            throw .backend(OpenSSLSupport.takeError("EVP_CIPHER_fetch(AES-\(key.count * 8)-GCM) failed"))
        }
        context = try OpenSSLSupport.decryptionContext(cipher: cipher, key: key)
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    /// Replaces the key schedule in the same context (a key of the same size): KMS v2
    /// seed values each have their own key.
    func rekey(_ key: UnsafeRawBufferPointer) throws(DecryptionFailure) {
        guard EVP_DecryptInit_ex2(context, nil, key.baseAddress?.assumingMemoryBound(to: UInt8.self), nil, nil) == 1 else {
            throw .backend(OpenSSLSupport.takeError("EVP_DecryptInit_ex2 (key) failed"))
        }
    }

    /// `nonce` is 12 bytes (GCM's default IV length in OpenSSL, as in Go), `tag` 16.
    func open(nonce: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer, tag: UnsafeRawBufferPointer,
              additionalData: UnsafeRawBufferPointer) throws(DecryptionFailure) -> [UInt8] {
        let context = self.context
        let count = ciphertext.count
        var failure: DecryptionFailure?
        // Capacity ≥ 1 so there is always a base address, even for an empty plaintext.
        let plaintext = [UInt8](unsafeUninitializedCapacity: Swift.max(count, 1)) { output, initialized in
            initialized = 0
            guard let out = output.baseAddress else { failure = .backend("no output buffer"); return }
            failure = Self.open(context, nonce: nonce, ciphertext: ciphertext, tag: tag, additionalData: additionalData, into: out)
            if failure == nil { initialized = count }
        }
        if let failure { throw failure }
        return plaintext
    }

    /// Opens into `scratch` (wiped afterwards): authentication only, no plaintext kept.
    func open(nonce: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer, tag: UnsafeRawBufferPointer,
              additionalData: UnsafeRawBufferPointer, into scratch: ScratchBuffer) throws(DecryptionFailure) {
        let context = self.context
        let failure = scratch.withBytes(ciphertext.count) { out in
            Self.open(context, nonce: nonce, ciphertext: ciphertext, tag: tag, additionalData: additionalData, into: out)
        }
        if let failure { throw failure }
    }

    private static func open(_ context: OpaquePointer, nonce: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer,
                             tag: UnsafeRawBufferPointer, additionalData: UnsafeRawBufferPointer,
                             into out: UnsafeMutablePointer<UInt8>) -> DecryptionFailure? {
        guard EVP_DecryptInit_ex2(context, nil, nil, nonce.baseAddress?.assumingMemoryBound(to: UInt8.self), nil) == 1 else {
            return .backend(OpenSSLSupport.takeError("EVP_DecryptInit_ex2 (IV) failed"))
        }
        guard OpenSSLSupport.decryptUpdate(context, output: nil, input: additionalData) != nil else {
            return .backend(OpenSSLSupport.takeError("EVP_DecryptUpdate (AAD) failed"))
        }
        guard let written = OpenSSLSupport.decryptUpdate(context, output: out, input: ciphertext) else {
            return .backend(OpenSSLSupport.takeError("EVP_DecryptUpdate failed"))
        }
        // SET_TAG copies the tag; the `void *` is non-const in the C API only.
        guard let tagBase = tag.baseAddress,
              EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(tag.count), UnsafeMutableRawPointer(mutating: tagBase)) == 1 else {
            OPENSSL_cleanse(out, written)
            return .backend(OpenSSLSupport.takeError("EVP_CTRL_GCM_SET_TAG failed"))
        }
        var finalCount: Int32 = 0
        guard EVP_DecryptFinal_ex(context, out + written, &finalCount) == 1 else {
            // Tag mismatch: never hand out unauthenticated plaintext.
            OPENSSL_cleanse(out, written)
            ERR_clear_error()
            return .authenticationFailed
        }
        guard written + Int(finalCount) == ciphertext.count else {
            OPENSSL_cleanse(out, written + Int(finalCount))
            return .backend("AES-GCM produced \(written + Int(finalCount)) bytes for \(ciphertext.count)")
        }
        return nil
    }
}
