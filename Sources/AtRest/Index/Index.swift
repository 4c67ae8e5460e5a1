import AtRestDump
import Foundation

/// A complete, read-only index, as later commands see it.
///
/// It owns its environment; each scan runs in a transaction that holds the
/// environment too, so views handed to a scan's callback are valid for the whole
/// callback whatever the caller keeps.
///
/// Immutable once opened, and every scan runs in a read transaction of its own
/// (the environment is opened `MDB_NOTLS`), so one index can be scanned from
/// several threads at once, each over its own key range.
public final class Index: @unchecked Sendable {
    public let directory: String
    public let provenance: IndexProvenance
    private let environment: LMDBEnvironment
    private let live: LMDBDatabase
    private let longLive: LMDBDatabase
    private let history: LMDBDatabase

    /// Opens the index at `directory`, checking that it is atrest's, undamaged
    /// (`IndexChecksum`), complete and of this schema.
    public convenience init(directory: String) throws {
        try self.init(directory: directory, verify: true)
    }

    /// `verify: false` skips the checksum: for the temporary index a run has just
    /// written in its private directory, which has no checksum file.
    init(directory: String, verify: Bool) throws {
        self.directory = directory
        var info = stat()
        guard stat(directory, &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw IndexError.notFound(path: directory) }
            throw IndexError.io(path: directory, message: "cannot open the index: \(systemErrorText())")
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR, Self.looksLikeIndex(directory, checksummed: verify) else {
            throw IndexError.notAnIndex(path: directory)
        }
        // The file checked is the file LMDB maps: both are opened, then compared.
        var checked: (device: UInt64, inode: UInt64)?
        if verify {
            let fd = open(directory + "/data.mdb", O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw IndexError.io(path: directory, message: "cannot open data.mdb: \(systemErrorText())") }
            defer { _ = close(fd) }
            try IndexChecksum.verify(directory: directory, dataFD: fd)
            var data = stat()
            guard fstat(fd, &data) == 0 else { throw IndexError.io(path: directory, message: "cannot open data.mdb: \(systemErrorText())") }
            checked = (UInt64(data.st_dev), UInt64(data.st_ino))
        }
        let env: LMDBEnvironment
        do {
            env = try LMDBEnvironment(directory: directory, readOnly: true)
        } catch {
            throw IndexError(error, path: directory)
        }
        if let checked {
            guard let mapped = env.dataFileIdentity(), mapped == checked else {
                throw IndexError.io(path: directory, message: "the index was replaced while being opened; run the command again")
            }
        }
        environment = env
        (live, longLive, history, provenance) = try Self.storage(directory) {
            try env.transaction(readOnly: true) { txn in
                let meta: LMDBDatabase
                do { meta = try txn.openDatabase(IndexLayout.metaDatabase, create: false) } catch { throw IndexError.incomplete(path: directory) }
                func value(_ key: String) throws -> [UInt8]? {
                    try Array(key.utf8).withUnsafeBytes { try txn.get(meta, key: $0).map(Array.init) }
                }
                guard try value(IndexLayout.completeKey) == Array("1".utf8) else { throw IndexError.incomplete(path: directory) }
                let schema = try value(IndexLayout.schemaKey).flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
                guard schema == IndexProvenance.currentSchemaVersion else {
                    throw IndexError.schemaMismatch(path: directory, found: schema, expected: IndexProvenance.currentSchemaVersion)
                }
                guard let json = try value(IndexLayout.provenanceKey),
                      let provenance = try? JSONDecoder().decode(IndexProvenance.self, from: Data(json)) else {
                    throw IndexError.corruptRecord(path: directory, detail: "unreadable provenance")
                }
                return (try txn.openDatabase(IndexLayout.liveDatabase, create: false),
                        try txn.openDatabase(IndexLayout.longKeyDatabase, create: false),
                        try txn.openDatabase(IndexLayout.historyDatabase, create: false),
                        provenance)
            }
        }
    }

    /// Runs `body`, reporting LMDB's errors as `IndexError.storage` for this index.
    private static func storage<R>(_ path: String, _ body: () throws -> R) throws -> R {
        do { return try body() } catch let error as LMDBError { throw IndexError(error, path: path) }
    }

