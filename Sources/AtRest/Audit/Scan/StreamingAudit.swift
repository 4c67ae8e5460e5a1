import AtRestDump
import AtRestIndex
import Foundation

/// `atrest audit FILE` in one pass: entries are audited as the reader delivers
/// them, with no index in between.
///
/// The reader (parsing, base64, the input's SHA-256) runs on the calling thread
/// and hands batches of entries through a bounded queue to `jobs - 1` auditing
/// threads, auditing batches itself whenever they fall behind; each batch is folded on its own and the folds are merged in the order
/// the batches were read, so the result is the same as one scan's whatever the
/// number of jobs.
///
/// It needs what an index would otherwise give: keys in strictly ascending byte
/// order (etcd's range order, which every etcdctl export has). When an input
/// breaks that order, or holds history (a snapshot), the run stops with
/// `NotSequential` and the caller audits through an index instead.
public enum StreamingAudit {
    /// The input cannot be audited in one pass; build an index instead.
    public struct NotSequential: Error, Sendable {
        public var reason: String
    }

    /// Audits `inputs` in one pass. `progress` is as for `ExportReading.read`.
    public static func run(_ inputs: [String], options: ReadOptions = .init(), auditor: Auditor, jobs: Int,
                           progress: ((_ done: UInt64, _ total: UInt64?) -> Void)? = nil) throws -> (result: AuditResult, provenance: IndexProvenance) {
        let pool = FoldPool(auditor: auditor, jobs: max(1, jobs))
        defer { pool.stop() }
        var sink = AuditingSink(pool: pool)
        let summary = try ExportReading.read(inputs, options: options, into: &sink, progress: progress)
        sink.submitBatch()
        let fold = pool.finish()
        return (auditor.result(of: fold), IndexProvenance(export: summary, counts: sink.counts))
    }

    /// Audits one etcd snapshot file (`ExportReading.isSnapshotFile`) without an index,
    /// in two reads of it. The first reads only which revision of each key is the last
    /// (`LiveRevisions`); the second hands exactly the live revisions, which are what an
    /// index's live table would hold, to the auditors. Entries then arrive in revision
    /// order, not key order; the summary is the same in any order (findings are sorted,
    /// examples are the smallest keys), so the report is the one `audit --index` gives.
    public static func runSnapshot(_ path: String, options: ReadOptions = .init(), auditor: Auditor, jobs: Int,
                                   progress: ((_ done: UInt64, _ total: UInt64?) -> Void)? = nil) throws -> (result: AuditResult, provenance: IndexProvenance) {
        let pool = FoldPool(auditor: auditor, jobs: max(1, jobs))
        defer { pool.stop() }
        var revisions = LiveRevisions.Collector()
        let read: (summary: ExportSummary, second: LiveRevisionFeed)
        do {
            read = try ExportReading.readSnapshotTwice(path, options: options, into: &revisions, then: { collector in
                LiveRevisionFeed(pool: pool, live: collector.finish())
            }, progress: progress)
            if read.second.sequence != read.second.live.revisions { throw LiveRevisions.Changed() }
        } catch is LiveRevisions.Changed {
            throw DumpError(.io, file: path, at: .file,
                            "the file changed while being read (its second read holds other revisions than its first)")
        }
        var feed = read.second
        feed.batch.submit(to: pool)
        let fold = pool.finish()
        var counts = revisions.counts
        counts.liveKeys = feed.live.count
        return (auditor.result(of: fold), IndexProvenance(export: read.summary, counts: counts))
    }
}

/// Entries gathered for the pool, about 4 MiB at a time: enough to make the hand-off
/// cost nothing per entry, small enough that the queue stays a few batches deep.
///
/// Keys and values are copied back to back into one arena, so a reader can decode
/// every value into the same buffer, and a batch costs no allocation per entry: the
/// pool hands audited batches back (`FoldPool.submit`) to be filled again.
struct EntryBatch {
    /// Every entry's key, then its value.
    private var arena: [UInt8] = []
    /// Per entry, where its value starts and where it ends; its key starts where the
    /// entry before it ends (the first at 0).
    private var bounds: [Int] = []
    private static let bytesLimit = 4 << 20
    private static let countLimit = 4096

    var count: Int { bounds.count / 2 }
    var bytes: Int { arena.count }

