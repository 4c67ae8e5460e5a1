import AtRestDump
import AtRestEncryption
import AtRestIndex

/// Gives every entry under the etcd prefix its verdict under one configuration.
///
/// Not thread-safe (it caches per-resource provider chains, which hold OpenSSL
/// contexts); use one per thread.
public final class EntryAuditor {
    public let configuration: EncryptionConfiguration
    public let resolver: ResourceResolver
    /// The KMS plugins asked (`--kms`) and the current key IDs known, if any.
    public let kms: KMSSession?
    private var chains: [GroupResource: ProviderChain] = [:]
    /// The last chain asked for: keys arrive in order, so nearly every entry asks
    /// for the same resource as the one before.
    private var lastChain: (groupResource: GroupResource, chain: ProviderChain)?
    /// The built-in resources' chains, by `ResourceResolver.builtinResources` index.
    private var builtinChains: [ProviderChain?]

    public init(configuration: EncryptionConfiguration, resolver: ResourceResolver, kms: KMSSession? = nil) {
        self.configuration = configuration
        self.resolver = resolver
        self.kms = kms
        builtinChains = Array(repeating: nil, count: resolver.builtinResources.count)
    }

    /// The verdict for one entry; `nil` when the key is outside the prefix.
    public func audit(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> EntryAudit? {
        audit(key: key, value: value, namingKey: true)
    }

    /// The verdict for one entry. Without `namingKey` the escaped key is left empty:
    /// a whole-index audit names only the entries it prints or keeps.
    func audit(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, namingKey: Bool) -> EntryAudit? {
        guard let kind = resolver.resolve(key) else { return nil }
        return audit(key: key, value: value, namingKey: namingKey, kind: kind)
    }

    /// An unknown built-in stores under its lower-case resource name without group
    /// (`pkg/server/storage/storage_factory.go`); it is resolved that way.
    private func unrecognizedGroupResource(_ key: UnsafeRawBufferPointer) -> GroupResource {
        let segment = key.dropFirst(resolver.prefix.count + 1).split(separator: UInt8(ascii: "/")).first.map { EscapedBytes.string($0) } ?? ""
        return GroupResource(group: "", resource: segment)
    }

    /// The verdict for one entry whose key resolved to `kind`. `read` is the resource's
    /// chain and what it made of the value, when the caller has read it already (the
    /// counted path reads before it decides to audit); otherwise it is read here.
    func audit(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, namingKey: Bool, kind: KeyKind,
               read: (chain: ProviderChain, outcome: ProviderChain.Outcome)? = nil) -> EntryAudit {
        var audit = EntryAudit(key: namingKey ? EscapedBytes.string(key) : "", group: "", resource: "", namespace: nil, name: "",
                               storedAs: .plaintext(nil),
                               verdict: .undecryptable, reason: "", readBy: nil)
        let groupResource: GroupResource
        switch kind {
        case .exempt(let resolved):
            audit.set(resolved)
            audit.setStorage(classifying: value)
            audit.verdict = .exempt
            audit.reason = "the apiserver stores \(resolved.groupResource) without any transformer"
            return audit
        case .object(let resolved):
            audit.set(resolved)
            groupResource = resolved.groupResource
        case .unrecognized:
            groupResource = unrecognizedGroupResource(key)
            audit.resource = groupResource.resource
            audit.name = EscapedBytes.string(key.dropFirst(resolver.prefix.count + 1 + groupResource.resource.utf8.count).drop { $0 == UInt8(ascii: "/") })
        }
        let chain = read?.chain ?? self.chain(for: groupResource)
        let outcome = read?.outcome ?? chain.read(value, etcdKey: key)
        switch outcome {
        case .read(let index, _):
            // Every value an entry reads is stored alike: no need to classify the bytes.
            let entry = chain.entries[index]
            audit.storedAs = entry.storedAs
            audit.readBy = entry.position
            (audit.verdict, audit.reason) = readVerdict(chain, index, of: groupResource)
        case .kms(let index):
            let entry = chain.entries[index]
            audit.setStorage(classifying: value)
            audit.readBy = entry.position
            audit.verdict = .unverifiable
            audit.reason = "stored by KMS provider \"\(entry.keyName ?? "")\" listed at position \(entry.provider + 1); its plugin is not asked (--kms asks it)"
            // `--kms-key-id` says which key ID writes now, so staleness by key ID is known offline.
            if let stored = audit.storedAs.keyID, let name = entry.keyName, let current = kms?.providers[name]?.currentKeyID, stored != current {
                audit.reason += "; stored under key ID \"\(stored)\", not the current \"\(current)\": stale once readable"
            }
        case .kmsRead(let index, let staleness, _, let keyID):
            let entry = chain.entries[index]
            // A value its provider read is stored as that provider writes: no need to classify its bytes.
            audit.storedAs = entry.storedAs(keyID: keyID)
            audit.readBy = entry.position
            // Made once per key ID and staleness: every value alike gets the same string.
            (audit.verdict, audit.reason) = chain.kmsReadVerdict(index, keyID: keyID, staleness: staleness) {
                let through = "read by \(entry.label) through its plugin" + (keyID.map { " (key ID \"\($0)\")" } ?? "")
                let why = staleness.map { $0.reason(writesSeed: kms?.writesSeed ?? true) }
                if index != 0 {
                    return (.stale, "\(through), not by the first provider and key (\(chain.entries[0].label))" + (why.map { "; \($0)" } ?? ""))
                }
                if let why { return (.stale, "\(through); \(why)") }
                return (.current, through)
            }
        case .failed(let failure):
            audit.setStorage(classifying: value)
            audit.verdict = .undecryptable
            audit.failure = failure
            // Key names may contain `:`, so the name read from the bytes alone (up to
            // the next `:`) can be short; the longest configured name whose prefix
            // matches is the one the value claims.
            if let claimed = chain.entries.filter({ !$0.isIdentity && !$0.prefix.isEmpty && ProviderChain.starts(value, with: $0.prefix) })
                .max(by: { $0.prefix.count < $1.prefix.count }) {
                if case .encrypted(let format, _, let keyID) = audit.storedAs {
                    audit.storedAs = .encrypted(format, keyName: claimed.keyName, keyID: keyID)
                }
                audit.claimedBy = claimed.position
            }
        }
        return audit
    }

    /// The verdict and reason of a value of `groupResource` that `chain.entries[index]` read.
    func readVerdict(_ chain: ProviderChain, _ index: Int, of groupResource: @autoclosure () -> GroupResource) -> (verdict: Verdict, reason: String) {
        chain.readVerdict(index) {
            let entry = chain.entries[index]
            let groupResource = groupResource()
            if entry.provider == 0 && entry.key == 0 {
                return (.current, entry.isIdentity
                    ? "plaintext, and the first provider for \(groupResource) is identity"
                    : "read by the first provider and key (\(entry.label))")
            } else if entry.isIdentity && chain.firstProviderEncrypts {
                return (.unencrypted, "plaintext, readable only through identity at position \(entry.provider + 1); the first provider for \(groupResource) encrypts")
            } else {
                return (.stale, "read by \(entry.label), not by the first provider and key (\(chain.entries[0].label))")
            }
        }
    }

    /// The chain of `resolver.builtinResources[resource]`, by index: no hashing per entry.
    func chain(forBuiltin resource: Int) -> ProviderChain {
        if let known = builtinChains[resource] { return known }
        let made = chain(for: resolver.builtinResources[resource])
        builtinChains[resource] = made
        return made
    }

    /// The verdict every value of `resolver.builtinResources[resource]` in `namespace`
    /// that `chain.entries[index]` read gets, without a key or name: what a fold counts
    /// such entries under when it did not audit them one by one.
    func readAudit(resource: Int, namespace: String?, chain: ProviderChain, index: Int) -> EntryAudit {
        let groupResource = resolver.builtinResources[resource]
        let entry = chain.entries[index]
        let (verdict, reason) = readVerdict(chain, index, of: groupResource)
        return EntryAudit(key: "", group: groupResource.group, resource: groupResource.resource, namespace: namespace, name: "",
                          storedAs: entry.storedAs,
                          verdict: verdict, reason: reason, readBy: entry.position)
    }

    /// Whether any provider the configuration lists for `groupResource` encrypts.
    public func encrypts(_ groupResource: GroupResource) -> Bool {
        chain(for: groupResource).anyProviderEncrypts
    }

    func chain(for groupResource: GroupResource) -> ProviderChain {
        if let last = lastChain, last.groupResource == groupResource { return last.chain }
        let chain = chains[groupResource] ?? {
            let made = ProviderChain(providers: configuration.providers(forGroup: groupResource.group, resource: groupResource.resource), kms: kms)
            chains[groupResource] = made
            return made
        }()
        lastChain = (groupResource, chain)
        return chain
    }
}

extension EntryAudit {
    /// How the value is stored, from its bytes (`StorageClassifier`).
    mutating func setStorage(classifying value: UnsafeRawBufferPointer) {
        storedAs = StoredAs(StorageClassifier.classify(value)).ignoringEncoding
    }

    mutating func set(_ key: ResourceKey) {
        group = key.groupResource.group
        resource = key.groupResource.resource
        namespace = key.namespace
        name = key.name
    }
}

extension KMSSession.Staleness {
    /// Why a rewrite would change a readable KMS value, as a verdict's reason says it.
    func reason(writesSeed: Bool) -> String {
        switch self {
        case .keyID(let stored, let current):
            return "not the current key ID: the plugin writes with \"\(current)\", a rewrite would use it instead of \"\(stored)\""
        case .sourceType(let stored):
            let written = writesSeed ? "a seed (HKDF_SHA256_XNONCE_AES_GCM_SEED)" : "a DEK (AES_GCM_KEY)"
            return "its DEK source is \(stored.name); the apiserver writes \(written)"
        case .cbc:
            return "its data is AES-CBC (written before Kubernetes 1.25); the apiserver writes AES-GCM"
        }
    }
}
