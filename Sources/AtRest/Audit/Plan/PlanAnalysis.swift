import AtRestEncryption
import AtRestIndex

/// One entry of the plan: its verdict under both configurations.
public struct PlanEntry: Sendable, Hashable {
    /// The etcd key, escaped for display.
    public var key: String
    /// As kubectl names it: `secrets`, `deployments.apps`.
    public var resource: String
    public var namespace: String?
    public var name: String
    public var transition: VerdictTransition
    /// Why the proposed configuration gives it its verdict (provider and key names, never key
    /// material), unless it is `undecryptable`: then `failure` says why.
    public var reason: String
    public var failure: ReadFailure? = nil
}

/// Per (from → to) pair: how many entries, per resource, and the first few by key.
public struct TransitionSummary: Sendable, Hashable {
    public var transition: VerdictTransition
    public var entries: Int
    public var byResource: [String: Int]
    /// The first `exampleLimit` entries in key order.
    public var examples: [PlanEntry]
}

/// The answer to "is it safe to apply the proposed configuration to the data as stored?"
///
/// Built in one pass over the entries (`PlanAnalyzer`), holding counts per resource and
/// namespace and only the breaking entries one by one, so that memory does not grow with
/// the export.
public struct PlanAnalysis: Sendable {
    /// Entries under the prefix that got a verdict.
    public var audited = 0
    /// Live keys outside the prefix: counted, not audited.
    public var outsidePrefix = 0
    /// Totals per verdict under the current configuration.
    public var currentVerdicts: [Verdict: Int] = [:]
    /// Totals per verdict under the proposed configuration.
    public var proposedVerdicts: [Verdict: Int] = [:]
    /// Entries whose verdict does not change.
    public var unchanged = 0
    /// Every changed pair, sorted worst first (`VerdictTransition` order).
    public var transitions: [TransitionSummary] = []
    /// The entries the current configuration reads and the proposed one cannot (each
    /// would be an error from the apiserver after the change): the `breakingLimit`
    /// smallest keys, sorted. `breakingCount` counts them all.
    public var breaking: [PlanEntry] = []
    /// Every entry that breaks.
    public var breakingCount = 0
    /// Breaking entries per resource.
    public var breakingByResource: [String: Int] = [:]
    /// How many breaking entries are kept one by one: removing identity before a
    /// rewrite breaks every plaintext entry, millions of them.
    public static let breakingLimit = AuditSummary.findingLimit
    /// Undecryptable under both: already broken, the audit's finding rather than the plan's.
    public var alreadyUndecryptable: [String: Int] = [:]
    /// What a rewrite must touch once the proposed configuration is in place.
    public var rewrite = RewritePlan(entries: 0, groups: [], commands: [])

    /// Safe when nothing readable today becomes unreadable.
    public var isSafe: Bool { breakingCount == 0 }

    public init() {}
}

/// Runs the `EntryAuditor` under the current and the proposed configuration over every
/// entry, once, and builds the `PlanAnalysis`.
///
/// Why both verdicts in the same pass rather than two audits compared afterwards: the
/// answer is per entry (which entries break, which move from current to stale), and
/// holding two full audits of a large export in memory to join them is what this avoids.
public struct PlanAnalyzer {
    public let current: EncryptionConfiguration
    public let proposed: EncryptionConfiguration
    public let resolver: ResourceResolver
    /// Examples kept per transition (`--limit`).
    public var exampleLimit: Int
    /// The KMS plugins asked (`--kms`), shared by both configurations: a provider of the
    /// same name reads through the same plugin before and after the change.
    public var kms: KMSSession?

    public init(current: EncryptionConfiguration, proposed: EncryptionConfiguration,
                resolver: ResourceResolver = ResourceResolver(), exampleLimit: Int = 10) {
        self.current = current
        self.proposed = proposed
        self.resolver = resolver
        self.exampleLimit = exampleLimit
    }

    /// Analyses every live entry of `index` in key order.
    public func run(_ index: Index) throws -> PlanAnalysis {
        var accumulator = Accumulator(self)
        try index.forEachLive { entry in
            accumulator.add(key: entry.key, value: entry.value)
            return true
        }
        return accumulator.finish()
    }

