/// Decrypts values written by the `aescbc` provider (and KMS v1 data written before 1.25).
///
/// Stored payload, after `k8s:enc:aescbc:v1:<keyName>:` (`cbc.TransformToStorage` in
/// `pkg/storage/value/encrypt/aes/aes.go`): `IV(16) || AES-CBC(plaintext || PKCS#7 padding)`.
/// No additional data: CBC ignores the etcd key.
///
/// CBC has no MAC. The apiserver's only check is the padding, which a wrong key passes about
/// once in 256 values (last byte `01`), and it then returns random bytes as the object. atrest
/// must not call such a value readable, so by default the plaintext must also look like a
/// Kubernetes serialization (``looksLikeKubernetesEncoding(_:)``), else
/// ``DecryptionFailure/notAKubernetesEncoding``. This is a deliberate difference from the
/// apiserver; `verifyingEncoding: false` gives the apiserver's behaviour.
///
/// Why a class: it owns an OpenSSL `EVP_CIPHER_CTX` with the key schedule set once; each value
/// only sets its IV. **Not thread-safe**: use one decryptor per thread.
public final class AESCBCDecryptor {
    public static let blockByteCount = PayloadLayout.AESCBC.blockByteCount
    /// IV plus one block: the least an apiserver writes (padding is always at least one byte).
    public static let minimumPayloadByteCount = 2 * blockByteCount

    private let backend: AESCBCBackend

    /// - Throws: ``DecryptionFailure/invalidKeyLength(_:)`` unless the key is 16, 24 or 32 bytes.
    public init(key: SecretBytes) throws(DecryptionFailure) {
        guard [16, 24, 32].contains(key.count) else { throw .invalidKeyLength(key.count) }
        backend = try AESCBCBackend(key: key)
    }

    /// Decrypts `payload` (`IV || ciphertext`) and removes its padding.
    ///
    /// Checks, in upstream's order (`cbc.TransformFromStorage`): length, block alignment,
    /// padding byte `c` with `c != 0 && c <= len(plaintext)`, then every one of the last `c`
    /// bytes equal to `c`. Note upstream accepts `c` up to the whole plaintext length, not only
    /// up to 16; so does this. Upstream's distinct "not a multiple of the block size" error and
    /// its out-of-range index on an IV-only payload are both ``DecryptionFailure/truncated``.
    /// The padding check is not constant-time: atrest decrypts offline, there is no oracle.
    /// - Parameter verifyingEncoding: also require a Kubernetes encoding (see the type's note).
    public func decrypt(_ payload: UnsafeRawBufferPointer, verifyingEncoding: Bool = true) throws(DecryptionFailure) -> SecretBytes {
        let (iv, ciphertext) = try Self.parts(of: payload)
        return SecretBytes(try backend.decrypt(iv: iv, ciphertext: ciphertext) { plaintext throws(DecryptionFailure) -> Int in
            try Self.unpaddedCount(plaintext, verifyingEncoding: verifyingEncoding)
        })
    }

    /// Whether `decrypt` would succeed, without keeping the plaintext: it is decrypted
    /// into `scratch`, checked as `decrypt` checks it, and wiped (an audit needs the
    /// verdict, not the bytes).
    public func authenticate(_ payload: UnsafeRawBufferPointer, scratch: ScratchBuffer) throws(DecryptionFailure) {
        let (iv, ciphertext) = try Self.parts(of: payload)
        try backend.authenticate(iv: iv, ciphertext: ciphertext, scratch: scratch) { plaintext throws(DecryptionFailure) in
            _ = try Self.unpaddedCount(plaintext, verifyingEncoding: true)
        }
    }

    /// `IV || ciphertext`, as views into `payload`.
    private static func parts(of payload: UnsafeRawBufferPointer) throws(DecryptionFailure)
        -> (iv: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer) {
        let block = blockByteCount
        guard payload.count >= minimumPayloadByteCount, payload.count % block == 0,
              let base = payload.baseAddress else { throw .truncated }
        return (UnsafeRawBufferPointer(start: base, count: block), UnsafeRawBufferPointer(start: base + block, count: payload.count - block))
    }

