import AtRestEncryption

/// The audit of one entry: where it lives, how it is stored, and the verdict.
/// One JSONL line of `atrest audit --output jsonl`.
public struct EntryAudit: Sendable, Hashable {
    /// The etcd key, escaped for display (`EscapedBytes`).
    public var key: String
    public var group: String
    public var resource: String
    /// `nil` for cluster-scoped resources.
    public var namespace: String?
    public var name: String
    /// How the value is stored; plaintext without its encoding (identity reads any).
    public var storedAs: StoredAs
    public var verdict: Verdict
    /// Why it has its verdict, for every verdict but `undecryptable` (whose reason is `failure`).
    public var reason: String
    /// Which provider (index in the resource's provider list) and key read it, when one did.
    public var readBy: ReadPosition?
    /// When nothing read it: the configured key (or KMS provider) of its resource whose
    /// prefix it carries, that is, the key that failed to decrypt it.
    public var claimedBy: ReadPosition? = nil
    /// Why nothing read it, when its verdict is `undecryptable`.
    public var failure: ReadFailure? = nil

    /// The resource as an EncryptionConfiguration names it (`secrets`, `deployments.apps`).
    public var groupResource: GroupResource { GroupResource(group: group, resource: resource) }

    /// Where in a resource's provider list a value was read.
    public struct ReadPosition: Sendable, Hashable {
        public var provider: Int
        public var key: Int
        /// What the provider writes; `nil` for identity.
        public var format: EnvelopeFormat?
        /// The configured key name, for keyed providers; KMS: the provider name.
        public var keyName: String?

        /// Whether it is the `identity` provider (plaintext read as is).
        public var isIdentity: Bool { format == nil }

        /// The provider's field name in the configuration: `identity`, `aescbc`, ..., `kms`.
        public var providerType: String { format?.provider ?? ProviderConfiguration.identity.typeName }
    }
}