    mutating func append(_ entry: KeyValue, submittingTo pool: FoldPool) {
        arena.append(contentsOf: entry.key)
        bounds.append(arena.count)
        arena.append(contentsOf: entry.value)
        bounds.append(arena.count)
        if count >= Self.countLimit || arena.count >= Self.bytesLimit { submit(to: pool) }
    }

    /// Hands the batch to the pool and continues with an empty one it gives back.
    mutating func submit(to pool: FoldPool) {
        guard !bounds.isEmpty else { return }
        self = pool.submit(self)
    }

    /// Empty again, keeping its storage unless one huge value made it larger than a
    /// batch is meant to be.
    mutating func empty() {
        if arena.capacity > 2 * Self.bytesLimit { arena = [] } else { arena.removeAll(keepingCapacity: true) }
        bounds.removeAll(keepingCapacity: true)
    }

    /// Calls `body` with every entry's key and value, in order.
    func forEach(_ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) {
        arena.withUnsafeBytes { arena in
            bounds.withUnsafeBufferPointer { bounds in
                var keyStart = 0
                var i = 0
                while i + 1 < bounds.count {
                    body(UnsafeRawBufferPointer(rebasing: arena[keyStart ..< bounds[i]]),
                         UnsafeRawBufferPointer(rebasing: arena[bounds[i] ..< bounds[i + 1]]))
                    keyStart = bounds[i + 1]
                    i += 2
                }
            }
        }
    }
}

/// The second read of a snapshot: passes on the live revisions, in revision order.
private struct LiveRevisionFeed: DumpSink {
    let pool: FoldPool
    let live: LiveRevisions
    var batch = EntryBatch()
    private(set) var sequence = 0

    init(pool: FoldPool, live: LiveRevisions) {
        self.pool = pool
        self.live = live
    }

    mutating func live(_ entry: KeyValue) throws {
        throw StreamingAudit.NotSequential(reason: "a snapshot delivered a live entry")
    }

    mutating func history(_ revision: Revision, tombstone: Bool, _ entry: KeyValue) throws {
        defer { sequence += 1 }
        guard try live.isLive(sequence, tombstone: tombstone) else { return }
        batch.append(entry, submittingTo: pool)
    }

    mutating func refused(_ refusal: Refusal) throws {}
}

/// The reader's side: checks key order, counts what is read, and batches entries for the pool.
private struct AuditingSink: DumpSink {
    let pool: FoldPool
    private(set) var counts = IndexProvenance.Counts()
    private var batch = EntryBatch()
    private var previousKey: [UInt8]?

    init(pool: FoldPool) { self.pool = pool }

    mutating func live(_ entry: KeyValue) throws {
        if let previousKey {
            guard precedes(previousKey, entry.key) else { throw StreamingAudit.NotSequential(reason: "keys are not in ascending order") }
        }
        previousKey = entry.key
        counts.entriesRead += 1
        counts.liveKeys += 1
        batch.append(entry, submittingTo: pool)
    }

    func history(_ revision: Revision, tombstone: Bool, _ entry: KeyValue) throws {
        throw StreamingAudit.NotSequential(reason: "the input holds history")
    }

    mutating func refused(_ refusal: Refusal) throws {
        counts.entriesRead += 1
        counts.refused[refusal.reason.rawValue, default: 0] += 1
    }

    mutating func submitBatch() { batch.submit(to: pool) }
}

