import AtRestDump

/// What an index was built from and what it holds. Stored in the index as JSON
/// and printed by `stats`. Contains no timestamps, so rebuilding from the same
/// input gives the same provenance.
public struct IndexProvenance: Codable, Sendable, Hashable {
    /// Bumped whenever the record layout changes; older indexes are refused.
    public static let currentSchemaVersion = 2

    public var schemaVersion: Int
    public var inputs: [Input]
    /// Whether the export covers the whole key range (no `more: true`, `count` matched).
    public var completeness: Completeness
    /// Why not, when not complete, or why it cannot be told.
    public var completenessReason: String?
    /// The store revision the export speaks for (see `ExportMetadata.revision`).
    public var revision: Int64?
    public var counts: Counts

    /// The provenance of an export as read, with the counts of what it delivered.
    public init(export summary: ExportSummary, counts: Counts) {
        let (completeness, reason) = Completeness.from(summary.completeness)
        self.init(schemaVersion: Self.currentSchemaVersion, inputs: summary.inputs.map(Input.init), completeness: completeness,
                  completenessReason: reason, revision: summary.inputs.compactMap(\.metadata.revision).max(), counts: counts)
    }

    init(schemaVersion: Int, inputs: [Input], completeness: Completeness, completenessReason: String?, revision: Int64?, counts: Counts) {
        self.schemaVersion = schemaVersion
        self.inputs = inputs
        self.completeness = completeness
        self.completenessReason = completenessReason
        self.revision = revision
        self.counts = counts
    }

    /// Whether every key of the range was received.
    public enum Completeness: String, Codable, Sendable, Hashable {
        case complete
        /// Keys are missing: `more: true`, or `count` above the keys received.
        case incomplete
        /// The format carries no count (hex, plain output): it cannot be told.
        case unverifiable
        /// Salvaged from a damaged snapshot (`--salvage`): entries may be missing.
        case partial

        /// From the reader's verdict, with its reason.
        public static func from(_ completeness: ExportCompleteness) -> (Completeness, String?) {
            switch completeness {
            case .complete: return (.complete, nil)
            case .incomplete(let reason): return (.incomplete, reason)
            case .unverifiable(let reason): return (.unverifiable, reason)
            case .partial(let reason): return (.partial, reason)
            }
        }
    }

    /// One input file.
    public struct Input: Codable, Sendable, Hashable {
        public var name: String
        public var size: UInt64
        public var sha256: String
        public var format: ExportFormat
        public var documents: Int
        public var revision: Int64?
        public var clusterID: UInt64?
        public var memberID: UInt64?
        public var raftTerm: UInt64?
        public var declaredCount: Int64?
        public var more: Bool
        public var trailer: ExportMetadata.TrailerStatus?
        public var scheduledCompactRevision: Int64?
        public var finishedCompactRevision: Int64?
        public var consistentIndex: UInt64?
        /// kine databases: rows, rows skipped, copies of earlier values.
        public var kine: ExportMetadata.KineTotals?

        public init(_ report: InputReport) {
            let m = report.metadata
            name = report.name
            size = report.byteCount
            sha256 = report.sha256.hexString
            format = m.format
            documents = m.documents
            revision = m.revision
            clusterID = m.clusterID
            memberID = m.memberID
            raftTerm = m.raftTerm
            declaredCount = m.declaredCount
            more = m.more
            trailer = m.trailer
            scheduledCompactRevision = m.scheduledCompactRevision
            finishedCompactRevision = m.finishedCompactRevision
            consistentIndex = m.consistentIndex
            kine = m.kine
        }
    }

    /// Every entry read is accounted for here.
    public struct Counts: Codable, Sendable, Hashable {
        /// Entries the readers delivered: live keys, plus every revision for snapshots, plus refusals.
        public var entriesRead: Int = 0
        /// Keys in the final state.
        public var liveKeys: Int = 0
        /// Revisions kept (snapshots only): puts and tombstones.
        public var revisions: Int = 0
        public var tombstones: Int = 0
        /// Entries refused, by reason (`Refusal.Reason` raw values).
        public var refused: [String: Int] = [:]

        public var refusedTotal: Int { refused.values.reduce(0, +) }
        public init() {}
    }
}
