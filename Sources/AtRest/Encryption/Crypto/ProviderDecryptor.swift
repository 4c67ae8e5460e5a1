/// One configured static key of any of the three static-key providers, so an audit can hold
/// `[keyName: ProviderDecryptor]` per provider entry.
///
/// Not thread-safe when it wraps a CBC or GCM decryptor (they own an OpenSSL context): build
/// one set per worker thread.
public enum ProviderDecryptor {
    case aescbc(AESCBCDecryptor)
    case aesgcm(AESGCMDecryptor)
    case secretbox(SecretBoxDecryptor)

    /// - Throws: ``DecryptionFailure/invalidKeyLength(_:)`` for a key the provider does not take.
    public init(provider: KeyedProvider, key: SecretBytes) throws(DecryptionFailure) {
        switch provider {
        case .aescbc: self = .aescbc(try AESCBCDecryptor(key: key))
        case .aesgcm: self = .aesgcm(try AESGCMDecryptor(key: key))
        case .secretbox: self = .secretbox(try SecretBoxDecryptor(key: key))
        }
    }

    public var provider: KeyedProvider {
        switch self {
        case .aescbc: return .aescbc
        case .aesgcm: return .aesgcm
        case .secretbox: return .secretbox
        }
    }

    /// Decrypts the payload that follows `k8s:enc:<provider>:v1:<keyName>:`. `etcdKey` is the
    /// full etcd key; only aesgcm uses it (as AAD), the others ignore it as upstream does.
    public func decrypt(_ payload: UnsafeRawBufferPointer, etcdKey: UnsafeRawBufferPointer) throws(DecryptionFailure) -> SecretBytes {
        switch self {
        case .aescbc(let decryptor): return try decryptor.decrypt(payload)
        case .aesgcm(let decryptor): return try decryptor.decrypt(payload, additionalData: etcdKey)
        case .secretbox(let decryptor): return try decryptor.decrypt(payload)
        }
    }

    /// Checks that the payload opens without keeping its plaintext: aesgcm and aescbc
    /// (whose check reads the padding and encoding of the plaintext) decrypt into
    /// `scratch`, wiped after each value; secretbox checks its Poly1305 tag, which is all
    /// that decides whether it opens, and decrypts nothing.
    public func authenticate(_ payload: UnsafeRawBufferPointer, etcdKey: UnsafeRawBufferPointer,
                             scratch: ScratchBuffer) throws(DecryptionFailure) {
        switch self {
        case .aescbc(let decryptor): try decryptor.authenticate(payload, scratch: scratch)
        case .aesgcm(let decryptor): try decryptor.authenticate(payload, additionalData: etcdKey, scratch: scratch)
        case .secretbox(let decryptor): try decryptor.authenticate(payload)
        }
    }
}
