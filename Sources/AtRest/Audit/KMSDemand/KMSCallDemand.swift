public import AtRestDump
public import AtRestEncryption
public import AtRestIndex

/// How many `Decrypt` calls reading an input would send to the KMS plugins: its distinct DEK
/// sources (v2) and wrapped DEKs (v1) of providers whose plugin is asked, keyed as `KMSSession`
/// keys its calls. Counted before the first call, so that a run that would need more than
/// `--kms-max-calls` stops with nothing sent to a production KMS.
///
/// Every revision is counted, earlier ones too, so the count is what an audit with `--history`
/// needs at most; keys are kept as SHA-256 digests (32 bytes each) and counting stops at
/// `countLimit` distinct sources, past any cap a user would set.
public struct KMSCallDemand: DumpSink {
    private let session: KMSSession
    private var digests = Set<[UInt8]>()
    private var key: [UInt8] = []
    /// Counting stops here; the count is then "at least this many".
    public static let countLimit = 1_000_000

    public init(session: KMSSession) {
        self.session = session
    }

    /// Distinct sources met, at most `countLimit`.
    public var calls: Int { digests.count }
    /// Whether counting stopped at `countLimit`.
    public var isAtLeast: Bool { digests.count >= Self.countLimit }

    /// Counts one stored value.
    public mutating func count(_ value: UnsafeRawBufferPointer) {
        guard digests.count < Self.countLimit, session.demandKey(ofValue: value, into: &key) else { return }
        digests.insert(SHA256.hash(key))
    }

    public mutating func live(_ entry: KeyValue) throws {
        entry.value.withUnsafeBytes { count($0) }
    }

    public mutating func history(_ revision: Revision, tombstone: Bool, _ entry: KeyValue) throws {
        guard !tombstone else { return }
        entry.value.withUnsafeBytes { count($0) }
    }

    public mutating func refused(_ refusal: Refusal) throws {}

    /// The demand of an index: its live entries, and its earlier revisions when the run reads them.
    public static func of(_ index: Index, session: KMSSession, history: Bool) throws -> KMSCallDemand {
        var demand = KMSCallDemand(session: session)
        try index.forEachLive { view in
            demand.count(view.value)
            return !demand.isAtLeast
        }
        if history {
            try index.forEachRevision { view in
                if !view.tombstone { demand.count(view.entry.value) }
                return !demand.isAtLeast
            }
        }
        return demand
    }
}