    /// Whether `directory` holds an index atrest wrote: `data.mdb` with the
    /// checksum file (`atrest.sum`, and `lock.mdb` from an older read) and nothing
    /// else. Only such a directory is ever replaced. `checksummed: false` is for
    /// a run's own temporary index, which has no checksum file.
    static func looksLikeIndex(_ directory: String, checksummed: Bool = true) -> Bool {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else { return false }
        let allowed: Set<String> = ["data.mdb", "lock.mdb", IndexChecksum.fileName]
        guard Set(names).isSubset(of: allowed), names.contains("data.mdb") else { return false }
        return !checksummed || IndexChecksum.isPresent(in: directory)
    }

    /// Visits every live entry in key order, from `start` on and before `end`
    /// (exclusive) when given; `body` returns false to stop.
    public func forEachLive(from start: [UInt8]? = nil, until end: [UInt8]? = nil, _ body: (EntryView) throws -> Bool) throws {
        let path = directory
        try Self.storage(path) {
            try environment.transaction(readOnly: true) { txn in
                var scanned = ScanBudget(environment: txn.environment)
                let long = try longEntries(txn, from: start)
                var nextLong = 0
                func emit(_ key: UnsafeRawBufferPointer, _ record: UnsafeRawBufferPointer) throws -> Bool {
                    if let end, !end.withUnsafeBytes({ precedes(key, $0) }) { return false }
                    return try body(liveEntry(key: key, record: record, txn: txn, scanned: &scanned))
                }
                var stopped = false
                try txn.forEach(live, from: start) { key, record in
                    while nextLong < long.count, precedes(long[nextLong].key, key) {
                        defer { nextLong += 1 }
                        guard try emit(long[nextLong].key, long[nextLong].record) else { stopped = true; return false }
                    }
                    guard try emit(key, record) else { stopped = true; return false }
                    return true
                }
                while !stopped, nextLong < long.count {
                    guard try emit(long[nextLong].key, long[nextLong].record) else { break }
                    nextLong += 1
                }
            }
        }
    }

    /// Keys that cut the live entries into `parts` ranges of about the same number
    /// of entries, in order (fewer when there are fewer entries): the boundaries
    /// for scanning ranges in parallel with `forEachLive(from:until:)`. A walk over
    /// the keys only, which costs a small fraction of a scan that reads values.
    public func splitKeys(into parts: Int) throws -> [[UInt8]] {
        guard parts > 1 else { return [] }
        return try Self.storage(directory) {
            try environment.transaction(readOnly: true) { txn in
                let total = try txn.count(live)
                guard total >= parts else { return [] }
                var boundaries: [[UInt8]] = []
                var seen = 0
                var next = total / parts
                var scanned = ScanBudget(environment: txn.environment)
                try txn.forEach(live) { key, record in
                    scanned.add(key.count + record.count)
                    if seen == next {
                        boundaries.append(Array(key))
                        next = total * (boundaries.count + 1) / parts
                    }
                    seen += 1
                    return boundaries.count < parts - 1
                }
                return boundaries
            }
        }
    }

    /// The keys LMDB could not hold (`live-long`), from `start` on, sorted by key.
    /// Views into the map, valid for the transaction: 32 bytes of memory per such key.
    private func longEntries(_ txn: LMDBTransaction, from start: [UInt8]?) throws
        -> [(key: UnsafeRawBufferPointer, record: UnsafeRawBufferPointer)] {
        var entries: [(key: UnsafeRawBufferPointer, record: UnsafeRawBufferPointer)] = []
        try txn.forEach(longLive) { _, value in
            guard let entry = IndexRecord.readLongKeyValue(value) else {
                throw IndexError.corruptRecord(path: directory, detail: "bad long-key record")
            }
            if let start, start.withUnsafeBytes({ precedes(entry.key, $0) }) { return true }
            entries.append(entry)
            return true
        }
        entries.sort { precedes($0.key, $1.key) }
        return entries
    }

