import AtRestDump
import AtRestEncryption
import AtRestIndex

/// Runs the audit over an index: one verdict per entry under the prefix, the
/// summary, and the readiness answers.
public struct Auditor {
    public let configuration: EncryptionConfiguration
    public let resolver: ResourceResolver
    /// Verdicts whose entries are kept one by one in the summary (undecryptable always is).
    public var keptVerdicts: Set<Verdict>

    public init(configuration: EncryptionConfiguration, resolver: ResourceResolver,
                keeping keptVerdicts: Set<Verdict> = [.undecryptable, .unencrypted]) {
        self.configuration = configuration
        self.resolver = resolver
        self.keptVerdicts = keptVerdicts
    }

    /// Audits every live entry in key order. `each`, when given, sees every verdict
    /// as it is made (for JSONL output), so nothing per entry is held in memory.
    public func run(_ index: Index, each: ((EntryAudit) throws -> Void)? = nil) throws -> AuditResult {
        let auditor = EntryAuditor(configuration: configuration, resolver: resolver)
        var summary = AuditSummary(keeping: keptVerdicts)
        var outside = 0
        try index.forEachLive { entry in
            // The escaped key is built only for entries that are printed or kept.
            guard var audit = auditor.audit(key: entry.key, value: entry.value, namingKey: each != nil) else {
                outside += 1
                return true
            }
            // Identity is a fallback that can be removed only where the resource's providers
            // also encrypt (an identity-only rule is an exemption).
            let identityIsAFallback = auditor.encrypts(audit.groupResource)
            if each == nil && summary.keepsKey(of: audit, identityIsAFallback: identityIsAFallback) {
                audit.key = EscapedBytes.string(entry.key)
            }
            summary.add(audit, identityIsAFallback: identityIsAFallback)
            try each?(audit)
            return true
        }
        summary.flush()
        for verdict in summary.findings.keys { summary.findings[verdict]?.sort { $0.key < $1.key } }
        return AuditResult(summary: summary, outsidePrefix: outside, readiness: Readiness(summary: summary, configuration: configuration))
    }
}

/// The audit's result: the summary and what it means for the next step.
public struct AuditResult: Sendable {
    public var summary: AuditSummary
    /// Live keys outside the etcd prefix: counted, not audited.
    public var outsidePrefix: Int
    public var readiness: Readiness
}

/// The two questions an operator asks before editing the configuration.
public struct Readiness: Sendable, Hashable {
    /// Entries that become unreadable if `identity` is removed from every rule.
    public var identityRemoval: Int
    public var identityRemovalByResource: [String: Int]
    public var identityRemovalExamples: [String]
    /// One answer per key that is not its rule's writing key.
    public var keys: [KeyRemoval]

    /// Whether a configured key can be removed now.
    public struct KeyRemoval: Sendable, Hashable {
        public var provider: String
        public var keyName: String
        /// Entries that still need it (read by it today).
        public var entries: Int
        /// Undecryptable entries of resources whose rule lists it, stored under its name:
        /// it cannot read them anyway, so removing it changes nothing for them.
        public var unreadable: Int
        public var canRemove: Bool { entries == 0 }
    }

    init(summary: AuditSummary, configuration: EncryptionConfiguration) {
        identityRemoval = summary.readByIdentity.values.reduce(0, +)
        identityRemovalByResource = summary.readByIdentity
        identityRemovalExamples = summary.readByIdentityExamples.sorted()
        // Every key that does not write: keys after the first, and every key (or KMS
        // provider) of a provider that is not first in its rule.
        var candidates = Set<AuditSummary.ConfiguredKey>()
        var writers = Set<AuditSummary.ConfiguredKey>()
        for rule in configuration.rules {
            for (providerIndex, provider) in rule.providers.enumerated() {
                // A KMS provider is one "key", named by the provider name.
                var names = provider.keys.map(\.name)
                if case .kms(let kms) = provider { names = [kms.name] }
                for (keyIndex, name) in names.enumerated() {
                    let configured = AuditSummary.ConfiguredKey(provider: provider.typeName, keyName: name)
                    if providerIndex == 0 && keyIndex == 0 { writers.insert(configured) } else { candidates.insert(configured) }
                }
            }
        }
        keys = candidates.subtracting(writers).sorted().map { key in
            KeyRemoval(provider: key.provider, keyName: key.keyName, entries: summary.readByKey[key] ?? 0,
                       unreadable: summary.claimedByKey[key] ?? 0)
        }
    }
}
