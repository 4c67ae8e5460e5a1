internal import CLMDB
import Foundation

/// An LMDB environment (a directory holding `data.mdb` and `lock.mdb`).
///
/// Ownership: every transaction holds its environment, and every cursor its
/// transaction, so a parent is closed only after the last child has ended,
/// whatever order the optimiser releases local variables in. LMDB forbids
/// opening the same environment twice in one process, so each index is opened
/// once and shared. The handle is thread-safe (`MDB_NOTLS`); transactions are not.
final class LMDBEnvironment: @unchecked Sendable {
    /// LMDB's version line, e.g. `LMDB 0.9.24: (July 24, 2019)`.
    static var versionText: String { String(cString: mdb_version(nil, nil, nil)) }

    let handle: OpaquePointer
    /// The largest key LMDB stores (511 bytes unless the library was built otherwise).
    let maxKeySize: Int
    /// The data file's mapping in this process, found once (see `releaseMappedPages`).
    private let mapping: (base: UnsafeMutableRawPointer, length: Int)?

    /// Opens (or creates, unless `readOnly`) the environment in `directory`.
    /// Files are created 0600: an index holds every stored secret's ciphertext.
    ///
    /// Read-only opens use `MDB_NOLOCK`: a published index is never written again
    /// (a rebuild replaces the directory by rename, and a reader keeps the file it
    /// mapped), so readers need no lock table. `lock.mdb` is then neither created
    /// nor opened: a read writes nothing, through a planted symbolic link or
    /// otherwise, and an index on read-only media can be read.
    init(directory: String, readOnly: Bool, maxDatabases: UInt32 = 8) throws(LMDBError) {
        var env: OpaquePointer?
        try LMDBError.check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw LMDBError(code: -1, operation: "mdb_env_create") }
        do {
            try LMDBError.check(mdb_env_set_maxdbs(env, maxDatabases), "mdb_env_set_maxdbs")
            // Address space only: without MDB_WRITEMAP the file grows as pages are written.
            try LMDBError.check(mdb_env_set_mapsize(env, 1 << 40), "mdb_env_set_mapsize")
            var flags = UInt32(MDB_NOTLS)
            // The index is rebuilt from its input after a crash (it is only published
            // once complete), so per-commit fsync buys nothing; one sync happens at the end.
            if readOnly {
                flags |= UInt32(MDB_RDONLY) | UInt32(MDB_NORDAHEAD) | UInt32(MDB_NOLOCK)
            } else {
                flags |= UInt32(MDB_NOSYNC)
            }
            try LMDBError.check(mdb_env_open(env, directory, flags, 0o600), "mdb_env_open \(directory)")
        } catch {
            mdb_env_close(env)
            throw error
        }
        handle = env
        maxKeySize = Int(mdb_env_get_maxkeysize(env))
        mapping = Self.findMapping(of: directory + "/data.mdb")
    }

    deinit { mdb_env_close(handle) }

    /// The device and inode of the data file LMDB opened.
    func dataFileIdentity() -> (device: UInt64, inode: UInt64)? {
        var fd: Int32 = -1
        var info = stat()
        guard mdb_env_get_fd(handle, &fd) == MDB_SUCCESS, fd >= 0, fstat(fd, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    /// Drops the index's pages from this process's resident set.
    ///
    /// LMDB reads through a shared, read-only file mapping, so every page a scan
    /// or an insertion touches stays in the process's RSS: a multi-GiB index would
    /// make a multi-GiB process. `MADV_DONTNEED` on the mapping drops those pages
    /// from this process only; they stay in the page cache and fault back in when
    /// read again, at the same addresses, so views into the map stay valid. Safe
    /// while transactions are open: for a shared file mapping the data is the
    /// file's (dirty pages of a write transaction live in heap memory, not in the
    /// map, since the environment is not opened with `MDB_WRITEMAP`).
    func releaseMappedPages() {
        guard let mapping else { return }
        madvise(mapping.base, mapping.length, MADV_DONTNEED)
    }

    /// LMDB does not expose its map address (`me_mapaddr` is set only with
    /// `MDB_FIXEDMAP`), so it is read from `/proc/self/maps`: the largest mapping
    /// of the data file. Nothing is released where that is not available.
    private static func findMapping(of path: String) -> (base: UnsafeMutableRawPointer, length: Int)? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        let target = String(cString: resolved)
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return nil }
        var best: (base: UnsafeMutableRawPointer, length: Int)?
        for line in maps.split(separator: "\n") where line.hasSuffix(" " + target) {
            let range = line.prefix { $0 != " " }.split(separator: "-")
            guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16), end > start,
                  let base = UnsafeMutableRawPointer(bitPattern: start) else { continue }
            let length = Int(end - start)
            if length > (best?.length ?? 0) { best = (base, length) }
        }
        return best
    }

    /// Flushes everything written to disk.
    func sync() throws(LMDBError) {
        try LMDBError.check(mdb_env_sync(handle, 1), "mdb_env_sync")
    }

    /// Runs `body` in a transaction that commits when `body` returns and aborts when it throws.
    func transaction<R>(readOnly: Bool, _ body: (LMDBTransaction) throws -> R) throws -> R {
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

/// A named database inside an environment (LMDB's `MDB_dbi`), valid for the
/// environment's life once the transaction that opened it has committed.
struct LMDBDatabase {
    let dbi: MDB_dbi
}
