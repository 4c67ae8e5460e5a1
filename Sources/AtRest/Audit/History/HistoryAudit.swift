import AtRestDump
import AtRestEncryption
import AtRestIndex

/// Older revisions that are not stored the way the configuration writes today.
///
/// A snapshot keeps every revision etcd has not compacted. After a "successful"
/// migration, the live objects are encrypted but their earlier plaintext (or
/// old-key) revisions are still in etcd, and in every backup taken from it. Only
/// `etcdctl compact <revision>` followed by `etcdctl defrag` removes them.
///
/// A kine database (k3s) keeps them in two places: the rows compaction has not
/// removed yet, and the `old_value` column of the row after each of them, which
/// compaction never clears (`KineReader`). A revision is counted once wherever
/// its bytes sit, and each finding names every row and column that holds them.
public struct HistoryAudit: Sendable, Hashable {
    /// Revisions examined (puts; tombstones carry no value).
    public var revisionsAudited = 0
    /// Earlier revisions that are plaintext where the configuration encrypts.
    public var plaintextCopies = 0
    /// Earlier revisions written with another provider or key than today's writer.
    public var oldKeyCopies = 0
    /// Per key, its weaker revisions, sorted by key.
    public var keys: [KeyHistory] = []
    /// Whether the history was read from a kine database (findings then name rows and columns).
    public var kine = false

    /// One key's weaker revisions.
    public struct KeyHistory: Sendable, Hashable {
        public var key: String
        public var resource: String
        /// How the key is stored now; `nil` once it is deleted.
        public var now: StoredAs?
        public var revisions: [RevisionFinding]
    }

    /// One weaker revision.
    public struct RevisionFinding: Sendable, Hashable {
        public var revision: Int64
        public var sub: Int64
        /// Plaintext, or the provider and key name (no KMS key ID).
        public var storedAs: StoredAs
        public var verdict: Verdict
        /// kine: every row and column holding this revision's bytes; empty for etcd.
        public var locations: [StoredCopy] = []
    }

    /// Where a kine database holds a revision's bytes.
    public struct StoredCopy: Sendable, Hashable, Comparable {
        public enum Column: String, Sendable, Hashable {
            /// The revision's own row.
            case value
            /// The next row of the same key (`old_value` = the value it replaced).
            case oldValue = "old_value"
            /// A delete row: both columns hold the deleted value.
            case valueAndOldValue = "value+old_value"
        }

        public var row: Int64
        public var column: Column

        public static func < (a: StoredCopy, b: StoredCopy) -> Bool { a.row < b.row }
    }

    /// Audits every non-live revision of the index's history under the auditor's configuration.
    public init(index: Index, auditor: EntryAuditor) throws {
        let kine = index.provenance.inputs.contains { $0.format == .kine }
        var byKey: [String: KeyHistory] = [:]
        var audited = 0, plaintext = 0, oldKey = 0
        // kine: the revisions seen at the current main revision, by key, with their finding if any.
        var currentMain: Int64?
        var atMain: [[UInt8]: (key: String, index: Int)?] = [:]
        // kine: findings held in a row that may turn out to be a delete row (it comes later).
        var pendingHolders: [Int64: [(key: String, index: Int, location: Int)]] = [:]
        try index.forEachRevision { revision in
            if kine, revision.tombstone, let holders = pendingHolders.removeValue(forKey: revision.revision.main) {
                for holder in holders {
                    byKey[holder.key]?.revisions[holder.index].locations[holder.location].column = .valueAndOldValue
                }
            }
            guard !revision.tombstone else { return true }
            let location = StoredCopy(row: revision.revision.sub == 0 ? revision.revision.main : revision.revision.sub,
                                      column: revision.revision.sub == 0 ? .value : .oldValue)
            if kine {
                if currentMain != revision.revision.main {
                    currentMain = revision.revision.main
                    atMain.removeAll(keepingCapacity: true)
                }
                let rawKey = Array(revision.entry.key)
                if let seen = atMain[rawKey] {
                    // The same revision again: one more place its bytes sit, not one more revision.
                    if let seen {
                        byKey[seen.key]?.revisions[seen.index].locations.append(location)
                        if location.column == .oldValue, let count = byKey[seen.key]?.revisions[seen.index].locations.count {
                            pendingHolders[location.row, default: []].append((seen.key, seen.index, count - 1))
                        }
                    }
                    return true
                }
                atMain[rawKey] = .some(nil)
            }
            guard let audit = auditor.audit(key: revision.entry.key, value: revision.entry.value) else { return true }
            audited += 1
            guard audit.verdict != .current, audit.verdict != .exempt else { return true }
            let live = try index.entry(forKey: Array(revision.entry.key))
            // The live revision itself is the normal audit's business.
            if let live, live.modRevision == revision.revision.main { return true }
            if audit.storedAs.isPlaintext { plaintext += 1 } else { oldKey += 1 }
            let storedAs = audit.storedAs.ignoringKeyID
            var history = byKey[audit.key] ?? KeyHistory(key: audit.key, resource: audit.groupResource.description,
                                                        now: Self.describe(live), revisions: [])
            var finding = RevisionFinding(revision: revision.revision.main, sub: kine ? 0 : revision.revision.sub,
                                          storedAs: storedAs, verdict: audit.verdict)
            if kine { finding.locations = [location] }
            history.revisions.append(finding)
            byKey[audit.key] = history
            if kine {
                let index = history.revisions.count - 1
                atMain[Array(revision.entry.key)] = .some((audit.key, index))
                if location.column == .oldValue { pendingHolders[location.row, default: []].append((audit.key, index, 0)) }
            }
            return true
        }
        revisionsAudited = audited
        plaintextCopies = plaintext
        oldKeyCopies = oldKey
        self.kine = kine
        keys = byKey.values.sorted { $0.key < $1.key }
    }

    private static func describe(_ live: KeyValue?) -> StoredAs? {
        live.map { StoredAs(StorageClassifier.classify($0.value)).ignoringEncoding }
    }
}
