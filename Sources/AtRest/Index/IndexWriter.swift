import AtRestDump
import Foundation

/// The sink that turns a reader's stream into an index.
///
/// Writes in batches (one write transaction per ~32 MiB), so memory stays bounded
/// whatever the input size. Snapshot history is replayed as etcd does at start-up
/// (`mvcc/kvstore.go` `restore`): a put sets the key's live record, a tombstone
/// removes it, and every revision is kept in `history`.
///
/// The writer owns its open transaction, which owns the environment: released on
/// any path (a reader that throws included), the transaction aborts first and the
/// environment closes after it.
final class IndexWriter: DumpSink {
    private var txn: LMDBTransaction
    private let live: LMDBDatabase
    private let longLive: LMDBDatabase
    private let history: LMDBDatabase
    private let refusedDB: LMDBDatabase
    private let maxKeySize: Int
    private var batchBytes = 0
    private var lastLiveKey: [UInt8]?
    private var refusedSequence: UInt64 = 0
    private(set) var counts = IndexProvenance.Counts()

    private static let batchLimit = 32 << 20

    init(environment: LMDBEnvironment) throws(LMDBError) {
        txn = try LMDBTransaction(environment: environment, readOnly: false)
        live = try txn.openDatabase(IndexLayout.liveDatabase, create: true)
        longLive = try txn.openDatabase(IndexLayout.longKeyDatabase, create: true)
        history = try txn.openDatabase(IndexLayout.historyDatabase, create: true)
        refusedDB = try txn.openDatabase(IndexLayout.refusedDatabase, create: true)
        maxKeySize = environment.maxKeySize
    }

    func live(_ entry: KeyValue) throws {
        counts.entriesRead += 1
        try putLive(entry, size: IndexRecord.inlineSize(entry)) { IndexRecord.writeInline(entry, to: $0) }
        try endBatchIfFull(adding: Self.nodeOverhead + entry.key.count + IndexRecord.inlineSize(entry))
    }

    func history(_ revision: Revision, tombstone: Bool, _ entry: KeyValue) throws {
        counts.entriesRead += 1
        counts.revisions += 1
        let revisionKey = IndexRecord.revisionKey(revision, tombstone: tombstone)
        // Revisions arrive in increasing order, so they append at the end of the B+tree.
        try revisionKey.withUnsafeBytes { key in
            try txn.put(history, key: key, reserving: IndexRecord.historySize(entry), append: true) {
                IndexRecord.writeHistory(entry, to: $0)
            }
        }
        if tombstone {
            counts.tombstones += 1
            try deleteLive(entry.key)
        } else {
            try putLive(entry, size: IndexRecord.referenceSize) {
                IndexRecord.writeReference(entry, revisionKey: revisionKey, to: $0)
            }
        }
        let written = IndexRecord.revisionKeySize + IndexRecord.historySize(entry) + entry.key.count + (tombstone ? 0 : IndexRecord.referenceSize)
        try endBatchIfFull(adding: 2 * Self.nodeOverhead + written)
    }

    func refused(_ refusal: Refusal) throws {
        counts.entriesRead += 1
        counts.refused[refusal.reason.rawValue, default: 0] += 1
        refusedSequence += 1
        let record = RefusalRecord(refusal)
        let data = try JSONEncoder().encode(record)
        try withUnsafeBytes(of: refusedSequence.bigEndian) { key in
            try data.withUnsafeBytes { try txn.put(refusedDB, key: key, value: $0, append: true) }
        }
    }

    /// Writes the final counts, provenance and completion marker, and (when `durable`) flushes to disk.
    func finish(durable: Bool, _ provenance: (IndexProvenance.Counts) -> IndexProvenance) throws -> IndexProvenance {
        var final = counts
        final.liveKeys = try txn.count(live) + txn.count(longLive)
        let result = provenance(final)
        let meta = try txn.openDatabase(IndexLayout.metaDatabase, create: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try put(meta, IndexLayout.schemaKey, Array(String(IndexProvenance.currentSchemaVersion).utf8))
        try put(meta, IndexLayout.provenanceKey, Array(try encoder.encode(result)))
        try put(meta, IndexLayout.completeKey, Array("1".utf8))
        let environment = txn.environment
        try txn.commit()
        if durable { try environment.sync() }
        return result
    }

    private func put(_ db: LMDBDatabase, _ key: String, _ value: [UInt8]) throws {
        try Array(key.utf8).withUnsafeBytes { k in try value.withUnsafeBytes { try txn.put(db, key: k, value: $0) } }
    }

    /// Whether LMDB can hold `key` as a key of its own (it refuses empty keys and
    /// keys over its limit; etcd has no such limit).
    private func fitsLMDB(_ key: [UInt8]) -> Bool { !key.isEmpty && key.count <= maxKeySize }

    private func putLive(_ entry: KeyValue, size: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) throws {
        guard fitsLMDB(entry.key) else {
            try IndexRecord.longKey(entry.key).withUnsafeBytes { digest in
                try txn.put(longLive, key: digest, reserving: IndexRecord.longKeyPrefixSize(entry.key) + size) { out in
                    IndexRecord.writeLongKeyPrefix(entry.key, to: out)
                    fill(UnsafeMutableRawBufferPointer(rebasing: out[IndexRecord.longKeyPrefixSize(entry.key)...]))
                }
            }
            return
        }
        // Exports list keys in ascending byte order (etcd's range order), which is
        // also LMDB's order: append when it holds, ordinary put otherwise.
        var append = false
        if let last = lastLiveKey { append = precedes(last, entry.key) } else { append = true }
        if append { lastLiveKey = entry.key }
        try entry.key.withUnsafeBytes { key in
            do {
                try txn.put(live, key: key, reserving: size, append: append, fill: fill)
            } catch let error as LMDBError where error.isKeyExists && append {
                try txn.put(live, key: key, reserving: size, fill: fill)
            }
        }
    }

    private func deleteLive(_ key: [UInt8]) throws {
        if fitsLMDB(key) {
            try key.withUnsafeBytes { _ = try txn.delete(live, key: $0) }
        } else {
            try IndexRecord.longKey(key).withUnsafeBytes { _ = try txn.delete(longLive, key: $0) }
        }
    }

    /// What LMDB adds to each record it stores: a node header (8 bytes), its slot in the page (2) and
    /// the page's own header spread over its records, rounded up.
    private static let nodeOverhead = 16

    /// Commits the batch once the records written in it, counted as LMDB stores them, reach the limit.
    /// Counting only keys and values let millions of empty entries (a crafted salvage, an export of
    /// empty values) pile up in one transaction's dirty pages: 573 MB for 8.7M empty revisions.
    private func endBatchIfFull(adding bytes: Int) throws {
        batchBytes += bytes
        guard batchBytes >= Self.batchLimit else { return }
        let environment = txn.environment
        try txn.commit()
        environment.releaseMappedPages()
        txn = try LMDBTransaction(environment: environment, readOnly: false)
        batchBytes = 0
    }
}

/// A refusal as stored in the index (`refused` database), for later listing.
public struct RefusalRecord: Codable, Sendable, Hashable {
    public var reason: String
    public var file: String
    public var location: String
    /// The key, hex-encoded, when it was read.
    public var keyHex: String?

    init(_ refusal: Refusal) {
        reason = refusal.reason.rawValue
        file = refusal.file
        location = refusal.location.description
        keyHex = refusal.key?.hexString
    }
}
