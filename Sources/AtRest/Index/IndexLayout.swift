/// Names inside an index directory.
enum IndexLayout {
    static let metaDatabase = "meta"
    static let liveDatabase = "live"
    /// Live records of keys too long (or too short) to be LMDB keys; see `IndexRecord`.
    static let longKeyDatabase = "live-long"
    static let historyDatabase = "history"
    static let refusedDatabase = "refused"

    static let schemaKey = "schema"
    static let provenanceKey = "provenance"
    /// Written in the last transaction: its absence means the build never finished.
    static let completeKey = "complete"
}
