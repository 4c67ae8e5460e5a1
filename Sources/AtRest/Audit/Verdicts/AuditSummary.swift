import AtRestEncryption

/// Everything `atrest audit` reports, accumulated entry by entry so that memory
/// stays bounded by the number of resources, namespaces and keys, not of entries
/// (only the entries of the kept verdicts, the findings, are kept one by one).
public struct AuditSummary: Sendable, Hashable {
    /// Entries under the prefix that got a verdict.
    public var audited = 0
    public var byVerdict: [Verdict: Int] = [:]
    /// Per resource (`secrets`, `deployments.apps`), per verdict.
    public var byResource: [String: [Verdict: Int]] = [:]
    /// Per stored provider and key, per verdict.
    public var byStorage: [StorageKey: [Verdict: Int]] = [:]
    /// Per resource and namespace (`nil` for cluster-scoped), per verdict: what a rewrite must touch.
    public var byNamespace: [ResourceNamespace: [Verdict: Int]] = [:]
    /// Per resource and stored provider/key (KMS v2: key ID), per verdict: the finest grain, for metrics.
    public var byResourceAndStorage: [ResourceStorage: [Verdict: Int]] = [:]
    /// The entries of the kept verdicts (the findings), sorted by key when the run ends.
    public var findings: [Verdict: [EntryAudit]] = [:]
    /// Which verdicts' entries are kept in `findings`.
    public var keptVerdicts: Set<Verdict>

    /// Every undecryptable entry, sorted by key (when the audit keeps them, as it does by default).
    public var undecryptable: [EntryAudit] { findings[.undecryptable] ?? [] }
    /// Entries read through `identity` in a rule that also encrypts: unreadable
    /// once `identity` is removed from it. Per resource.
    public var readByIdentity: [String: Int] = [:]
    /// A few of those keys, for the report.
    public var readByIdentityExamples: [String] = []
    /// Entries read by each configured key that is not its rule's writing key.
    public var readByKey: [ConfiguredKey: Int] = [:]
    /// Undecryptable entries that carry a configured key's name in their own resource's rule.
    public var claimedByKey: [ConfiguredKey: Int] = [:]

    /// A resource and a namespace.
    public struct ResourceNamespace: Sendable, Hashable, Comparable {
        public var resource: String
        public var namespace: String?

        public static func < (a: ResourceNamespace, b: ResourceNamespace) -> Bool {
            (a.resource, a.namespace ?? "") < (b.resource, b.namespace ?? "")
        }
    }

    /// A resource and how its entries are stored.
    public struct ResourceStorage: Sendable, Hashable, Comparable {
        public var resource: String
        public var storage: StorageKey

        public static func < (a: ResourceStorage, b: ResourceStorage) -> Bool { (a.resource, a.storage) < (b.resource, b.storage) }
    }

    /// A stored provider/key combination.
    public struct StorageKey: Sendable, Hashable, Comparable {
        public var storage: String
        public var provider: String
        public var keyName: String?
        public var kmsVersion: String?
        /// KMS v2 only: the key ID of the EncryptedObject.
        public var kmsKeyID: String?

        public static func < (a: StorageKey, b: StorageKey) -> Bool {
            (a.storage, a.provider, a.kmsVersion ?? "", a.keyName ?? "", a.kmsKeyID ?? "")
                < (b.storage, b.provider, b.kmsVersion ?? "", b.keyName ?? "", b.kmsKeyID ?? "")
        }
    }

    /// A key of the configuration, named as the operator would remove it.
    public struct ConfiguredKey: Sendable, Hashable, Comparable {
        public var provider: String
        public var keyName: String

        public static func < (a: ConfiguredKey, b: ConfiguredKey) -> Bool { (a.provider, a.keyName) < (b.provider, b.keyName) }
    }

    static let exampleLimit = 20

    /// Consecutive entries with the same verdict, resource, namespace and storage,
    /// counted once and added to the five tables when the next entry differs (or at
    /// `flush`): the index is in key order, so entries come in long runs of one
    /// resource and namespace, and most entries then cost no hashing at all.
    private struct Run: Sendable, Hashable {
        var verdict: Verdict
        var group: String
        var resource: String
        var namespace: String?
        var storage: StorageKey
        /// `resource.group`, built once per run.
        var resourceName: String
        var count: Int

