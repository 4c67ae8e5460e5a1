internal import COpenSSL

/// HKDF-Expand over OpenSSL's one-shot `HMAC()`.
///
/// Why not `EVP_KDF` "HKDF" in `EXPAND_ONLY` mode: it needs an `OSSL_PARAM` array built from
/// Swift, and the expand step is three lines over HMAC. Every intermediate buffer is wiped.
enum OpenSSLHKDFBackend {
    private static let sha256: FetchedAlgorithm? = EVP_MD_fetch(nil, "SHA256", nil).map(FetchedAlgorithm.init(pointer:))

    static func expand(pseudoRandomKey: SecretBytes, info: UnsafeRawBufferPointer, outputByteCount: Int) throws(DecryptionFailure) -> SecretBytes {
        guard let digest = sha256 else { throw .backend(OpenSSLSupport.takeError("EVP_MD_fetch(SHA256) failed")) }
        let hashCount = HKDFSHA256.hashByteCount
        var output = [UInt8]()
        output.reserveCapacity(outputByteCount + hashCount)
        var message = [UInt8]()
        message.reserveCapacity(hashCount + info.count + 1)
        var block = [UInt8](repeating: 0, count: hashCount)
        defer {
            wipe(&output)
            wipe(&message)
            wipe(&block)
        }
        var counter: UInt8 = 1
        while output.count < outputByteCount {
            message.removeAll(keepingCapacity: true)
            if counter > 1 { message.append(contentsOf: block) }
            message.append(contentsOf: info)
            message.append(counter)
            var length: UInt32 = 0
            let result = pseudoRandomKey.withUnsafeBytes { prk in
                message.withUnsafeBytes { data in
                    block.withUnsafeMutableBufferPointer { md in
                        HMAC(digest.pointer, prk.baseAddress, Int32(prk.count),
                             data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count, md.baseAddress, &length)
                    }
                }
            }
            guard result != nil, length == UInt32(hashCount) else {
                throw .backend(OpenSSLSupport.takeError("HMAC-SHA256 failed"))
            }
            output.append(contentsOf: block)
            counter &+= 1
        }
        return SecretBytes(Array(output[..<outputByteCount]))
    }

    private static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress { OPENSSL_cleanse(base, raw.count) }
        }
    }
}

/// One HMAC-SHA256 context (`EVP_MAC`) keyed once, for a KMS v2 seed: each of its values
/// derives its own key from it, and a fresh one-shot `HMAC()` would fetch the algorithm,
/// build a context and hash the key's pads every time. Not thread-safe: one per thread.
final class OpenSSLHMACSHA256Context {
    private static let hmac: FetchedAlgorithm? = EVP_MAC_fetch(nil, "HMAC", nil).map(FetchedAlgorithm.init(pointer:))
    private let context: OpaquePointer

    init(key: SecretBytes) throws(DecryptionFailure) {
        guard let mac = Self.hmac, let context = EVP_MAC_CTX_new(mac.pointer) else {
            throw .backend(OpenSSLSupport.takeError("EVP_MAC_CTX_new(HMAC) failed"))
        }
        // The digest is a parameter of the context; it stays across EVP_MAC_init calls.
        let status = "digest".withCString { name in
            "SHA256".withCString { digest in
                var parameters = [OSSL_PARAM_construct_utf8_string(name, UnsafeMutablePointer(mutating: digest), 0),
                                  OSSL_PARAM_construct_end()]
                return EVP_MAC_CTX_set_params(context, &parameters)
            }
        }
        let keyed = status == 1 && key.withUnsafeBytes { raw in
            EVP_MAC_init(context, raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count, nil) == 1
        }
        guard keyed else {
            EVP_MAC_CTX_free(context)
            throw .backend(OpenSSLSupport.takeError("HMAC-SHA256 set-up failed"))
        }
        self.context = context
    }

    deinit { EVP_MAC_CTX_free(context) }

    /// The first block of HKDF-Expand: `T(1) = HMAC(key, info || 0x01)`, 32 bytes into `output`.
    /// `EVP_MAC_init` without a key restarts HMAC with the key already set (its pads are kept).
    func firstExpandBlock(info: UnsafeRawBufferPointer, into output: UnsafeMutablePointer<UInt8>) throws(DecryptionFailure) {
        var counter: UInt8 = 1
        var length = 0
        let ok = EVP_MAC_init(context, nil, 0, nil) == 1
            && EVP_MAC_update(context, info.baseAddress?.assumingMemoryBound(to: UInt8.self), info.count) == 1
            && EVP_MAC_update(context, &counter, 1) == 1
            && EVP_MAC_final(context, output, &length, HKDFSHA256.hashByteCount) == 1
        guard ok, length == HKDFSHA256.hashByteCount else {
            OPENSSL_cleanse(output, HKDFSHA256.hashByteCount)
            throw .backend(OpenSSLSupport.takeError("HMAC-SHA256 failed"))
        }
    }
}
