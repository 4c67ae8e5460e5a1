import AtRestDump
import CLMDB
import Foundation

/// A complete, read-only index, as later commands see it.
public final class Index {
    public let directory: String
    public let provenance: IndexProvenance
    private let environment: LMDBEnvironment
    private let live: MDB_dbi
    private let history: MDB_dbi

    /// Opens the index at `directory`, checking that it is complete and of this schema.
    public init(directory: String) throws {
        self.directory = directory
        guard Self.looksLikeIndex(directory) else { throw IndexError.notAnIndex(path: directory) }
        do {
            environment = try LMDBEnvironment(directory: directory, readOnly: true)
        } catch {
            throw IndexError.lmdb(error, path: directory)
        }
        let env = environment
        (live, history, provenance) = try env.transaction(readOnly: true) { txn in
            let meta: MDB_dbi
            do { meta = try env.openDatabase(IndexLayout.metaDatabase, in: txn, create: false) } catch { throw IndexError.incomplete(path: directory) }
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
            return (try env.openDatabase(IndexLayout.liveDatabase, in: txn, create: false),
                    try env.openDatabase(IndexLayout.historyDatabase, in: txn, create: false),
                    provenance)
        }
    }

    /// Whether `directory` holds an LMDB environment (the only thing atrest will replace).
    static func looksLikeIndex(_ directory: String) -> Bool {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else { return false }
        return Set(names).isSubset(of: ["data.mdb", "lock.mdb"]) && names.contains("data.mdb")
    }


    /// Visits every live entry in key order; `body` returns false to stop.
    public func forEachLive(from start: [UInt8]? = nil, _ body: (EntryView) throws -> Bool) throws {
        let path = directory
        let history = history
        var scanned = ScanBudget(environment: environment)
        try environment.transaction(readOnly: true) { txn in
            try txn.forEach(live, from: start) { key, record in
                guard record.count > IndexRecord.headerSize else { throw IndexError.corruptRecord(path: path, detail: "short live record") }
                let header = UnsafeRawBufferPointer(rebasing: record[..<IndexRecord.headerSize])
                let payload = UnsafeRawBufferPointer(rebasing: record[(IndexRecord.headerSize + 1)...])
                let value: UnsafeRawBufferPointer
                switch record[IndexRecord.headerSize] {
                case IndexRecord.inlineTag:
                    value = payload
                    scanned.add(record.count)
                case IndexRecord.referenceTag:
                    guard payload.count == IndexRecord.revisionKeySize, let stored = try txn.get(history, key: payload) else {
                        throw IndexError.corruptRecord(path: path, detail: "live record points to a missing revision")
                    }
                    value = try Self.historyEntry(stored, path: path).value
                    // A lookup lands anywhere in the history, and each page fault maps
                    // up to 64 KiB around it (the kernel's fault-around): count that.
                    scanned.add(record.count + max(stored.count, ScanBudget.faultAround))
                default:
                    throw IndexError.corruptRecord(path: path, detail: "unknown live record tag")
                }
                return try body(EntryView(key: key, header: header, value: value))
            }
        }
    }

    /// Visits every kept revision in revision order (snapshots only; empty otherwise).
    public func forEachRevision(_ body: (RevisionView) throws -> Bool) throws {
        let path = directory
        var scanned = ScanBudget(environment: environment)
        try environment.transaction(readOnly: true) { txn in
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
