/// What an input says about itself, beside its entries.
public struct ExportMetadata: Sendable, Hashable {
    public var format: ExportFormat
    /// `header.cluster_id` (JSON, fields) — exceeds 2^53, kept exact.
    public var clusterID: UInt64?
    public var memberID: UInt64?
    /// The store revision: `header.revision` for `etcdctl get` (the *current* revision
    /// when served, even with `--rev`), or, for snapshots,
    /// `max(last key-bucket revision, scheduledCompactRev, finishedCompactRev)`.
    public var revision: Int64?
    public var raftTerm: UInt64?
    /// `count` summed as etcd reported it (JSON, fields): keys in the range at that revision.
    public var declaredCount: Int64?
    /// Whether any document said `more: true`.
    public var more: Bool
    /// Snapshot `meta` bucket marks.
    public var scheduledCompactRevision: Int64?
    public var finishedCompactRevision: Int64?
    public var consistentIndex: UInt64?
    /// Snapshot trailer: verified, absent (a raw `member/snap/db`) or skipped by flag.
    public var trailer: TrailerStatus?
    /// Set when `--salvage` recovered entries from a damaged snapshot by a page scan.
    public var salvage: SalvageReport?
    /// Number of documents (JSON pages) read from this input.
    public var documents: Int
    /// What a kine database held besides the entries delivered.
    public var kine: KineTotals?

    /// The rows of a kine table, and those skipped (`KineReader`).
    public struct KineTotals: Sendable, Hashable, Codable {
        /// Every row of the table, skipped ones included.
        public var rows = 0
        /// `compact_rev_key` rows: kine's compaction mark, not Kubernetes data.
        public var compactRevKeyRows = 0
        /// `gap-*` rows: fillers for revisions an insert lost.
        public var gapRows = 0
        /// Copies of earlier values held in rows (`old_value`, and a delete row's `value`).
        public var oldValueCopies = 0

        public init() {}
    }

    public enum TrailerStatus: String, Sendable, Hashable, Codable {
        case verified, absent, skipped
    }

    public init(format: ExportFormat) {
        self.format = format
        self.more = false
        self.documents = 0
    }
}
