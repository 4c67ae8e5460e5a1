/// The apiserver's `--encryption-provider-config`, as atrest reads it: which providers
/// protect which resources, in order.
///
/// Why a model of its own rather than raw YAML: the audit compares what etcd holds with what
/// this file says the apiserver writes (the first provider) and can read (all of them), so it
/// needs the lookup the apiserver does (`providers(forGroup:resource:)`) and the keys, held as
/// `SecretBytes`. Only a configuration that passed validation is ever built (see
/// `EncryptionConfigurationLoader`), so every value here is one the apiserver would accept.
///
/// Upstream: `k8s.io/apiserver/pkg/apis/apiserver/v1/types_encryption.go`.
public struct EncryptionConfiguration: Sendable {
    /// The `resources:` list, in file order: earlier rules take precedence.
    public var rules: [ResourceRule]
    /// The file it was read from (for messages); `nil` when built in memory.
    public var sourcePath: String?

    /// For tests and callers that build a configuration in memory; files go through `EncryptionConfigurationLoader`.
    public init(rules: [ResourceRule], sourcePath: String? = nil) {
        self.rules = rules
        self.sourcePath = sourcePath
    }

    /// The providers the apiserver uses for `group`/`resource` (`""` for the core group), first = the one that writes.
    ///
    /// Mirrors `transformerFromOverrides` in `k8s.io/apiserver/pkg/server/options/encryptionconfig/config.go`:
    /// the exact group/resource first, then `*.<group>`, then `*.*`. Provider lists of an exact resource
    /// named by several rules are concatenated in rule order (`getTransformerOverridesAndKMSPluginProbes`
    /// appends). With no match the apiserver uses a bare identity transformer, returned here as `[.identity]`
    /// (that transformer also refuses to read `k8s:enc:` data, which `.identity` in a list would skip silently).
    /// Resource strings are parsed like `schema.ParseGroupResource`, so `secrets.` and `secrets` are one resource.
    public func providers(forGroup group: String, resource: String) -> [ProviderConfiguration] {
        ResourceMatcher.lookup(rules.map { ($0.resources, $0.providers) }, group: group, resource: resource) ?? [.identity]
    }
}

/// One entry of `resources:`: a list of resource strings and the providers that apply to them.
public struct ResourceRule: Sendable {
    /// Resource strings as written: `secrets`, `deployments.apps`, `*.`, `*.apps`, `*.*`.
    public var resources: [String]
    /// Providers in order: the first encrypts writes, every one is tried on reads.
    public var providers: [ProviderConfiguration]

    /// Builds a rule in memory; no validation (the loader validates files).
    public init(resources: [String], providers: [ProviderConfiguration]) {
        self.resources = resources
        self.providers = providers
    }
}

/// One element of a `providers:` list; the apiserver requires exactly one provider per element.
public enum ProviderConfiguration: Sendable {
    /// No encryption: writes plaintext, reads anything without a `k8s:enc:` prefix.
    case identity
    /// AES-CBC with PKCS#7 padding (`k8s:enc:aescbc:v1:<name>:`); not recommended upstream.
    case aescbc([NamedKey])
    /// AES-GCM with a random nonce (`k8s:enc:aesgcm:v1:<name>:`); keys must be rotated often.
    case aesgcm([NamedKey])
    /// XSalsa20-Poly1305 (`k8s:enc:secretbox:v1:<name>:`).
    case secretbox([NamedKey])
    /// Envelope encryption through a KMS plugin; the keys never appear in the file.
    case kms(KMSConfiguration)

    /// The provider's field name in the configuration (`identity`, `aescbc`, `aesgcm`, `secretbox`, `kms`),
    /// which is also the provider segment of stored values' `k8s:enc:` prefix.
    public var typeName: String {
        switch self {
        case .identity: "identity"
        case .aescbc: "aescbc"
        case .aesgcm: "aesgcm"
        case .secretbox: "secretbox"
        case .kms: "kms"
        }
    }

    /// Whether writes through this provider are encrypted (everything except identity).
    public var encrypts: Bool {
        if case .identity = self { return false }
        return true
    }

