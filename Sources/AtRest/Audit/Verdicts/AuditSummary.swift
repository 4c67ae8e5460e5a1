import AtRestDump
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
    public var byStorage: [StoredAs: [Verdict: Int]] = [:]
    /// Per resource and namespace (`nil` for cluster-scoped), per verdict: what a rewrite must touch.
    public var byNamespace: [ResourceNamespace: [Verdict: Int]] = [:]
    /// Per resource and stored provider/key (KMS v2: key ID), per verdict: the finest grain, for metrics.
    public var byResourceAndStorage: [ResourceStorage: [Verdict: Int]] = [:]
    /// The entries of the kept verdicts (the findings): per verdict, the
    /// `findingLimit` smallest keys (in the bytes of their escaped form), sorted when
    /// the run ends. The same ones whatever order the entries come in and however the
    /// scan is split (`--jobs`); `byVerdict` counts all of them.
    public var findings: [Verdict: [EntryAudit]] = [:]
    /// How many entries of each kept verdict `findings` holds at most. An audit before
    /// a migration meets millions of plaintext entries; each kept one costs memory, and
    /// no report for people lists more. `--output jsonl` lists every entry.
    public static let findingLimit = 10_000
    /// Per verdict, once `findings` was cut to `findingLimit`: its largest key. No
    /// larger key can be among the smallest, so it is not kept at all.
    private var findingCeiling: [Verdict: String] = [:]
    /// Which verdicts' entries are kept in `findings`.
    public private(set) var keptVerdicts: Set<Verdict>
    /// `keptVerdicts` as one bit per verdict, for the per-entry check.
    private var keptMask: UInt8 = 0

    /// Every undecryptable entry, sorted by key (when the audit keeps them, as it does by default).
    public var undecryptable: [EntryAudit] { findings[.undecryptable] ?? [] }
    /// Entries read through `identity` in a rule that also encrypts: unreadable
    /// once `identity` is removed from it. Per resource.
    public var readByIdentity: [String: Int] = [:]
    /// A few of those keys, for the report: the smallest by their bytes, so that the
    /// same ones are chosen in whatever order the entries come (snapshots are read
    /// in revision order).
    public var readByIdentityExamples: [String] = []
    /// The bytes of the examples' keys, in ascending order (the examples are in the same order).
    private var exampleKeys: [[UInt8]] = []
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
        public var storage: StoredAs

        public static func < (a: ResourceStorage, b: ResourceStorage) -> Bool { (a.resource, a.storage) < (b.resource, b.storage) }
    }

    /// A key of the configuration, named as the operator would remove it.
    public struct ConfiguredKey: Sendable, Hashable, Comparable {
        /// The provider (KMS: with its API version).
        public var format: EnvelopeFormat
        /// The key's name; KMS: the provider's name.
        public var keyName: String

        public static func < (a: ConfiguredKey, b: ConfiguredKey) -> Bool {
            (a.format.provider, a.keyName, a.format.version) < (b.format.provider, b.keyName, b.format.version)
        }
    }

    /// A KMS provider and, for v2, the key ID its values are stored under.
    public struct KMSKey: Sendable, Hashable, Comparable {
        public var provider: String
        public var keyID: String?

        public init(provider: String, keyID: String?) {
            self.provider = provider
            self.keyID = keyID
        }

        public static func < (a: KMSKey, b: KMSKey) -> Bool { (a.provider, a.keyID ?? "") < (b.provider, b.keyID ?? "") }
    }

    /// The KMS values of one API version (`v1`, `v2`) per provider and key ID: how many
    /// are not undecryptable (a provider reads them, or they are unverifiable), and how
    /// many are undecryptable.
    public func kmsValues(version: KMSConfiguration.APIVersion) -> [KMSKey: (entries: Int, undecryptable: Int)] {
        var values: [KMSKey: (entries: Int, undecryptable: Int)] = [:]
        for (storage, verdicts) in byStorage where storage.format == .kms(version) {
            guard let provider = storage.keyName else { continue }
            let undecryptable = verdicts[.undecryptable] ?? 0
            let key = KMSKey(provider: provider, keyID: storage.keyID)
            values[key, default: (0, 0)].entries += verdicts.values.reduce(0, +) - undecryptable
            values[key, default: (0, 0)].undecryptable += undecryptable
        }
        return values
    }

    static let exampleLimit = 20

    /// Consecutive entries of one resource and namespace, counted per `Cell` and
    /// added to the tables when the next entry is of another namespace (or at
    /// `flush`): entries come in key order, so in long runs of one resource and
    /// namespace, and within a run the few ways its entries are stored and read
    /// repeat (a rotation half done interleaves two keys). Most entries then cost
    /// a comparison with a handful of cells and no hashing at all.
    fileprivate struct Run: Sendable, Hashable {
        var group: String
        var resource: String
        var namespace: String?
        /// `resource.group`, built once per run.
        var resourceName: String
        var cells: [Cell]

        func matches(_ entry: EntryAudit) -> Bool {
            resource == entry.resource && group == entry.group && namespace == entry.namespace
        }
    }

    /// What the tables count an entry under, besides its resource and namespace.
    fileprivate struct Cell: Sendable, Hashable {
        var verdict: Verdict
        var storage: StoredAs
        var readBy: EntryAudit.ReadPosition?
        var claimedBy: EntryAudit.ReadPosition?
        var identityIsAFallback: Bool
        var count = 0
    }
    private var run: Run?

    public init(keeping verdicts: Set<Verdict> = [.undecryptable, .unencrypted]) {
        keptVerdicts = verdicts.union([.undecryptable])
        for verdict in keptVerdicts { keptMask |= Self.bit(verdict) }
    }

    private static func bit(_ verdict: Verdict) -> UInt8 {
        switch verdict {
        case .current: return 1
        case .stale: return 2
        case .unencrypted: return 4
        case .undecryptable: return 8
        case .unverifiable: return 16
        case .exempt: return 32
        }
    }

    func keeps(_ verdict: Verdict) -> Bool { keptMask & Self.bit(verdict) != 0 }

    /// Whether `add` keeps `entry`'s key (as a finding or an example), so it must be named.
    func keepsKey(of entry: EntryAudit, key: UnsafeRawBufferPointer, identityIsAFallback: Bool) -> Bool {
        if keeps(entry.verdict) { return true }
        return isExample(entry, identityIsAFallback: identityIsAFallback) && takesExample(key)
    }

    private func isExample(_ entry: EntryAudit, identityIsAFallback: Bool) -> Bool {
        guard let readBy = entry.readBy else { return false }
        return readBy.isIdentity && identityIsAFallback
    }

    /// Whether `key` is among the smallest so far. In key order, once the examples are
    /// full no later key is: the check is then one comparison.
    private func takesExample(_ key: UnsafeRawBufferPointer) -> Bool {
        guard exampleKeys.count >= Self.exampleLimit, let largest = exampleKeys.last else { return true }
        return largest.withUnsafeBytes { compareBytes(key, $0) < 0 }
    }

    /// Adds an example in key order, dropping the largest beyond the limit.
    private mutating func addExample(_ name: String, key: UnsafeRawBufferPointer) {
        var index = exampleKeys.endIndex
        while index > exampleKeys.startIndex, exampleKeys[index - 1].withUnsafeBytes({ compareBytes(key, $0) < 0 }) { index -= 1 }
        exampleKeys.insert(Array(key), at: index)
        readByIdentityExamples.insert(name, at: index)
        if exampleKeys.count > Self.exampleLimit {
            exampleKeys.removeLast()
            readByIdentityExamples.removeLast()
        }
    }

    /// Adds `entry`'s verdict, `count` times: more than once only for entries that are
    /// counted, not kept (`AuditFold`'s runs of entries read alike).
    /// `key` is the entry's key, needed only when it may be an example (`keepsKey`).
    mutating func add(_ entry: EntryAudit, key: UnsafeRawBufferPointer? = nil, identityIsAFallback: Bool, count: Int = 1) {
        audited += count
        let cell = Cell(verdict: entry.verdict,
                        storage: entry.storedAs,
                        readBy: entry.readBy, claimedBy: entry.claimedBy, identityIsAFallback: identityIsAFallback)
        if run?.matches(entry) != true {
            flush()
            run = Run(group: entry.group, resource: entry.resource, namespace: entry.namespace,
                      resourceName: entry.groupResource.description, cells: [])
        }
        run?.count(cell, by: count)
        if keeps(entry.verdict) { keep(entry) }
        if let key, isExample(entry, identityIsAFallback: identityIsAFallback), takesExample(key) {
            addExample(entry.key, key: key)
        }
    }

    /// Adds `later`, the summary of the key range right after this one's: counts add
    /// up and the examples stay the smallest keys, so merging the ranges' summaries
    /// gives exactly the summary of one scan over all of them.
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
        for (verdict, entries) in later.findings {
            findings[verdict, default: []] += entries
            if entries.count > 0 { cutFindings(verdict, above: 2 * Self.findingLimit) }
        }
        // Each ceiling bounds what its side saw; the lower one bounds the union.
        for (verdict, ceiling) in later.findingCeiling {
            if let mine = findingCeiling[verdict], mine.utf8.lexicographicallyPrecedes(ceiling.utf8) { continue }
            findingCeiling[verdict] = ceiling
        }
        for (resource, count) in later.readByIdentity { readByIdentity[resource, default: 0] += count }
        for (name, key) in zip(later.readByIdentityExamples, later.exampleKeys) {
            key.withUnsafeBytes { key in if takesExample(key) { addExample(name, key: key) } }
        }
        for (key, count) in later.readByKey { readByKey[key, default: 0] += count }
        for (key, count) in later.claimedByKey { claimedByKey[key, default: 0] += count }
    }

    /// Whether escaped key `a` sorts before `b`: by their UTF-8 bytes, a total order
    /// (String's `<` holds canonically equivalent keys equal).
    static func keyOrder(_ a: EntryAudit, _ b: EntryAudit) -> Bool {
        a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
    }

    /// Keeps `entry` as a finding unless `findingLimit` smaller keys are kept already.
    private mutating func keep(_ entry: EntryAudit) {
        let verdict = entry.verdict
        if let ceiling = findingCeiling[verdict], !entry.key.utf8.lexicographicallyPrecedes(ceiling.utf8) { return }
        findings[verdict, default: []].append(entry)
        cutFindings(verdict, above: 2 * Self.findingLimit)
    }

    /// Sorts the findings of `verdict` and keeps the `findingLimit` smallest once there
    /// are more than `threshold`: amortised, a sort per `findingLimit` entries.
    private mutating func cutFindings(_ verdict: Verdict, above threshold: Int) {
        guard var kept = findings[verdict], kept.count > threshold else { return }
        findings[verdict] = nil
        kept.sort(by: Self.keyOrder)
        if kept.count > Self.findingLimit {
            kept.removeLast(kept.count - Self.findingLimit)
            if let largest = kept.last?.key { findingCeiling[verdict] = largest }
        }
        findings[verdict] = kept
    }

    /// Sorts the findings by key and keeps the `findingLimit` smallest of each verdict;
    /// folds call it when the whole scan is merged.
    mutating func finishFindings() {
        for verdict in findings.keys { cutFindings(verdict, above: -1) }
        // Only a scan in progress needs it; two finished summaries of one input are equal.
        findingCeiling = [:]
    }

    /// Adds the pending run to the tables; folds call it when their scan ends.
    mutating func flush() {
        guard let current = run else { return }
        run = nil
        let resource = current.resourceName
        for cell in current.cells {
            let (verdict, count) = (cell.verdict, cell.count)
            byVerdict[verdict, default: 0] += count
            byResource[resource, default: [:]][verdict, default: 0] += count
            byStorage[cell.storage, default: [:]][verdict, default: 0] += count
            byNamespace[ResourceNamespace(resource: resource, namespace: current.namespace), default: [:]][verdict, default: 0] += count
            byResourceAndStorage[ResourceStorage(resource: resource, storage: cell.storage), default: [:]][verdict, default: 0] += count
            if let claimed = cell.claimedBy, let format = claimed.format, let keyName = claimed.keyName {
                claimedByKey[ConfiguredKey(format: format, keyName: keyName), default: 0] += count
            }
            guard let readBy = cell.readBy else { continue }
            if readBy.isIdentity && cell.identityIsAFallback { readByIdentity[resource, default: 0] += count }
            if let format = readBy.format, let keyName = readBy.keyName {
                readByKey[ConfiguredKey(format: format, keyName: keyName), default: 0] += count
            }
        }
    }
}

extension AuditSummary.Run {
    /// Counts `count` entries in their cell, adding the cell the first time.
    fileprivate mutating func count(_ cell: AuditSummary.Cell, by count: Int) {
        for index in cells.indices where cells[index].matches(cell) {
            cells[index].count += count
            return
        }
        var added = cell
        added.count = count
        cells.append(added)
    }
}

extension AuditSummary.Cell {
    fileprivate func matches(_ other: AuditSummary.Cell) -> Bool {
        verdict == other.verdict && identityIsAFallback == other.identityIsAFallback && storage == other.storage
            && readBy == other.readBy && claimedBy == other.claimedBy
    }
}

