internal import CSQLite

/// A connection to a SQLite database file, owning the `sqlite3` handle and closing
/// it exactly once (when the last statement prepared on it is gone: each
/// `SQLiteStatement` holds its connection).
///
/// Only the kine reader uses it, always on a private copy of the user's files
/// (see `KineCopy`), so opening read-write, which lets SQLite replay a WAL and
/// keep its `-shm` index, never touches the originals.
final class SQLiteConnection {
    fileprivate let handle: OpaquePointer
    /// The input as named on the command line, for error messages.
    let displayName: String

    init(path: String, displayName: String) throws(DumpError) {
        self.displayName = displayName
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let status = sqlite3_open_v2(path, &db, flags, nil)
        guard status == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
            sqlite3_close_v2(db)
            throw DumpError(.badDatabase, file: displayName, at: .file, "cannot open the SQLite database: \(Self.oneLine(message))")
        }
        handle = db
    }

    deinit { sqlite3_close_v2(handle) }

    /// Caps what SQLite materializes for one string, BLOB or row (`SQLITE_LIMIT_LENGTH`): reading a
    /// larger one fails with "string or blob too big" instead of allocating it.
    func limitLength(_ bytes: Int) {
        sqlite3_limit(handle, SQLITE_LIMIT_LENGTH, Int32(clamping: bytes))
    }

    /// Prepares one statement.
    func prepare(_ sql: String) throws(DumpError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard status == SQLITE_OK, let statement else {
            sqlite3_finalize(statement)
            throw error(status)
        }
        return SQLiteStatement(connection: self, statement: statement)
    }

    /// The connection's last error, as a `DumpError` naming the file.
    fileprivate func error(_ status: Int32) -> DumpError {
        let message = String(cString: sqlite3_errmsg(handle))
        return DumpError(.badDatabase, file: displayName, at: .file, "SQLite: \(Self.oneLine(message)) (code \(status))")
    }

    /// SQLite's messages can quote the file's own text (a table name, several lines
    /// of `quick_check`): one line, every control byte escaped.
    static func oneLine(_ message: String) -> String {
        EscapedBytes.string(Array(message.split(separator: "\n", omittingEmptySubsequences: true).joined(separator: "; ").utf8))
    }
}

/// One prepared statement; holds its connection, finalised when released.
final class SQLiteStatement {
    private let connection: SQLiteConnection
    private let statement: OpaquePointer

    fileprivate init(connection: SQLiteConnection, statement: OpaquePointer) {
        self.connection = connection
        self.statement = statement
    }

    deinit { sqlite3_finalize(statement) }

    /// Advances to the next row; false when there is none.
    func step() throws(DumpError) -> Bool {
        let status = sqlite3_step(statement)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.error(status)
        }
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

    /// A column's bytes (BLOB or TEXT, as stored; NULL is empty). The copy is made
    /// before the next step, which invalidates SQLite's buffer.
    func bytes(_ column: Int32) -> [UInt8] {
        guard let pointer = sqlite3_column_blob(statement, column) else { return [] }
        let count = Int(sqlite3_column_bytes(statement, column))
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// A column as text (names of tables and pragma results).
    func text(_ column: Int32) -> String { String(decoding: bytes(column), as: UTF8.self) }
}
