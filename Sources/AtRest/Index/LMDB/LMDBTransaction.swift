internal import CLMDB
import AtRestDump

/// One LMDB transaction. Not thread-safe: use it on the thread that began it, and
/// end it with `commit()` or `abort()` exactly once (an unfinished one is aborted
/// when released).
///
/// It holds its environment: `mdb_txn_abort` after `mdb_env_close` is a
/// use-after-free, and the environment must not depend on some caller's local
/// variable outliving the transaction.
final class LMDBTransaction {
    let environment: LMDBEnvironment
    let handle: OpaquePointer
    private var finished = false

    init(environment: LMDBEnvironment, readOnly: Bool) throws(LMDBError) {
        var txn: OpaquePointer?
        try LMDBError.check(mdb_txn_begin(environment.handle, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn), "mdb_txn_begin")
        guard let txn else { throw LMDBError(code: -1, operation: "mdb_txn_begin") }
        self.environment = environment
        handle = txn
    }

    deinit { if !finished { mdb_txn_abort(handle) } }

    func commit() throws(LMDBError) {
        precondition(!finished, "LMDB transaction ended twice")
        finished = true
        try LMDBError.check(mdb_txn_commit(handle), "mdb_txn_commit")
    }

    func abort() {
        if !finished { mdb_txn_abort(handle) }
        finished = true
    }

    /// Opens (creating it, if asked, in a write transaction) a named database.
    func openDatabase(_ name: String, create: Bool) throws(LMDBError) -> LMDBDatabase {
        var dbi: MDB_dbi = 0
        try LMDBError.check(mdb_dbi_open(handle, name, create ? UInt32(MDB_CREATE) : 0, &dbi), "mdb_dbi_open \(name)")
        return LMDBDatabase(dbi: dbi)
    }

    /// Stores `value` under `key`. `append` is LMDB's bulk-load fast path for keys
    /// given in increasing order.
    func put(_ db: LMDBDatabase, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, append: Bool = false) throws(LMDBError) {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try LMDBError.check(mdb_put(handle, db.dbi, &k, &v, append ? UInt32(MDB_APPEND) : 0), "mdb_put")
    }

    /// Reserves `size` bytes for `key` and lets `fill` write them in place: no
    /// intermediate buffer for large values.
    func put(_ db: LMDBDatabase, key: UnsafeRawBufferPointer, reserving size: Int, append: Bool = false,
             fill: (UnsafeMutableRawBufferPointer) -> Void) throws(LMDBError) {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: size, mv_data: nil)
        let flags = UInt32(MDB_RESERVE) | (append ? UInt32(MDB_APPEND) : 0)
        try LMDBError.check(mdb_put(handle, db.dbi, &k, &v, flags), "mdb_put")
        fill(UnsafeMutableRawBufferPointer(start: v.mv_data, count: size))
    }

    /// Deletes `key`; returns whether it existed.
    @discardableResult
    func delete(_ db: LMDBDatabase, key: UnsafeRawBufferPointer) throws(LMDBError) -> Bool {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        let rc = mdb_del(handle, db.dbi, &k, nil)
        if rc == MDB_NOTFOUND { return false }
        try LMDBError.check(rc, "mdb_del")
        return true
    }

    /// The value stored under `key`, valid only until the transaction ends.
    func get(_ db: LMDBDatabase, key: UnsafeRawBufferPointer) throws(LMDBError) -> UnsafeRawBufferPointer? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let rc = mdb_get(handle, db.dbi, &k, &v)
        if rc == MDB_NOTFOUND { return nil }
        try LMDBError.check(rc, "mdb_get")
        return UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
    }

    /// Visits entries in key order, starting at `from` (or the first key). `body`
    /// returns false to stop. Buffers are valid until the transaction ends.
    func forEach(_ db: LMDBDatabase, from start: [UInt8]? = nil,
                 _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
        let cursor = try LMDBCursor(transaction: self, database: db)
        var entry = try start.map { try cursor.seek(atOrAfter: $0) } ?? cursor.first()
        while let (key, value) = entry {
            guard try body(key, value) else { return }
            entry = try cursor.next()
        }
    }

    /// Number of entries in a database.
    func count(_ db: LMDBDatabase) throws(LMDBError) -> Int {
        var stat = MDB_stat()
        try LMDBError.check(mdb_stat(handle, db.dbi, &stat), "mdb_stat")
        return stat.ms_entries
    }
}

/// A cursor over one database. It holds its transaction (and so the environment),
/// and is closed when released, before either of them.
final class LMDBCursor {
    let transaction: LMDBTransaction
    private let handle: OpaquePointer

    init(transaction: LMDBTransaction, database: LMDBDatabase) throws(LMDBError) {
        var cursor: OpaquePointer?
        try LMDBError.check(mdb_cursor_open(transaction.handle, database.dbi, &cursor), "mdb_cursor_open")
        guard let cursor else { throw LMDBError(code: -1, operation: "mdb_cursor_open") }
        self.transaction = transaction
        handle = cursor
    }

    deinit { mdb_cursor_close(handle) }

    typealias Entry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)

    func first() throws(LMDBError) -> Entry? { try get(nil, MDB_FIRST) }
    func next() throws(LMDBError) -> Entry? { try get(nil, MDB_NEXT) }

    /// The first entry whose key is `key` or sorts after it. LMDB refuses to
    /// search for an empty key or one over its key limit (`MDB_BAD_VALSIZE`),
    /// though either is a fine starting point: every stored key sorts after the
    /// empty one, and a longer one is found from its first `maxKeySize` bytes.
    func seek(atOrAfter key: [UInt8]) throws(LMDBError) -> Entry? {
        if key.isEmpty { return try first() }
        let limit = transaction.environment.maxKeySize
        guard key.count > limit else { return try get(key, MDB_SET_RANGE) }
        var entry = try get(Array(key.prefix(limit)), MDB_SET_RANGE)
        while let found = entry, key.withUnsafeBytes({ precedes(found.key, $0) }) { entry = try next() }
        return entry
    }

    private func get(_ start: [UInt8]?, _ op: MDB_cursor_op) throws(LMDBError) -> Entry? {
        var k = MDB_val()
        var v = MDB_val()
        let rc: Int32
        if let start {
            // LMDB reads the search key during the call only, and then points `k` at the stored key.
            rc = start.withUnsafeBytes { raw in
                k = MDB_val(mv_size: raw.count, mv_data: UnsafeMutableRawPointer(mutating: raw.baseAddress))
                return mdb_cursor_get(handle, &k, &v, op)
            }
        } else {
            rc = mdb_cursor_get(handle, &k, &v, op)
        }
        if rc == MDB_NOTFOUND { return nil }
        try LMDBError.check(rc, "mdb_cursor_get")
        return (UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size), UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }
}
