/// Why a stored value could not be decrypted.
///
/// The cases are the distinctions an audit needs, not the apiserver's error strings:
/// "the value is damaged" (``truncated``), "this key did not write it, or it was
/// tampered with / moved to another etcd key" (``authenticationFailed``,
/// ``invalidPadding``, ``notAKubernetesEncoding``), "the configuration is wrong"
/// (``invalidKeyLength(_:)``) and "the crypto library failed" (``backend(_:)``).
/// ``code`` is stable and meant for reports and JSON.
public enum DecryptionFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The payload is shorter than the format's fixed overhead (IV/nonce/info + tag or one
    /// block), or (CBC) not a whole number of blocks: it cannot be a value the apiserver wrote.
    case truncated
    /// The AEAD tag did not verify: AES-GCM (wrong key, or wrong AAD i.e. the value was copied
    /// from another etcd key) or Poly1305 (secretbox: wrong key or tampered bytes).
    case authenticationFailed
    /// AES-CBC decrypted to bytes whose PKCS#7 padding is invalid, as
    /// `cbc.TransformFromStorage` (`pkg/storage/value/encrypt/aes/aes.go`) checks it.
    /// Almost always a wrong key.
    case invalidPadding
    /// AES-CBC padding was valid but the plaintext is not a Kubernetes serialization
    /// (protobuf `k8s\0`, JSON object, CBOR `d9 d9 f7`, YAML mapping). CBC has no MAC, so a
    /// wrong key passes the padding check about once in 256 tries; the apiserver accepts such
    /// garbage, atrest refuses to call it readable.
    case notAKubernetesEncoding
    /// The key (or KMS v2 DEK/seed) has a length this cipher does not take; the associated
    /// value is the length found.
    case invalidKeyLength(Int)
    /// OpenSSL or libsodium failed for another reason; the library's error text.
    case backend(String)

    /// A stable, machine-readable code: `truncated`, `authentication-failed`,
    /// `invalid-padding`, `not-a-kubernetes-encoding`, `invalid-key-length`, `backend`.
    public var code: String {
        switch self {
        case .truncated: return "truncated"
        case .authenticationFailed: return "authentication-failed"
        case .invalidPadding: return "invalid-padding"
        case .notAKubernetesEncoding: return "not-a-kubernetes-encoding"
        case .invalidKeyLength: return "invalid-key-length"
        case .backend: return "backend"
        }
    }

    public var description: String {
        switch self {
        case .truncated: return "the stored data is shorter than the required size"
        case .authenticationFailed: return "authentication failed (wrong key, tampered data, or a value moved from another etcd key)"
        case .invalidPadding: return "invalid PKCS#7 padding (wrong key or damaged data)"
        case .notAKubernetesEncoding: return "decrypted to bytes that are not a Kubernetes encoding (wrong key)"
        case .invalidKeyLength(let count): return "invalid key length \(count)"
        case .backend(let message): return "crypto library error: \(message)"
        }
    }
}