    /// The keys of an aescbc/aesgcm/secretbox provider, in order (the first encrypts); empty otherwise.
    public var keys: [NamedKey] {
        switch self {
        case .aescbc(let keys), .aesgcm(let keys), .secretbox(let keys): keys
        case .identity, .kms: []
        }
    }
}

/// A named key of a local provider. The name is written into every value the key encrypts
/// (`k8s:enc:aesgcm:v1:<name>:`), which is how reads pick a key; the secret is held in
/// `SecretBytes` so it is never printed and is wiped when released.
public struct NamedKey: Sendable {
    /// The key's name; any non-empty string, `:` included (the apiserver does not restrict it).
    public var name: String
    /// The decoded key: 16, 24 or 32 bytes for AES, 32 for secretbox.
    public var secret: SecretBytes

    /// Takes ownership of already-decoded key bytes.
    public init(name: String, secret: SecretBytes) {
        self.name = name
        self.secret = secret
    }
}

/// A `kms:` provider, with the apiserver's defaults applied (`SetDefaults_KMSConfiguration` in
/// `k8s.io/apiserver/pkg/apis/apiserver/v1/defaults.go`), so that the audit sees what the apiserver runs.
public struct KMSConfiguration: Sendable, Hashable {
    /// The KMS plugin API: v1 stores `k8s:enc:kms:v1:<name>:`, v2 `k8s:enc:kms:v2:<name>:`.
    public enum APIVersion: String, Sendable, Hashable, CaseIterable {
        case v1, v2
    }

    /// Defaults to `.v1` when the field is absent, as the apiserver does (even though v1 is deprecated).
    public var apiVersion: APIVersion
    /// The provider's name, part of the stored prefix; unique for v2.
    public var name: String
    /// The plugin's gRPC endpoint (`unix://` only).
    public var endpoint: String
    /// `cachesize`: v1 only (default 1000; negative disables the DEK cache); always `nil` for v2.
    public var cacheSize: Int32?
    /// `timeout` for calls to the plugin (default 3s).
    public var timeout: Duration

    /// Applies the apiserver's defaults: `cacheSize` 1000 for v1 when not given, none for v2; timeout 3s.
    public init(apiVersion: APIVersion = .v1, name: String, endpoint: String, cacheSize: Int32? = nil, timeout: Duration = .seconds(3)) {
        self.apiVersion = apiVersion
        self.name = name
        self.endpoint = endpoint
        self.cacheSize = cacheSize ?? (apiVersion == .v1 ? KMSConfiguration.defaultCacheSize : nil)
        self.timeout = timeout
    }

    /// The v1 default (`defaultCacheSize` in `pkg/apis/apiserver/v1/defaults.go`).
    public static let defaultCacheSize: Int32 = 1000
    /// The default timeout (`defaultTimeout`, same file).
    public static let defaultTimeout: Duration = .seconds(3)
}

/// Resource strings and the apiserver's lookup over them, shared by the model and the validator
/// (which needs the same lookup on configurations that are not valid enough to build a model).
enum ResourceMatcher {
    /// `schema.ParseGroupResource`: see `GroupResource.init(parsing:)`.
    static func parse(_ string: String) -> GroupResource { GroupResource(parsing: string) }

    /// `grYAMLString` in config.go: how the apiserver names a group/resource in its messages.
    static func yamlString(group: String, resource: String) -> String {
        if group.isEmpty && resource == "*" { return "*." }
        return group.isEmpty ? resource : "\(resource).\(group)"
    }

    /// The apiserver's lookup; `nil` when no rule names the resource (the apiserver then uses bare identity).
    /// `wildcards: false` is the exact lookup of releases before 1.27.
    static func lookup<P>(_ rules: [([String], [P])], group: String, resource: String, wildcards: Bool = true) -> [P]? {
        var exact: [P]? = nil, inGroup: [P]? = nil, any: [P]? = nil
        for (resources, providers) in rules {
            for string in resources {
                let parsed = parse(string)
                if parsed.group == group && parsed.resource == resource {
                    exact = (exact ?? []) + providers
                } else if !wildcards {
                    continue
                } else if parsed.group == group && parsed.resource == "*" {
                    inGroup = (inGroup ?? []) + providers
                } else if parsed.group == "*" && parsed.resource == "*" {
                    any = (any ?? []) + providers
                }
            }
        }
        return exact ?? inGroup ?? any
    }
}