        func matches(_ entry: EntryAudit, _ storage: StorageKey) -> Bool {
            verdict == entry.verdict && resource == entry.resource && group == entry.group
                && namespace == entry.namespace && self.storage == storage
        }
    }
    private var run: Run?

    public init(keeping verdicts: Set<Verdict> = [.undecryptable, .unencrypted]) {
        keptVerdicts = verdicts.union([.undecryptable])
    }

    /// Whether `add` keeps `entry`'s key (as a finding or an example), so it must be named.
    func keepsKey(of entry: EntryAudit, identityIsAFallback: Bool) -> Bool {
        if keptVerdicts.contains(entry.verdict) { return true }
        guard let readBy = entry.readBy else { return false }
        return readBy.providerType == "identity" && identityIsAFallback && readByIdentityExamples.count < Self.exampleLimit
    }

    mutating func add(_ entry: EntryAudit, identityIsAFallback: Bool) {
        audited += 1
        let storageKey = StorageKey(storage: entry.storage, provider: entry.provider,
                                    keyName: entry.keyName, kmsVersion: entry.kmsVersion, kmsKeyID: entry.kmsKeyID)
        let resource: String
        if var current = run, current.matches(entry, storageKey) {
            current.count += 1
            run = current
            resource = current.resourceName
        } else {
            flush()
            resource = entry.groupResource.description
            run = Run(verdict: entry.verdict, group: entry.group, resource: entry.resource, namespace: entry.namespace,
                      storage: storageKey, resourceName: resource, count: 1)
        }
        if keptVerdicts.contains(entry.verdict) { findings[entry.verdict, default: []].append(entry) }
        if let claimed = entry.claimedBy, let keyName = claimed.keyName {
            claimedByKey[ConfiguredKey(provider: claimed.providerType, keyName: keyName), default: 0] += 1
        }
        guard let readBy = entry.readBy else { return }
        if readBy.providerType == "identity" && identityIsAFallback {
            readByIdentity[resource, default: 0] += 1
            if readByIdentityExamples.count < Self.exampleLimit { readByIdentityExamples.append(entry.key) }
        }
        if let keyName = readBy.keyName, readBy.providerType != "identity" {
            readByKey[ConfiguredKey(provider: readBy.providerType, keyName: keyName), default: 0] += 1
        }
    }

    /// Adds `later`, the summary of the key range right after this one's: counts add
    /// up and the examples keep key order, so merging the ranges' summaries in
    /// order gives exactly the summary of one scan over all of them.
    mutating func merge(_ later: AuditSummary) {
        flush()
        var later = later
        later.flush()
        audited += later.audited
        func add<K>(_ mine: inout [K: [Verdict: Int]], _ theirs: [K: [Verdict: Int]]) {
            for (key, counts) in theirs {
                for (verdict, count) in counts { mine[key, default: [:]][verdict, default: 0] += count }
            }
        }
        for (verdict, count) in later.byVerdict { byVerdict[verdict, default: 0] += count }
        add(&byResource, later.byResource)
        add(&byStorage, later.byStorage)
        add(&byNamespace, later.byNamespace)
        add(&byResourceAndStorage, later.byResourceAndStorage)
        for (verdict, entries) in later.findings { findings[verdict, default: []] += entries }
        for (resource, count) in later.readByIdentity { readByIdentity[resource, default: 0] += count }
        readByIdentityExamples = Array((readByIdentityExamples + later.readByIdentityExamples).prefix(Self.exampleLimit))
        for (key, count) in later.readByKey { readByKey[key, default: 0] += count }
        for (key, count) in later.claimedByKey { claimedByKey[key, default: 0] += count }
    }

    /// Adds the pending run to the tables; `Auditor` calls it when the scan ends.
    mutating func flush() {
        guard let current = run else { return }
        run = nil
        let (verdict, count, resource) = (current.verdict, current.count, current.resourceName)
        byVerdict[verdict, default: 0] += count
        byResource[resource, default: [:]][verdict, default: 0] += count
        byStorage[current.storage, default: [:]][verdict, default: 0] += count
        byNamespace[ResourceNamespace(resource: resource, namespace: current.namespace), default: [:]][verdict, default: 0] += count
        byResourceAndStorage[ResourceStorage(resource: resource, storage: current.storage), default: [:]][verdict, default: 0] += count
    }
}
