/// Reads k3s's kine datastore: the SQLite table `kine` that kine keeps in place
/// of etcd (`/var/lib/rancher/k3s/server/db/state.db`).
///
/// Layout, from k3s-io/kine: `pkg/drivers/sqlite/sqlite.go` (the schema: `id`
/// INTEGER PRIMARY KEY AUTOINCREMENT is the revision; `name`, `created`,
/// `deleted`, `create_revision`, `prev_revision`, `lease`, `value`, `old_value`),
/// `pkg/logstructured/sqllog/sql.go` `Append` and `pkg/drivers/generic/generic.go`
/// `Insert` (every write is a new row; its `prev_revision` is the id of the
/// key's previous row and its `old_value` that row's value; a delete is a row
/// with `deleted = 1` whose `value` and `old_value` both hold the deleted
/// value), and the compaction (`CompactSQL` in `sqlite.go`: rows that a later
/// row supersedes, and delete rows, up to the compact revision, are removed;
/// the superseding row's `old_value` is not cleared).
///
/// What the sink receives, in revision-key order:
/// - every row as a revision `(id, 0)`: a put, or a tombstone for a delete row;
///   replaying them gives kine's own live state (each name's newest row unless it
///   is a delete row);
/// - every copy of an earlier value held by a row, as revision
///   `(prev_revision, id)`: the sub-revision names the row whose `old_value`
///   (or, for a delete row, `value` and `old_value`) holds the bytes, and the
///   entry's mod revision is `prev_revision`, the revision the bytes belong to.
///   The key is that of row `prev_revision` while it exists: newer kine fills
///   `old_value` with `(SELECT value FROM kine WHERE id = prev_revision)`, and a
///   first create's `prev_revision` is the store's revision then, another key's
///   row. Once that row is compacted, the copy is taken as the holder's own key.
///   When that revision's own row was compacted away, this is the only place its
///   bytes survive; when it still exists, they sit in two places
///   (`HistoryAudit` counts such a revision once and names both).
/// - `compact_rev_key` (kine's compaction mark) and `gap-*` rows (fillers for
///   revisions lost to a rolled-back insert, `generic.go` `Fill`) are not
///   Kubernetes data: they are skipped and counted.
struct KineReader {
    let path: String
    let displayName: String

    struct Result {
        var metadata: ExportMetadata
    }

    static let columns = ["id", "name", "created", "deleted", "create_revision", "prev_revision", "lease", "value", "old_value"]

    func read(into sink: inout some DumpSink) throws -> Result {
        let db = try SQLiteConnection(path: path, displayName: displayName)
        try checkIntegrity(db)
        try checkSchema(db)
        try checkSizes(db)
        // A backstop for what `checkSizes` measures: a row holds a key and a value, each within the cap.
        db.limitLength(2 * Self.maximumValueBytes + (1 << 20))

        var totals = ExportMetadata.KineTotals()
        var metadata = ExportMetadata(format: .kine)
        metadata.documents = 1
        let summary = try db.prepare("""
            SELECT COUNT(*),
                   COALESCE(SUM(name = 'compact_rev_key'), 0),
                   COALESCE(SUM(substr(name, 1, 4) = 'gap-'), 0),
                   MAX(id),
                   (SELECT MAX(prev_revision) FROM kine WHERE name = 'compact_rev_key'),
                   MIN(id)
            FROM kine
            """)
        if try summary.step() {
            totals.rows = Int(summary.int64(0))
            totals.compactRevKeyRows = Int(summary.int64(1))
            totals.gapRows = Int(summary.int64(2))
            if !summary.isNull(3) { metadata.revision = summary.int64(3) }
            if !summary.isNull(4) { metadata.finishedCompactRevision = summary.int64(4) }
            if !summary.isNull(5), summary.int64(5) < 1 {
                throw DumpError(.badDatabase, file: displayName, at: .row(summary.int64(5)),
                                "a kine row id must be a revision of 1 or more")
            }
        }

        // Rows and the copies they hold, ordered as etcd orders revisions (main, sub).
        let entries = try db.prepare("""
            SELECT id AS rev, 0 AS sub, name, created, deleted, create_revision, lease, value
              FROM kine
             WHERE name != 'compact_rev_key' AND substr(name, 1, 4) != 'gap-'
            UNION ALL
            SELECT k.prev_revision, k.id, COALESCE(p.name, k.name), 0, 0,
                   CASE WHEN p.id IS NULL THEN k.create_revision WHEN p.created != 0 THEN p.id ELSE p.create_revision END,
                   COALESCE(p.lease, k.lease),
                   CASE WHEN k.deleted != 0 AND length(k.value) > 0 THEN k.value ELSE k.old_value END
              FROM kine AS k LEFT JOIN kine AS p ON p.id = k.prev_revision
             WHERE k.name != 'compact_rev_key' AND substr(k.name, 1, 4) != 'gap-'
               AND COALESCE(p.name, '') != 'compact_rev_key' AND substr(COALESCE(p.name, ''), 1, 4) != 'gap-'
               AND (length(k.old_value) > 0 OR (k.deleted != 0 AND length(k.value) > 0))
            ORDER BY 1, 2
            """)
        while try entries.step() {
            let main = entries.int64(0), sub = entries.int64(1)
            guard main >= 0 else {
                throw DumpError(.badDatabase, file: displayName, at: .row(sub),
                                "prev_revision \(main) is not a revision")
            }
            let key = entries.bytes(2)
            let created = entries.int64(3) != 0
            let deleted = entries.int64(4) != 0
            if sub == 0 {
                let entry = KeyValue(key: key, value: deleted ? [] : entries.bytes(7),
                                     createRevision: created ? main : entries.int64(5),
                                     modRevision: main, version: 0, lease: entries.int64(6))
                try sink.history(Revision(main: main, sub: 0), tombstone: deleted, entry)
            } else {
                totals.oldValueCopies += 1
                let entry = KeyValue(key: key, value: entries.bytes(7), createRevision: entries.int64(5),
                                     modRevision: main, version: 0, lease: entries.int64(6))
                try sink.history(Revision(main: main, sub: sub), tombstone: false, entry)
            }
        }
        metadata.kine = totals
        return Result(metadata: metadata)
    }

