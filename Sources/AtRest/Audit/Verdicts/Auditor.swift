import AtRestDump
import AtRestEncryption
import AtRestIndex
import Foundation

/// Runs the audit over an index: one verdict per entry under the prefix, the
/// summary, and the readiness answers.
public struct Auditor: Sendable {
    public let configuration: EncryptionConfiguration
    public let resolver: ResourceResolver
    /// Verdicts whose entries are kept one by one in the summary (undecryptable always is).
    public var keptVerdicts: Set<Verdict>
    /// The KMS plugins asked (`--kms`) and the current key IDs known, shared by every thread.
    public var kms: KMSSession?

    public init(configuration: EncryptionConfiguration, resolver: ResourceResolver,
                keeping keptVerdicts: Set<Verdict> = [.undecryptable, .unencrypted], kms: KMSSession? = nil) {
        self.configuration = configuration
        self.resolver = resolver
        self.keptVerdicts = keptVerdicts
        self.kms = kms
    }

    /// Audits every live entry in key order. `each`, when given, sees every verdict
    /// as it is made (for JSONL output), so nothing per entry is held in memory.
    ///
    /// With `jobs` above 1 and no `each`, the index is cut into that many key ranges
    /// audited on threads of their own (each with its own decryption contexts),
    /// and their summaries are merged in key order: the result is the same as one
    /// scan's. Verdicts streamed through `each` come from one scan, in key order.
    ///
    /// An index built from a snapshot is scanned once whatever `jobs` says: its live
    /// records point into the history, so every entry is a lookup at a random place
    /// in the file, and two such scans kept far more of the file resident than one
    /// (308 MiB against 111 MiB at 1,000,000 entries, docs/performance.md).
    public func run(_ index: Index, jobs: Int = 1, each: ((EntryAudit) throws -> Void)? = nil) throws -> AuditResult {
        let parallel = each == nil && index.provenance.counts.revisions == 0
        let boundaries = parallel ? try index.splitKeys(into: jobs) : []
        var fold: AuditFold
        if boundaries.isEmpty {
            fold = try audit(index, from: nil, until: nil, each: each)
        } else {
            let ranges = zip([nil] + boundaries, boundaries.map(Optional.some) + [nil]).map { (from: $0, until: $1) }
            let results = ParallelResults<AuditFold>(count: ranges.count)
            DispatchQueue.concurrentPerform(iterations: ranges.count) { part in
                results.set(part, Result { try audit(index, from: ranges[part].from, until: ranges[part].until, each: nil) })
            }
            fold = try results.value(0)
            for part in 1..<ranges.count { fold.merge(try results.value(part)) }
        }
        return result(of: fold)
    }

    /// The result of a finished fold over every entry.
    func result(of fold: AuditFold) -> AuditResult {
        let (summary, outside) = fold.finished()
        return AuditResult(summary: summary, outsidePrefix: outside, readiness: Readiness(summary: summary, configuration: configuration, kms: kms))
    }

    /// A fold with an auditor of its own (decryption contexts are per thread).
    func makeFold(namingEveryKey: Bool = false) -> AuditFold {
        AuditFold(auditor: EntryAuditor(configuration: configuration, resolver: resolver, kms: kms), keeping: keptVerdicts, namingEveryKey: namingEveryKey)
    }

    /// One scan over the live entries in `from..<until`.
    private func audit(_ index: Index, from: [UInt8]?, until: [UInt8]?,
                       each: ((EntryAudit) throws -> Void)?) throws -> AuditFold {
        var fold = makeFold(namingEveryKey: each != nil)
        try index.forEachLive(from: from, until: until) { entry in
            if let audit = fold.add(key: entry.key, value: entry.value) { try each?(audit) }
            return true
        }
        return fold
    }
}

/// One result slot per parallel part, each written by its own thread once.
final class ParallelResults<T>: @unchecked Sendable {
    private var slots: [Result<T, any Error>?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ result: Result<T, any Error>) {
        lock.lock()
        defer { lock.unlock() }
        slots[index] = result
    }