    /// Decodes a `live` record in place, following a snapshot's reference into `history`.
    private func liveEntry(key: UnsafeRawBufferPointer, record: UnsafeRawBufferPointer, txn: LMDBTransaction,
                           scanned: inout ScanBudget) throws -> EntryView {
        guard record.count > IndexRecord.headerSize else { throw IndexError.corruptRecord(path: directory, detail: "short live record") }
        let header = UnsafeRawBufferPointer(rebasing: record[..<IndexRecord.headerSize])
        let payload = UnsafeRawBufferPointer(rebasing: record[(IndexRecord.headerSize + 1)...])
        switch record[IndexRecord.headerSize] {
        case IndexRecord.inlineTag:
            scanned.add(record.count)
            return EntryView(key: key, header: header, value: payload)
        case IndexRecord.referenceTag:
            guard payload.count == IndexRecord.revisionKeySize, let stored = try txn.get(history, key: payload) else {
                throw IndexError.corruptRecord(path: directory, detail: "live record points to a missing revision")
            }
            // A lookup lands anywhere in the history, and each page fault maps
            // up to 64 KiB around it (the kernel's fault-around): count that.
            scanned.add(record.count + max(stored.count, ScanBudget.faultAround))
            return EntryView(key: key, header: header, value: try Self.historyEntry(stored, path: directory).value)
        default:
            throw IndexError.corruptRecord(path: directory, detail: "unknown live record tag")
        }
    }

    /// Visits every kept revision in revision order (snapshots only; empty otherwise).
    public func forEachRevision(_ body: (RevisionView) throws -> Bool) throws {
        let path = directory
        try Self.storage(path) {
            try environment.transaction(readOnly: true) { txn in
                var scanned = ScanBudget(environment: txn.environment)
                try txn.forEach(history) { key, record in
                    guard key.count == 17 || key.count == 18 else { throw IndexError.corruptRecord(path: path, detail: "bad history key") }
                    let main = Int64(bitPattern: UInt64(bigEndian: key.loadUnaligned(fromByteOffset: 0, as: UInt64.self)))
                    let sub = Int64(bitPattern: UInt64(bigEndian: key.loadUnaligned(fromByteOffset: 9, as: UInt64.self)))
                    scanned.add(record.count)
                    return try body(RevisionView(revision: Revision(main: main, sub: sub), tombstone: key.count == 18,
                                                 entry: try Self.historyEntry(record, path: path)))
                }
            }
        }
    }

    /// Releases the mapped pages a scan has read every 16 MiB (`LMDBEnvironment.releaseMappedPages`).
    private struct ScanBudget {
        /// `fault_around_bytes`' default: what one page fault may map of a file.
        static let faultAround = 64 << 10

        let environment: LMDBEnvironment
        var bytes = 0

        mutating func add(_ count: Int) {
            bytes += count
            if bytes >= 16 << 20 {
                environment.releaseMappedPages()
                bytes = 0
            }
        }
    }

    /// Decodes a `history` record in place.
    private static func historyEntry(_ record: UnsafeRawBufferPointer, path: String) throws -> EntryView {
        let keyStart = IndexRecord.headerSize + 4
        guard record.count >= keyStart else { throw IndexError.corruptRecord(path: path, detail: "short history record") }
        let keyLength = Int(UInt32(littleEndian: record.loadUnaligned(fromByteOffset: IndexRecord.headerSize, as: UInt32.self)))
        guard keyLength <= record.count - keyStart else { throw IndexError.corruptRecord(path: path, detail: "bad history key length") }
        return EntryView(key: UnsafeRawBufferPointer(rebasing: record[keyStart ..< keyStart + keyLength]),
                         header: UnsafeRawBufferPointer(rebasing: record[..<IndexRecord.headerSize]),
                         value: UnsafeRawBufferPointer(rebasing: record[(keyStart + keyLength)...]))
    }

    /// The live entry for `key`, copied out.
    public func entry(forKey key: [UInt8]) throws -> KeyValue? {
        var found: KeyValue?
        try forEachLive(from: key) { view in
            if view.key.elementsEqual(key) { found = view.keyValue }
            return false
        }
        return found
    }
}
