import CLMDB

/// An LMDB environment (a directory holding `data.mdb` and `lock.mdb`).
///
/// The environment handle is thread-safe (opened with `MDB_NOTLS`); transactions
/// are not and stay on the thread that began them. LMDB forbids opening the same
/// environment twice in one process, so each index is opened once and shared.
public final class LMDBEnvironment: @unchecked Sendable {
    let handle: OpaquePointer

    /// Opens (or creates, unless `readOnly`) the environment in `directory`.
    /// Files are created with `mode` (0600: an index holds every stored secret's ciphertext).
    public init(directory: String, readOnly: Bool, maxDatabases: UInt32 = 8, mode: mdb_mode_t = 0o600) throws(LMDBError) {
        var env: OpaquePointer?
        try LMDBError.check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw LMDBError(code: -1, operation: "mdb_env_create") }
        handle = env
        do {
            try LMDBError.check(mdb_env_set_maxdbs(env, maxDatabases), "mdb_env_set_maxdbs")
            // Address space only: without MDB_WRITEMAP the file grows as pages are written.
            try LMDBError.check(mdb_env_set_mapsize(env, 1 << 40), "mdb_env_set_mapsize")
            var flags = UInt32(MDB_NOTLS)
            // The index is rebuilt from its input after a crash (it is only published
            // once complete), so per-commit fsync buys nothing; one sync happens at the end.
            if readOnly { flags |= UInt32(MDB_RDONLY) } else { flags |= UInt32(MDB_NOSYNC) }
            try LMDBError.check(mdb_env_open(env, directory, flags, mode), "mdb_env_open \(directory)")
        } catch {
            mdb_env_close(env)
            throw error
        }
    }

    deinit { mdb_env_close(handle) }

    /// Flushes everything written to disk.
    public func sync() throws(LMDBError) {
        try LMDBError.check(mdb_env_sync(handle, 1), "mdb_env_sync")
    }

    /// Opens (creating in a write transaction if asked) a named database.
    public func openDatabase(_ name: String, in txn: LMDBTransaction, create: Bool) throws(LMDBError) -> MDB_dbi {
        var dbi: MDB_dbi = 0
        try LMDBError.check(mdb_dbi_open(txn.handle, name, create ? UInt32(MDB_CREATE) : 0, &dbi), "mdb_dbi_open \(name)")
        return dbi
    }

    /// Runs `body` in a transaction that commits when `body` returns and aborts when it throws.
    public func transaction<R>(readOnly: Bool, _ body: (LMDBTransaction) throws -> R) throws -> R {
        let txn = try LMDBTransaction(environment: self, readOnly: readOnly)
        let result: R
        do {
            result = try body(txn)
        } catch {
            txn.abort()
            throw error
        }
        // Read-only transactions are committed too: database handles opened in a
        // transaction that aborts are closed with it (`mdb_dbi_open` docs).
        try txn.commit()
        return result
    }
}
