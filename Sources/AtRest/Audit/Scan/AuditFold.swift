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

    init(auditor: EntryAuditor, keeping verdicts: Set<Verdict>, namingEveryKey: Bool = false) {
        self.auditor = auditor
        summary = AuditSummary(keeping: verdicts)
        self.namingEveryKey = namingEveryKey
    }

    /// A fresh, empty fold that shares this one's auditor (for the next batch on the same thread).
    func emptied() -> AuditFold {
        AuditFold(auditor: auditor, keeping: summary.keptVerdicts, namingEveryKey: namingEveryKey)
    }

    /// Audits one live entry and adds its verdict; returns it, or `nil` outside the prefix.
    @discardableResult
    mutating func add(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> EntryAudit? {
        // The escaped key is built only for entries that are printed or kept.
        guard var audit = auditor.audit(key: key, value: value, namingKey: namingEveryKey) else {
            outside += 1
            return nil
        }
        // Identity is a fallback that can be removed only where the resource's providers
        // also encrypt (an identity-only rule is an exemption).
        let identityIsAFallback = auditor.encrypts(audit.groupResource)
        if !namingEveryKey && summary.keepsKey(of: audit, identityIsAFallback: identityIsAFallback) {
            audit.key = EscapedBytes.string(key)
        }
        summary.add(audit, identityIsAFallback: identityIsAFallback)
        return audit
    }

    /// Adds the fold of the key range right after this one's.
    mutating func merge(_ later: AuditFold) {
        summary.merge(later.summary)
        outside += later.outside
    }

    /// The summary with its last run counted; findings sorted by key.
    func finished() -> (summary: AuditSummary, outside: Int) {
        var summary = summary
        summary.flush()
        for verdict in summary.findings.keys { summary.findings[verdict]?.sort { $0.key < $1.key } }
        return (summary, outside)
    }
}
