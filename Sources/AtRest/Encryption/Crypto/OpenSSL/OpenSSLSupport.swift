internal import COpenSSL

/// A fetched `EVP_CIPHER`/`EVP_MD`. These objects are immutable and reference-counted
/// by OpenSSL, so one fetch can be shared by every thread.
struct FetchedAlgorithm: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// Things every OpenSSL backend here needs.
enum OpenSSLSupport {
    static var versionText: String { String(cString: OpenSSL_version(Int32(OPENSSL_VERSION))) }

    /// Ciphers fetched once per process. OpenSSL 3's implicit fetch (`EVP_aes_256_gcm()` on
    /// every init) halves small-value throughput (swift-toolchain.md §1.5 item 9), and an
    /// `EVP_CIPHER_CTX` initialised with a fetched cipher takes its own reference, so these
    /// are never freed.
    static let aesGCM: [Int: FetchedAlgorithm] = fetchAES(mode: "GCM")
    static let aesCBC: [Int: FetchedAlgorithm] = fetchAES(mode: "CBC")

    private static func fetchAES(mode: String) -> [Int: FetchedAlgorithm] {
        var ciphers: [Int: FetchedAlgorithm] = [:]
        for bytes in [16, 24, 32] {
            if let cipher = EVP_CIPHER_fetch(nil, "AES-\(bytes * 8)-\(mode)", nil) {
                ciphers[bytes] = FetchedAlgorithm(pointer: cipher)
            }
        }
        return ciphers
    }

    /// OpenSSL's `EVP_*` length parameters are `int`: larger inputs go in chunks of this size.
    static let maximumChunk = 1 << 30

    /// The oldest queued OpenSSL error as text, or `fallback`; empties this thread's error queue
    /// so a failure does not leak into the next, unrelated, call.
    static func takeError(_ fallback: String) -> String {
        let code = ERR_get_error()
        defer { ERR_clear_error() }
        guard code != 0 else { return fallback }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        let text = buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
        return "\(fallback): \(String(decoding: text, as: UTF8.self))"
    }

    /// Creates a decryption context for `cipher` with the key schedule set up from `key`.
    /// The caller owns (and must `EVP_CIPHER_CTX_free`) the result.
    static func decryptionContext(cipher: FetchedAlgorithm, key: SecretBytes) throws(DecryptionFailure) -> OpaquePointer {
        guard let context = EVP_CIPHER_CTX_new() else {
            throw .backend(takeError("EVP_CIPHER_CTX_new failed"))
        }
        let status = key.withUnsafeBytes { raw in
            EVP_DecryptInit_ex2(context, cipher.pointer, raw.baseAddress?.assumingMemoryBound(to: UInt8.self), nil, nil)
        }
        guard status == 1 else {
            EVP_CIPHER_CTX_free(context)
            throw .backend(takeError("EVP_DecryptInit_ex2 failed"))
        }
        return context
    }

    /// `EVP_DecryptUpdate` over `input` in `Int32`-sized chunks; returns the bytes written to
    /// `output` (nil output: AAD), or `nil` on failure.
    static func decryptUpdate(_ context: OpaquePointer, output: UnsafeMutablePointer<UInt8>?, input: UnsafeRawBufferPointer) -> Int? {
        guard let base = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        var consumed = 0, written = 0
        while consumed < input.count {
            let chunk = min(input.count - consumed, maximumChunk)
            var produced: Int32 = 0
            guard EVP_DecryptUpdate(context, output.map { $0 + written }, &produced, base + consumed, Int32(chunk)) == 1 else {
                return nil
            }
            consumed += chunk
            written += Int(produced)
        }
        return written
    }
}
