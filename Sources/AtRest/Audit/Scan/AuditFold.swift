import AtRestDump

/// The audit of a stretch of entries in key order, folded into one summary.
///
/// Folds of consecutive key ranges merge (`merge`) into exactly the fold of their
/// union, which is what lets an index be cut into ranges, or an export into
/// batches, audited on threads of their own.
///
/// Holds an `EntryAuditor` (OpenSSL contexts): use one per thread.
struct AuditFold {
    let auditor: EntryAuditor
    private(set) var summary: AuditSummary
    /// Live keys outside the etcd prefix: counted, not audited.
    private(set) var outside = 0
    /// Whether every verdict names its key (it is printed), not only the kept ones.
    let namingEveryKey: Bool
    /// Entries counted without an `EntryAudit`, until the run ends.
    private var counted = CountedRun()

    /// Consecutive entries of one built-in resource and namespace that a provider read
    /// and that the summary neither keeps nor names (most entries of a cluster): they
    /// are counted per provider entry that read them, and added to the summary as one
    /// verdict per provider entry when the run ends. Such an entry costs no String,
    /// no hashing and no `EntryAudit`; the others are audited one by one, and as the
    /// summary's counts add up, the two kinds may interleave in any order.
    private struct CountedRun {
        var resource = -1
        var namespace: [UInt8] = []
        var isNamespaced = false
        var chain: ProviderChain?
        /// Per `chain.entries` index.
        var counts: [Int] = []

        func matches(_ resource: Int, _ namespace: UnsafeRawBufferPointer?, _ chain: ProviderChain) -> Bool {
            guard resource == self.resource, chain === self.chain, (namespace != nil) == isNamespaced else { return false }
            guard let namespace else { return true }
            return self.namespace.withUnsafeBytes { compareBytes($0, namespace) == 0 }
        }
    }

    init(auditor: EntryAuditor, keeping verdicts: Set<Verdict>, namingEveryKey: Bool = false) {
        self.auditor = auditor
        summary = AuditSummary(keeping: verdicts)
        self.namingEveryKey = namingEveryKey
    }

    /// A fresh, empty fold that shares this one's auditor (for the next batch on the same thread).
    func emptied() -> AuditFold {
        AuditFold(auditor: auditor, keeping: summary.keptVerdicts, namingEveryKey: namingEveryKey)
    }

    /// Audits one live entry and adds its verdict; returns it, or `nil` outside the
    /// prefix and, unless every verdict is named, when it was only counted.
    @discardableResult
    mutating func add(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> EntryAudit? {
        var audit: EntryAudit
        if !namingEveryKey, case .builtin(let object) = auditor.resolver.locate(key) {
            let resource = object.resource
            let chain = auditor.chain(forBuiltin: resource)
            let outcome = chain.read(value, etcdKey: key)
            if case .read(let index, _) = outcome, countsWithoutAudit(chain, index, resource) {
                let namespace = object.namespace.map { UnsafeRawBufferPointer(rebasing: key[$0]) }
                if !counted.matches(resource, namespace, chain) { startCountedRun(resource, namespace, chain) }
                counted.counts[index] += 1
                return nil
            }
            audit = auditor.audit(key: key, value: value, namingKey: false, kind: auditor.resolver.kind(of: object, in: key),
                                  read: (chain, outcome))
        } else {
            // The escaped key is built only for entries that are printed or kept.
            guard let audited = auditor.audit(key: key, value: value, namingKey: namingEveryKey) else {
                outside += 1
                return nil
            }
            audit = audited
        }
        // Identity is a fallback that can be removed only where the resource's providers
        // also encrypt (an identity-only rule is an exemption).
        let identityIsAFallback = auditor.encrypts(audit.groupResource)
        if !namingEveryKey && summary.keepsKey(of: audit, key: key, identityIsAFallback: identityIsAFallback) {
            audit.key = EscapedBytes.string(key)
        }
        summary.add(audit, key: key, identityIsAFallback: identityIsAFallback)
        return audit
    }

    /// Whether an entry that `chain.entries[index]` read is only counted: the summary
    /// keeps none of its verdict, and it is not an identity read that could be an example.
    private func countsWithoutAudit(_ chain: ProviderChain, _ index: Int, _ resource: Int) -> Bool {
        if chain.entries[index].isIdentity && chain.anyProviderEncrypts { return false }
        if let verdict = chain.knownReadVerdict(index) { return !summary.keeps(verdict) }
        let auditor = auditor
        return !summary.keeps(auditor.readVerdict(chain, index, of: auditor.resolver.builtinResources[resource]).verdict)
    }

    private mutating func startCountedRun(_ resource: Int, _ namespace: UnsafeRawBufferPointer?, _ chain: ProviderChain) {
        addCountedRun()
        counted.resource = resource
        counted.isNamespaced = namespace != nil
        counted.namespace.removeAll(keepingCapacity: true)
        if let namespace { counted.namespace.append(contentsOf: namespace) }
        counted.chain = chain
        counted.counts = Array(repeating: 0, count: chain.entries.count)
    }

    /// Adds the counted run to the summary, one verdict per provider entry that read any of it.
    private mutating func addCountedRun() {
        guard let chain = counted.chain else { return }
        counted.chain = nil
        let namespace = counted.isNamespaced ? String(decoding: counted.namespace, as: UTF8.self) : nil
        for (index, count) in counted.counts.enumerated() where count > 0 {
            let audit = auditor.readAudit(resource: counted.resource, namespace: namespace, chain: chain, index: index)
            summary.add(audit, identityIsAFallback: chain.anyProviderEncrypts, count: count)
        }
    }

    /// Adds the fold of the key range right after this one's.
    mutating func merge(_ later: AuditFold) {
        addCountedRun()
        var later = later
        later.addCountedRun()
        summary.merge(later.summary)
        outside += later.outside
    }

    /// The summary with its last run counted; findings sorted by key, at most
    /// `AuditSummary.findingLimit` of each verdict.
    func finished() -> (summary: AuditSummary, outside: Int) {
        var fold = self
        fold.addCountedRun()
        var summary = fold.summary
        summary.flush()
        summary.finishFindings()
        return (summary, outside)
    }
}