    func value(_ index: Int) throws -> T {
        lock.lock()
        let slot = slots[index]
        lock.unlock()
        guard let slot else { preconditionFailure("parallel part \(index) did not finish") }
        return try slot.get()
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
    /// One answer per KMS v2 key ID that values are stored under.
    public var kmsKeyIDs: [KMSKeyIDRetirement] = []

    /// Whether the KEK behind a KMS v2 key ID can be retired in the plugin.
    public struct KMSKeyIDRetirement: Sendable, Hashable {
        /// The KMS provider's name.
        public var provider: String
        public var keyID: String
        /// Whether the plugin writes with it now (`Status`, or `--kms-key-id`); `nil` when unknown.
        public var isCurrent: Bool?
        /// Values stored under it that are not already undecryptable: the plugin needs the
        /// key ID to unwrap them, so retiring it makes each one unreadable.
        public var entries: Int
        /// Values stored under it that no provider reads today.
        public var undecryptable: Int
        /// Whether the values were read through the plugin, not only counted.
        public var verified: Bool
        public var canRetire: Bool { entries == 0 && isCurrent != true }
    }

    /// Whether a configured key can be removed now.
    public struct KeyRemoval: Sendable, Hashable {
        /// The provider (KMS: with its API version).
        public var format: EnvelopeFormat
        /// The key's name; KMS: the provider's name.
        public var keyName: String
        /// Entries that still need it (read by it today).
        public var entries: Int
        /// Undecryptable entries of resources whose rule lists it, stored under its name:
        /// it cannot read them anyway, so removing it changes nothing for them.
        public var unreadable: Int
        public var canRemove: Bool { entries == 0 }
    }

    init(summary: AuditSummary, configuration: EncryptionConfiguration, kms: KMSSession? = nil) {
        identityRemoval = summary.readByIdentity.values.reduce(0, +)
        identityRemovalByResource = summary.readByIdentity
        identityRemovalExamples = summary.readByIdentityExamples.sorted()
        // Every key that does not write: keys after the first, and every key (or KMS
        // provider) of a provider that is not first in its rule.
        var candidates = Set<AuditSummary.ConfiguredKey>()
        var writers = Set<AuditSummary.ConfiguredKey>()
        for rule in configuration.rules {
            for (providerIndex, provider) in rule.providers.enumerated() {
                guard let format = EnvelopeFormat(provider) else { continue }
                // A KMS provider is one "key", named by the provider name.
                var names = provider.keys.map(\.name)
                if case .kms(let kms) = provider { names = [kms.name] }
                for (keyIndex, name) in names.enumerated() {
                    let configured = AuditSummary.ConfiguredKey(format: format, keyName: name)
                    if providerIndex == 0 && keyIndex == 0 { writers.insert(configured) } else { candidates.insert(configured) }
                }
            }
        }
        keys = candidates.subtracting(writers).sorted().map { key in
            KeyRemoval(format: key.format, keyName: key.keyName, entries: summary.readByKey[key] ?? 0,
                       unreadable: summary.claimedByKey[key] ?? 0)
        }
        kmsKeyIDs = Self.kmsKeyIDs(summary: summary, kms: kms)
    }

    /// Every key ID that KMS v2 values are stored under, and the plugin's current
    /// one even when nothing uses it yet, with the values that depend on each.
    /// Asked only with a session (`--kms` or `--kms-key-id`): without one nothing says
    /// which key ID is current, and the answers would change every report that has KMS values.
    static func kmsKeyIDs(summary: AuditSummary, kms: KMSSession?) -> [KMSKeyIDRetirement] {
        guard let kms else { return [] }
        // A v2 value without a key ID is not a valid EncryptedObject: it has no key to retire.
        var counts = summary.kmsValues(version: .v2).filter { $0.key.keyID != nil }
        for (name, provider) in kms.providers where provider.apiVersion == .v2 {
            if let current = provider.currentKeyID, counts[AuditSummary.KMSKey(provider: name, keyID: current)] == nil {
                counts[AuditSummary.KMSKey(provider: name, keyID: current)] = (0, 0)
            }
        }
        return counts.keys.sorted().compactMap { key in
            guard let keyID = key.keyID else { return nil }
            let provider = kms.providers[key.provider]
            return KMSKeyIDRetirement(provider: key.provider, keyID: keyID, isCurrent: provider?.currentKeyID.map { $0 == keyID },
                                      entries: counts[key]?.entries ?? 0, undecryptable: counts[key]?.undecryptable ?? 0,
                                      verified: provider?.plugin != nil)
        }
    }
}