    /// The plaintext's length without its PKCS#7 padding, checked exactly as upstream.
    private static func unpaddedCount(_ plaintext: UnsafeMutableRawBufferPointer, verifyingEncoding: Bool) throws(DecryptionFailure) -> Int {
        guard let last = plaintext.last else { throw .invalidPadding }
        let padding = Int(last)
        guard padding != 0, padding <= plaintext.count else { throw .invalidPadding }
        let size = plaintext.count - padding
        for index in size..<plaintext.count where plaintext[index] != last { throw .invalidPadding }
        if verifyingEncoding, !looksLikeKubernetesEncoding(UnsafeRawBufferPointer(rebasing: plaintext[..<size])) {
            throw .notAKubernetesEncoding
        }
        return size
    }

    /// Convenience over an array (tests, one-off use).
    public func decrypt(_ payload: [UInt8], verifyingEncoding: Bool = true) throws(DecryptionFailure) -> SecretBytes {
        let result: Result<SecretBytes, DecryptionFailure> = payload.withUnsafeBytes { p in
            Result { () throws(DecryptionFailure) in try decrypt(p, verifyingEncoding: verifyingEncoding) }
        }
        return try result.get()
    }

    /// Whether `plaintext` starts like a value the apiserver serializes (see §5 of the spec and
    /// apimachinery `pkg/runtime/serializer`): protobuf `k8s\0` (`protobuf.go`), a JSON object as
    /// `json.Encoder` writes it (`{"` … `}` + optional white space), self-described CBOR
    /// `d9 d9 f7` (`cbor.go`), or YAML (`--storage-media-type=application/yaml`: a block mapping
    /// whose first line is `key:` followed by a space or end of line).
    ///
    /// Random bytes pass this with probability around 2^-16 (the `{"` + `}` test is the weakest),
    /// so with the padding check a wrong CBC key is misread about once in 2^24 values.
    /// An empty value is not an encoding: the apiserver never stores an empty object.
    public static func looksLikeKubernetesEncoding(_ plaintext: UnsafeRawBufferPointer) -> Bool {
        if plaintext.starts(with: [0x6b, 0x38, 0x73, 0x00]) { return true }  // k8s\0
        if plaintext.starts(with: [0xd9, 0xd9, 0xf7]) { return true }  // CBOR tag 55799
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0a || byte == 0x0d || byte == 0x09 }
        if plaintext.first == UInt8(ascii: "{") {
            guard let second = plaintext.dropFirst().first(where: { !isSpace($0) }),
                  let last = plaintext.last(where: { !isSpace($0) }) else { return false }
            return (second == UInt8(ascii: "\"") || second == UInt8(ascii: "}")) && last == UInt8(ascii: "}")
        }
        return looksLikeYAMLMapping(plaintext)
    }

    /// `apiVersion: v1` / `kind:` / any `key:` first line: an identifier-like key (letters,
    /// digits, `_`, `-`, `.`, `/`), then `:` and a space or line end.
    private static func looksLikeYAMLMapping(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = bytes.startIndex
        if bytes.starts(with: Array("---\n".utf8)) { index += 4 }
        guard index < bytes.endIndex, isASCIILetter(bytes[index]) || bytes[index] == UInt8(ascii: "_") else { return false }
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: ":") {
                let next = index + 1
                return next == bytes.endIndex || bytes[next] == 0x20 || bytes[next] == 0x0a || bytes[next] == 0x0d
            }
            guard isASCIILetter(byte) || (0x30...0x39).contains(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "/") else { return false }
            index += 1
        }
        return false
    }

    private static func isASCIILetter(_ byte: UInt8) -> Bool {
        (0x41...0x5a).contains(byte) || (0x61...0x7a).contains(byte)
    }
}

/// The implementation behind ``AESCBCDecryptor``.
typealias AESCBCBackend = OpenSSLAESCBCBackend
