/// A rule's providers in the order the apiserver's read loop tries them
/// (`pkg/server/options/encryptionconfig/config.go`): every provider in order, keyed
/// providers expanded to one element per key (the first writes), a KMS provider as one
/// element named by the provider, and identity with no prefix. The audit's read chain, the
/// host comparison and key usage all take their order from here.
public struct ReadOrder: Sendable {
    /// One provider key, as the read loop tries it.
    public struct Element: Sendable {
        /// The provider's place in the rule's list.
        public var provider: Int
        /// The key's place in its provider's list (0 for identity and KMS).
        public var key: Int
        /// What the provider writes; `nil` for identity.
        public var format: EnvelopeFormat?
        /// The key's name; KMS: the provider's name; `nil` for identity.
        public var name: String?
        /// The key of an aescbc, aesgcm or secretbox provider.
        public var secret: SecretBytes?
        /// The KMS provider's configuration.
        public var kms: KMSConfiguration?

        public var isIdentity: Bool { format == nil }

        /// `k8s:enc:<provider>:<version>:<name>:`; empty for identity, which reads any value without it.
        public var prefix: [UInt8] { format.map { EnvelopePrefix.bytes($0, name: name ?? "") } ?? [] }
    }

    public let elements: [Element]

    public init(_ providers: [ProviderConfiguration]) {
        var elements: [Element] = []
        for (index, provider) in providers.enumerated() {
            let format = EnvelopeFormat(provider)
            switch provider {
            case .identity:
                elements.append(Element(provider: index, key: 0))
            case .aescbc(let keys), .aesgcm(let keys), .secretbox(let keys):
                for (keyIndex, key) in keys.enumerated() {
                    elements.append(Element(provider: index, key: keyIndex, format: format, name: key.name, secret: key.secret))
                }
            case .kms(let kms):
                elements.append(Element(provider: index, key: 0, format: format, name: kms.name, kms: kms))
            }
        }
        self.elements = elements
    }

    /// The first provider's first key: what the rule writes; `nil` for an empty list.
    public var writer: Element? { elements.first }
}