    /// The longest key or value read: what an etcdctl JSON export may carry (`JSONScanner.maxStringBytes`
    /// of base64), so that a kine row cannot make atrest hold more than an export's entry can.
    static let maximumValueBytes = JSONScanner.maxStringBytes / 4 * 3

    /// Refuses the first row whose name, value or old_value is longer than `maximumValueBytes`, before any
    /// row is read: `length()` of a BLOB reads its size from the record header, not its bytes.
    private func checkSizes(_ db: SQLiteConnection) throws {
        let limit = Self.maximumValueBytes
        let oversized = try db.prepare("""
            SELECT id, length(name), length(value), length(old_value) FROM kine
             WHERE length(name) > \(limit) OR length(value) > \(limit) OR length(old_value) > \(limit)
             ORDER BY id LIMIT 1
            """)
        guard try oversized.step() else { return }
        let (name, value, oldValue) = (oversized.int64(1), oversized.int64(2), oversized.int64(3))
        let column = name > limit ? ("name", name) : value > limit ? ("value", value) : ("old_value", oldValue)
        throw DumpError(.tooLarge, file: displayName, at: .row(oversized.int64(0)),
                        "its \(column.0) is \(column.1) bytes, over the \(limit >> 20) MiB atrest reads for one key or value "
                        + "(etcd's request limit is 1.5 MiB by default, and 10 MiB the most it recommends)")
    }

    /// `PRAGMA quick_check`: every b-tree page reachable and well formed. A
    /// truncated or damaged file fails here (or SQLite refuses it on opening).
    private func checkIntegrity(_ db: SQLiteConnection) throws {
        let check = try db.prepare("PRAGMA quick_check(1)")
        guard try check.step() else { return }
        let answer = check.text(0)
        guard answer == "ok" else {
            throw DumpError(.badDatabase, file: displayName, at: .file, "the SQLite database is damaged: \(SQLiteConnection.oneLine(answer))")
        }
    }

    private func checkSchema(_ db: SQLiteConnection) throws {
        let info = try db.prepare("SELECT name FROM pragma_table_info('kine')")
        var found = Set<String>()
        while try info.step() { found.insert(info.text(0)) }
        guard !found.isEmpty else {
            throw DumpError(.badDatabase, file: displayName, at: .file,
                            "a SQLite database without kine's table 'kine' (not a k3s state.db)")
        }
        let missing = Self.columns.filter { !found.contains($0) }
        guard missing.isEmpty else {
            throw DumpError(.badDatabase, file: displayName, at: .file,
                            "table 'kine' lacks column(s) \(missing.joined(separator: ", "))")
        }
    }
}
