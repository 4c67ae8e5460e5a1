#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The revisions a salvage recovers, handed out in revision order, the first copy
/// found of each, in memory bounded whatever the file holds.
///
/// Why: a page scan finds revisions in page order, and a sink (the index) takes
/// them in revision order; a crafted file of many copies of one leaf page would
/// otherwise have every entry held at once (the security review's D13: 410 MB of
/// input, 892 MB resident). Recovered elements are kept as found (the raw
/// `KeyValue` bytes) in a run of at most `runBudget` bytes; a full run is sorted
/// and written to an unlinked temporary file, and the runs are merged at the end,
/// one record of each in memory (an external merge sort). A salvage that fits in
/// one run never touches the disk.
final class SalvageRuns {
    /// Bytes of records and their index held before a run is written out.
    static let defaultRunBudget = 32 << 20
    /// Bytes buffered for reading all runs back, shared between them.
    static let mergeBudget = 16 << 20
    /// A record on disk: main, sub (8 bytes each), tombstone (1), length (4), then the bytes.
    static let recordHeaderSize = 21
    /// Held per recovered revision besides its bytes (the index entry).
    static let indexEntryCost = MemoryLayout<Item>.stride

    struct Item {
        var revision: Revision
        var tombstone: Bool
        var offset: Int
        var length: Int
    }

    private let runBudget: Int
    private var arena: [UInt8] = []
    private var items: [Item] = []
    private var runs: [(start: UInt64, end: UInt64)] = []
    private var spill: SpillFile?
    private let displayName: String

    init(displayName: String, runBudget: Int = SalvageRuns.defaultRunBudget) {
        self.displayName = displayName
        self.runBudget = runBudget
    }

    /// Keeps one recovered element (its raw `KeyValue` bytes).
    func add(_ revision: Revision, tombstone: Bool, _ bytes: UnsafeRawBufferPointer) throws {
        if arena.capacity == 0 { arena.reserveCapacity(runBudget) }
        items.append(Item(revision: revision, tombstone: tombstone, offset: arena.count, length: bytes.count))
        arena.append(contentsOf: bytes)
        if arena.count + items.count * Self.indexEntryCost >= runBudget { try writeRun() }
    }

    /// Hands out every revision once, in revision order, the first copy found;
    /// returns how many and the last one.
    func deliver(_ each: (Revision, Bool, UnsafeRawBufferPointer) throws -> Void) throws -> (count: Int, last: Revision?) {
        guard let spill else {
            sortAndDeduplicate()
            var last: Revision?
            try arena.withUnsafeBytes { bytes in
                for item in items {
                    try each(item.revision, item.tombstone, UnsafeRawBufferPointer(rebasing: bytes[item.offset..<(item.offset + item.length)]))
                    last = item.revision
                }
            }
            return (items.count, last)
        }
        if !items.isEmpty { try writeRun() }
        return try merge(spill, each)
    }

    /// Sorts the held items by revision, in place, keeping the first copy of each
    /// (items are added in the order found, so their arena offsets tell that order).
    private func sortAndDeduplicate() {
        items.sort { a, b in a.revision != b.revision ? a.revision < b.revision : a.offset < b.offset }
        var kept = 0
        for index in items.indices where kept == 0 || items[kept - 1].revision != items[index].revision {
            items[kept] = items[index]
            kept += 1
        }
        items.removeLast(items.count - kept)
    }

    private func writeRun() throws {
        if spill == nil { spill = try SpillFile(displayName: displayName) }
        guard let spill else { return }
        sortAndDeduplicate()
        let start = spill.size
        var header = [UInt8](repeating: 0, count: Self.recordHeaderSize)
        for item in items {
            withUnsafeBytes(of: UInt64(bitPattern: item.revision.main).bigEndian) { header.replaceSubrange(0..<8, with: $0) }
            withUnsafeBytes(of: UInt64(bitPattern: item.revision.sub).bigEndian) { header.replaceSubrange(8..<16, with: $0) }
            header[16] = item.tombstone ? 1 : 0
            withUnsafeBytes(of: UInt32(item.length).bigEndian) { header.replaceSubrange(17..<21, with: $0) }
            try spill.append(header)
            try arena.withUnsafeBytes { bytes in
                try spill.append(UnsafeRawBufferPointer(rebasing: bytes[item.offset..<(item.offset + item.length)]))
            }
        }
        try spill.flush()
        runs.append((start, spill.size))
        arena.removeAll(keepingCapacity: true)
        items.removeAll(keepingCapacity: true)
    }

    /// Merges the sorted runs: a heap of each run's next record, ties to the run
    /// written first (its copy was found first).
    private func merge(_ spill: SpillFile, _ each: (Revision, Bool, UnsafeRawBufferPointer) throws -> Void) throws -> (count: Int, last: Revision?) {
        arena = []
        items = []
        let bufferSize = max(16 << 10, min(1 << 20, Self.mergeBudget / max(runs.count, 1)))
        var readers = runs.map { RunReader(spill: spill, start: $0.start, end: $0.end, bufferSize: bufferSize) }
        var heap = MinHeap()
        for index in readers.indices {
            if let head = try readers[index].nextHeader() { heap.push((head.revision, index)) }
        }
        var count = 0
        var last: Revision?
        while let (revision, index) = heap.pop() {
            let body = try readers[index].body()
            if last != revision {
                try each(revision, readers[index].head.tombstone, body)
                count += 1
                last = revision
            }
            if let head = try readers[index].nextHeader() { heap.push((head.revision, index)) }
        }
        return (count, last)
    }
}

