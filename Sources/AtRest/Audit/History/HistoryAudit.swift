import AtRestDump
import AtRestEncryption
import AtRestIndex

/// Older revisions that are not stored the way the configuration writes today.
///
/// A snapshot keeps every revision etcd has not compacted. After a "successful"
/// migration, the live objects are encrypted but their earlier plaintext (or
/// old-key) revisions are still in etcd, and in every backup taken from it. Only
/// `etcdctl compact <revision>` followed by `etcdctl defrag` removes them.
public struct HistoryAudit: Sendable, Hashable {
    /// Revisions examined (puts; tombstones carry no value).
    public var revisionsAudited = 0
    /// Earlier revisions that are plaintext where the configuration encrypts.
    public var plaintextCopies = 0
    /// Earlier revisions written with another provider or key than today's writer.
    public var oldKeyCopies = 0
    /// Per key, its weaker revisions, sorted by key.
    public var keys: [KeyHistory] = []

    /// One key's weaker revisions.
    public struct KeyHistory: Sendable, Hashable {
        public var key: String
        public var resource: String
        /// How the key is stored now (`aesgcm key1`, `plaintext`), or `deleted`.
        public var now: String
        public var revisions: [RevisionFinding]
    }

    /// One weaker revision.
    public struct RevisionFinding: Sendable, Hashable {
        public var revision: Int64
        public var sub: Int64
        /// `plaintext`, or the provider and key name (`aescbc key0`).
        public var storedAs: String
        public var verdict: Verdict
    }

    /// Audits every non-live revision of the index's history under the auditor's configuration.
    public init(index: Index, auditor: EntryAuditor) throws {
        var byKey: [String: KeyHistory] = [:]
        var audited = 0, plaintext = 0, oldKey = 0
        try index.forEachRevision { revision in
            guard !revision.tombstone else { return true }
            guard let audit = auditor.audit(key: revision.entry.key, value: revision.entry.value) else { return true }
            audited += 1
            guard audit.verdict != .current, audit.verdict != .exempt else { return true }
            let live = try index.entry(forKey: Array(revision.entry.key))
            // The live revision itself is the normal audit's business.
            if let live, live.modRevision == revision.revision.main { return true }
            if audit.storage == "plaintext" { plaintext += 1 } else { oldKey += 1 }
            let storedAs = audit.storage == "plaintext" ? "plaintext" : [audit.provider, audit.kmsVersion, audit.keyName].compactMap { $0 }.joined(separator: " ")
            var history = byKey[audit.key] ?? KeyHistory(key: audit.key, resource: audit.groupResource.description,
                                                        now: Self.describe(live), revisions: [])
            history.revisions.append(RevisionFinding(revision: revision.revision.main, sub: revision.revision.sub,
                                                     storedAs: storedAs, verdict: audit.verdict))
            byKey[audit.key] = history
            return true
        }
        revisionsAudited = audited
        plaintextCopies = plaintext
        oldKeyCopies = oldKey
        keys = byKey.values.sorted { $0.key < $1.key }
    }

    private static func describe(_ live: KeyValue?) -> String {
        guard let live else { return "deleted" }
        let label = StorageLabel(StorageClassifier.classify(live.value))
        return label.storage == "plaintext" ? "plaintext" : label.summary
    }
}
