/// How one value is stored in etcd, read from its bytes alone (no configuration).
///
/// Prefixes are the apiserver's (`pkg/server/options/encryptionconfig/config.go`,
/// const block): `k8s:enc:aescbc:v1:`, `k8s:enc:aesgcm:v1:`, `k8s:enc:secretbox:v1:`,
/// `k8s:enc:kms:v1:`, `k8s:enc:kms:v2:`; `k8s:enc:` itself is reserved for encrypted
/// data (`pkg/storage/value/encrypt/identity/identity.go`).
public enum StorageClass: Sendable, Hashable {
    case plaintext(PlaintextEncoding)
    case encrypted(Envelope)

    /// The stable name used in totals and JSON: `plaintext`, `encrypted`.
    public var storage: String {
        switch self {
        case .plaintext: return "plaintext"
        case .encrypted: return "encrypted"
        }
    }
}

/// The encoding of an unencrypted value (apimachinery serializers).
public enum PlaintextEncoding: String, Sendable, Hashable, CaseIterable, Codable {
    /// `k8s\x00` + `runtime.Unknown` (`runtime/serializer/protobuf/protobuf.go`).
    case protobuf
    /// A JSON object (CRDs, APIServices, custom resources, `--storage-media-type=application/json`).
    case json
    /// Self-described CBOR, tag `d9 d9 f7` (`runtime/serializer/cbor/cbor.go`).
    case cbor
    /// An empty value.
    case empty
    /// Anything else (YAML, an application's own data outside Kubernetes).
    case other
}

/// A `k8s:enc:` value's envelope: the provider and the key that wrote it.
public enum Envelope: Sendable, Hashable {
    /// aescbc, aesgcm or secretbox: `k8s:enc:<provider>:v1:<keyName>:<payload>`.
    case keyed(provider: KeyedProvider, keyName: String?)
    /// `k8s:enc:kms:v1:<providerName>:` + BE16 length + encrypted DEK + data.
    case kmsV1(providerName: String?)
    /// `k8s:enc:kms:v2:<providerName>:` + protobuf `EncryptedObject`.
    case kmsV2(providerName: String?, object: KMSv2EncryptedObject?)
    /// A `k8s:enc:` prefix no apiserver writes: unreadable by any configuration.
    case unknown(provider: String)

    /// The provider name used in totals: `aescbc`, `aesgcm`, `secretbox`, `kms`, or the unknown one.
    public var provider: String {
        switch self {
        case .keyed(let provider, _): return provider.rawValue
        case .kmsV1, .kmsV2: return "kms"
        case .unknown(let provider): return provider
        }
    }

    /// The key name (for KMS: the provider name), when the envelope carries one.
    public var keyName: String? {
        switch self {
        case .keyed(_, let keyName): return keyName
        case .kmsV1(let name): return name
        case .kmsV2(let name, _): return name
        case .unknown: return nil
        }
    }
}

/// The static-key providers.
public enum KeyedProvider: String, Sendable, Hashable, CaseIterable, Codable {
    case aescbc, aesgcm, secretbox
}