/// One sorted run of the spill file, read back through a buffer of its own.
private struct RunReader {
    let spill: SpillFile
    var position: UInt64
    let end: UInt64
    let buffer: BoltPageBuffer
    let bufferSize: Int
    /// The record whose header was read last.
    var head = SalvageRuns.Item(revision: Revision(main: 0, sub: 0), tombstone: false, offset: 0, length: 0)
    /// Bytes valid in the buffer, and where in the file they start.
    var filled = 0
    var bufferStart: UInt64 = 0

    init(spill: SpillFile, start: UInt64, end: UInt64, bufferSize: Int) {
        self.spill = spill
        self.position = start
        self.end = end
        self.bufferSize = bufferSize
        self.buffer = BoltPageBuffer(capacity: bufferSize)
    }

    /// The bytes at `position..<position + count`, from the buffer, refilled as needed.
    private mutating func bytes(_ count: Int) throws(DumpError) -> UnsafeRawBufferPointer {
        if position < bufferStart || position + UInt64(count) > bufferStart + UInt64(filled) {
            let length = max(count, min(bufferSize, Int(end - position)))
            buffer.reserve(length)
            try spill.read(into: UnsafeMutableRawBufferPointer(start: buffer.pointer, count: length), at: position)
            bufferStart = position
            filled = length
        }
        let from = Int(position - bufferStart)
        position += UInt64(count)
        return UnsafeRawBufferPointer(start: buffer.pointer + from, count: count)
    }

    mutating func nextHeader() throws(DumpError) -> SalvageRuns.Item? {
        guard position < end else { return nil }
        let header = try bytes(SalvageRuns.recordHeaderSize)
        head = SalvageRuns.Item(revision: Revision(main: Int64(bitPattern: header.boltBE64(0)), sub: Int64(bitPattern: header.boltBE64(8))),
                                tombstone: header[16] != 0, offset: 0,
                                length: Int(UInt32(bigEndian: header.loadUnaligned(fromByteOffset: 17, as: UInt32.self))))
        return head
    }

    mutating func body() throws(DumpError) -> UnsafeRawBufferPointer { try bytes(head.length) }
}

/// A binary min-heap of (revision, run), ties to the lower run.
private struct MinHeap {
    private var elements: [(Revision, Int)] = []

    private static func less(_ a: (Revision, Int), _ b: (Revision, Int)) -> Bool {
        a.0 != b.0 ? a.0 < b.0 : a.1 < b.1
    }

    mutating func push(_ element: (Revision, Int)) {
        elements.append(element)
        var child = elements.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.less(elements[child], elements[parent]) else { break }
            elements.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (Revision, Int)? {
        guard let top = elements.first else { return nil }
        let last = elements.removeLast()
        guard !elements.isEmpty else { return top }
        elements[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < elements.count, Self.less(elements[left], elements[smallest]) { smallest = left }
            if right < elements.count, Self.less(elements[right], elements[smallest]) { smallest = right }
            guard smallest != parent else { break }
            elements.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}

/// A temporary file that no directory names: created in the temporary directory
/// (`TMPDIR`) with mode 0600 and unlinked at once, so it goes away with its
/// descriptor whatever happens to the process. Written through a 1 MiB buffer.
final class SpillFile {
    private let descriptor: Int32
    private let displayName: String
    private(set) var size: UInt64 = 0
    private var pending: [UInt8] = []
    private static let flushSize = 1 << 20

    init(displayName: String) throws(DumpError) {
        self.displayName = displayName
        let directory = FileManager.default.temporaryDirectory.path
        var template = Array("\(directory)/atrest-salvage-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { $0.baseAddress.map { mkstemp($0) } ?? -1 }
        guard fd >= 0 else {
            throw DumpError(.io, file: displayName, at: .file,
                            "--salvage cannot create its temporary file in \(directory): \(String(cString: strerror(errno)))")
        }
        template.withUnsafeBufferPointer { _ = $0.baseAddress.map { unlink($0) } }
        descriptor = fd
        pending.reserveCapacity(Self.flushSize)
    }

    deinit { close(descriptor) }

    func append(_ bytes: some Collection<UInt8>) throws(DumpError) {
        pending.append(contentsOf: bytes)
        if pending.count >= Self.flushSize { try flush() }
    }

    func flush() throws(DumpError) {
        var done = 0
        while done < pending.count {
            let n = pending.withUnsafeBytes { bytes in
                bytes.baseAddress.map { pwrite(descriptor, $0 + done, bytes.count - done, off_t(size + UInt64(done))) } ?? 0
            }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                throw DumpError(.io, file: displayName, at: .file, "--salvage cannot write its temporary file: \(String(cString: strerror(errno)))")
            }
            done += n
        }
        size += UInt64(pending.count)
        pending.removeAll(keepingCapacity: true)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(DumpError) {
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, base + done, buffer.count - done, off_t(offset + UInt64(done)))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                throw DumpError(.io, file: displayName, at: .file, "--salvage cannot read its temporary file back")
            }
            done += n
        }
    }
}