    /// Analyses entries held in memory (tests, small inputs); they are sorted by key first,
    /// as an index would give them, so that examples are the same either way.
    public func run(entries: [(key: [UInt8], value: [UInt8])]) -> PlanAnalysis {
        var accumulator = Accumulator(self)
        for entry in entries.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            entry.key.withUnsafeBytes { key in entry.value.withUnsafeBytes { accumulator.add(key: key, value: $0) } }
        }
        return accumulator.finish()
    }

    /// The state of one pass.
    private struct Accumulator {
        let currentAuditor: EntryAuditor
        let proposedAuditor: EntryAuditor
        let exampleLimit: Int
        var analysis = PlanAnalysis()
        var transitions: [VerdictTransition: TransitionSummary] = [:]
        var rewrite: [AuditSummary.ResourceNamespace: [Verdict: Int]] = [:]
        var namespaces: [String: Set<String>] = [:]

        init(_ analyzer: PlanAnalyzer) {
            currentAuditor = EntryAuditor(configuration: analyzer.current, resolver: analyzer.resolver, kms: analyzer.kms)
            proposedAuditor = EntryAuditor(configuration: analyzer.proposed, resolver: analyzer.resolver, kms: analyzer.kms)
            exampleLimit = max(0, analyzer.exampleLimit)
        }

        mutating func add(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
            guard let before = currentAuditor.audit(key: key, value: value),
                  let after = proposedAuditor.audit(key: key, value: value) else {
                analysis.outsidePrefix += 1
                return
            }
            analysis.audited += 1
            analysis.currentVerdicts[before.verdict, default: 0] += 1
            analysis.proposedVerdicts[after.verdict, default: 0] += 1
            let resource = GroupResource(group: after.group, resource: after.resource).description
            if let namespace = after.namespace { namespaces[resource, default: []].insert(namespace) }
            if Self.needsRewrite(after) {
                rewrite[AuditSummary.ResourceNamespace(resource: resource, namespace: after.namespace), default: [:]][after.verdict, default: 0] += 1
            }
            let transition = VerdictTransition(from: before.verdict, to: after.verdict)
            if before.verdict == after.verdict {
                analysis.unchanged += 1
                if after.verdict == .undecryptable { analysis.alreadyUndecryptable[resource, default: 0] += 1 }
                return
            }
            let entry = PlanEntry(key: after.key, resource: resource, namespace: after.namespace, name: after.name,
                                  transition: transition, reason: after.reason, failure: after.failure)
            var summary = transitions[transition] ?? TransitionSummary(transition: transition, entries: 0, byResource: [:], examples: [])
            summary.entries += 1
            summary.byResource[resource, default: 0] += 1
            if summary.examples.count < exampleLimit { summary.examples.append(entry) }
            transitions[transition] = summary
            if transition.effect == .breaks {
                analysis.breakingCount += 1
                analysis.breakingByResource[resource, default: 0] += 1
                // Entries come in key order: the first ones are the smallest keys.
                if analysis.breaking.count < PlanAnalysis.breakingLimit { analysis.breaking.append(entry) }
            }
        }

        /// Stale and unencrypted entries, and values of a KMS provider that no longer
        /// writes (the apiserver reports them stale too; atrest calls them unverifiable
        /// because it cannot reach the KMS).
        static func needsRewrite(_ audit: EntryAudit) -> Bool {
            switch audit.verdict {
            case .stale, .unencrypted: true
            case .unverifiable: audit.readBy.map { $0.provider != 0 || $0.key != 0 } ?? false
            case .current, .undecryptable, .exempt: false
            }
        }

        mutating func finish() -> PlanAnalysis {
            analysis.transitions = transitions.values.sorted { $0.transition < $1.transition }
            analysis.breaking.sort { $0.key < $1.key }
            analysis.rewrite = RewritePlan(counts: rewrite, namespacesHolding: namespaces)
            return analysis
        }
    }
}
