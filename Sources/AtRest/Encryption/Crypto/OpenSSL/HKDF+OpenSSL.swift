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