/// The `jobs` auditors: `jobs - 1` threads of their own plus the reading thread,
/// each with its own `EntryAuditor` (decryption contexts), fed batches through a
/// bounded queue; every batch becomes a fold, and folds are merged in submission
/// order as soon as their predecessors are in.
///
/// The reader audits too, rather than wait on a full queue: with as many threads
/// as cores, a reader that only waited would leave its core idle whenever the
/// auditors fall behind, and one more auditing thread than cores would take the
/// reader's core share away whenever reading is the slower side.
final class FoldPool: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [(sequence: Int, batch: EntryBatch, bytes: Int)] = []
    /// Audited batches, emptied, for the reader to fill again.
    private var spare: [EntryBatch] = []
    private var queueHead = 0
    private var done: [Int: AuditFold] = [:]
    private var merged: AuditFold
    private var mergedCount = 0
    private var submitted = 0
    private let workers: Int
    private var running: Int
    private var stopping = false
    /// The reading thread's own auditor; only that thread touches it.
    private let readerTemplate: AuditFold
    /// Batches read but not yet merged: bounds memory to a few batches per thread.
    private let inFlightLimit: Int
    /// Bytes of the batches read but not yet audited. A batch of one huge value
    /// (up to the readers' 32 MiB) counts as what it is, so a hostile export of many
    /// such values cannot queue more than this, whatever the batch count.
    private var inFlightBytes = 0
    private static let inFlightBytesLimit = 64 << 20

    init(auditor: Auditor, jobs: Int) {
        merged = auditor.makeFold()
        readerTemplate = auditor.makeFold()
        workers = jobs - 1
        running = workers
        inFlightLimit = 2 * jobs + 2
        for _ in 0..<workers {
            let thread = Thread { [self] in work(auditor.makeFold()) }
            thread.name = "atrest-audit"
            thread.start()
        }
    }

    /// Queues a batch; then, while more batches wait than threads are free to take
    /// them, or the queue is over its bounds, audits the oldest waiting one itself.
    /// Returns an empty batch to fill next: an audited one when there is one.
    func submit(_ batch: EntryBatch) -> EntryBatch {
        condition.lock()
        defer { condition.unlock() }
        inFlightBytes += batch.bytes
        queue.append((submitted, batch, batch.bytes))
        submitted += 1
        condition.broadcast()
        while queue.count - queueHead > workers || submitted - mergedCount > inFlightLimit || inFlightBytes > Self.inFlightBytesLimit {
            if !helpLocked() { condition.wait() }
        }
        return spare.popLast() ?? EntryBatch()
    }

    /// Audits what is still waiting, waits for the rest, and returns the merged fold.
    func finish() -> AuditFold {
        condition.lock()
        defer { condition.unlock() }
        while mergedCount < submitted {
            if !helpLocked() { condition.wait() }
        }
        return merged
    }

    /// Ends the threads (after the batches already taken) and waits for them.
    func stop() {
        condition.lock()
        defer { condition.unlock() }
        stopping = true
        queue.removeAll()
        queueHead = 0
        condition.broadcast()
        while running > 0 { condition.wait() }
    }

    /// On the reading thread, with the lock held: audits the oldest waiting batch,
    /// if there is one, with the lock released meanwhile.
    private func helpLocked() -> Bool {
        guard case (let sequence, var batch, let bytes)? = dequeueLocked() else { return false }
        condition.unlock()
        let fold = Self.fold(&batch, from: readerTemplate)
        condition.lock()
        completeLocked(sequence, fold, consume batch, bytes: bytes)
        return true
    }

    private func work(_ template: AuditFold) {
        while case (let sequence, var batch, let bytes)? = take() {
            let fold = Self.fold(&batch, from: template)
            condition.lock()
            completeLocked(sequence, fold, consume batch, bytes: bytes)
            condition.unlock()
        }
        condition.lock()
        running -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Audits `batch` into a fold, then empties it for reuse (in place: it is the only copy).
    private static func fold(_ batch: inout EntryBatch, from template: AuditFold) -> AuditFold {
        var fold = template.emptied()
        batch.forEach { key, value in _ = fold.add(key: key, value: value) }
        batch.empty()
        return fold
    }

    /// Records a batch's fold, keeps the emptied batch for reuse, and merges every fold
    /// whose predecessors are all in.
    private func completeLocked(_ sequence: Int, _ fold: AuditFold, _ batch: consuming EntryBatch, bytes: Int) {
        inFlightBytes -= bytes
        spare.append(batch)
        done[sequence] = fold
        while let next = done.removeValue(forKey: mergedCount) {
            merged.merge(next)
            mergedCount += 1
        }
        condition.broadcast()
    }

    private func take() -> (Int, EntryBatch, Int)? {
        condition.lock()
        defer { condition.unlock() }
        while queueHead == queue.count && !stopping { condition.wait() }
        if stopping { return nil }
        return dequeueLocked()
    }

    private func dequeueLocked() -> (Int, EntryBatch, Int)? {
        guard queueHead < queue.count else { return nil }
        let next = queue[queueHead]
        queue[queueHead].batch = EntryBatch()
        queueHead += 1
        if queueHead == queue.count { queue.removeAll(keepingCapacity: true); queueHead = 0 }
        return next
    }
}
