#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Read-only, random-access view of a snapshot file through `pread`.
///
/// Why `pread` and not `mmap` or reading everything: real snapshots reach several
/// GiB, and a reader must keep its memory bounded whatever the file size; a page is
/// read only when the tree walk reaches it, into a buffer that is reused. Why
/// read-only: opening evidence read-write with bbolt rewrites it (spec §2.2), so
/// this type never writes and never takes a lock.
final class SnapshotFile: Sendable {
    /// The name used in every error (as given on the command line).
    let displayName: String
    /// The size of the file in bytes, trailer included, taken once at open.
    let size: UInt64
    private let descriptor: Int32

    init(path: String, displayName: String) throws(DumpError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw DumpError(.io, file: displayName, at: .file, "cannot open: \(Self.errnoDescription())")
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = Self.errnoDescription()
            close(fd)
            throw DumpError(.io, file: displayName, at: .file, "cannot stat: \(reason)")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw DumpError(.io, file: displayName, at: .file, "not a regular file (a snapshot must be a file)")
        }
        self.descriptor = fd
        self.displayName = displayName
        self.size = UInt64(max(0, info.st_size))
    }

    deinit { close(descriptor) }

    /// Fills `buffer` completely with the bytes at `offset`, which must end at or
    /// before `limit` (the end of the bbolt database, i.e. before any trailer).
    ///
    /// A range past `limit`, or a file that turns out shorter than its size at
    /// open, is `.truncated`; `location` names the page (or byte) being read.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64, limit: UInt64,
              location: Location, what: @autoclosure () -> String) throws(DumpError) {
        let count = UInt64(buffer.count)
        let (end, overflow) = offset.addingReportingOverflow(count)
        guard !overflow, end <= limit, limit <= size else {
            throw DumpError(.truncated, file: displayName, at: location,
                            "\(what()) needs bytes \(offset)..<\(overflow ? UInt64.max : end) but the database ends at byte \(min(limit, size))")
        }
        guard let base = buffer.baseAddress, count > 0 else { return }
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, base + done, buffer.count - done, off_t(offset + UInt64(done)))
            if n < 0 {
                if errno == EINTR { continue }
                throw DumpError(.io, file: displayName, at: .byte(offset + UInt64(done)),
                                "read failed: \(Self.errnoDescription())")
            }
            if n == 0 {
                throw DumpError(.truncated, file: displayName, at: location,
                                "\(what()): the file ended at byte \(offset + UInt64(done)) (it shrank while being read?)")
            }
            done += n
        }
    }

    /// Reads page `id` and its `overflow` continuation pages into `buffer` and
    /// returns the span, `(1 + overflow) × pageSize` bytes (bbolt `page.go`:
    /// overflow pages carry no header of their own).
    ///
    /// The id is checked against the meta's high-water mark (`pageCount`,
    /// bbolt `meta.pgid`) and against the file size before anything is read.
    func readPage(_ id: UInt64, pageSize: Int, pageCount: UInt64, limit: UInt64,
                  into buffer: BoltPageBuffer) throws(DumpError) -> UnsafeRawBufferPointer {
        guard id < pageCount else {
            throw DumpError(.pageOutOfRange, file: displayName, at: .page(id),
                            "page \(id) is beyond the meta's high-water mark (\(pageCount) pages)")
        }
        let size = UInt64(pageSize)
        let offset = id &* size  // id < pageCount, and pageCount × pageSize <= limit was checked
        buffer.reserve(pageSize)
        try read(into: UnsafeMutableRawBufferPointer(start: buffer.pointer, count: pageSize),
                 at: offset, limit: limit, location: .page(id), what: "page \(id)")
        let overflow = UInt64(UnsafeRawBufferPointer(start: buffer.pointer, count: pageSize).boltLE32(12))
        guard overflow > 0 else { return UnsafeRawBufferPointer(start: buffer.pointer, count: pageSize) }
        // id + overflow < pageCount: every continuation page must be in use too.
        guard overflow < pageCount - id else {
            throw DumpError(.pageOutOfRange, file: displayName, at: .page(id),
                            "page \(id) claims \(overflow) overflow pages, past the meta's high-water mark (\(pageCount) pages)")
        }
        // The element headers are in the first page: the data they describe must need
        // exactly this many pages, so a damaged count never makes a large read.
        let first = UnsafeRawBufferPointer(start: buffer.pointer, count: pageSize)
        if let dataEnd = Self.dataEnd(ofFirstPage: first), (dataEnd + size - 1) / size != overflow + 1 {
            throw DumpError(.badPage, file: displayName, at: .page(id),
                            "page \(id) claims \(overflow) overflow pages but its elements end at byte \(dataEnd) of the page")
        }
        let span = (overflow + 1) * size
        guard span <= BoltPageBuffer.maximumSpan else {
            throw DumpError(.badPage, file: displayName, at: .page(id),
                            "page \(id) claims \(overflow) overflow pages (\(span) bytes), more than bbolt can write")
        }
        buffer.reserve(Int(span), preserving: pageSize)
        try read(into: UnsafeMutableRawBufferPointer(start: buffer.pointer + pageSize, count: Int(span) - pageSize),
                 at: offset + size, limit: limit, location: .page(id), what: "overflow of page \(id)")
        return UnsafeRawBufferPointer(start: buffer.pointer, count: Int(span))
    }

    /// Where the last element's data ends, from the headers in a branch or leaf
    /// page's first page; nil when the element array does not fit in it (the
    /// layout check after the read covers that case) or the page is neither.
    static func dataEnd(ofFirstPage page: UnsafeRawBufferPointer) -> UInt64? {
        let flags = page.boltLE16(8), count = Int(page.boltLE16(10))
        let elements = BoltPageHeader.size + count * BoltPage.elementSize
        guard count > 0, elements <= page.count else { return nil }
        let address = elements - BoltPage.elementSize
        switch flags {
        case BoltPageFlags.branch:
            return UInt64(address) + UInt64(page.boltLE32(address)) + UInt64(page.boltLE32(address + 4))
        case BoltPageFlags.leaf:
            return UInt64(address) + UInt64(page.boltLE32(address + 4)) + UInt64(page.boltLE32(address + 8)) + UInt64(page.boltLE32(address + 12))
        default:
            return nil
        }
    }

    private static func errnoDescription() -> String {
        let code = errno
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}

/// A reusable, growable byte buffer for page reads.
///
/// Why not `[UInt8]`: the tree walk keeps one buffer per tree level and hands out
/// raw views into it for every element; a class with stable raw storage avoids
/// copy-on-write checks and per-page allocations in the hot path.
final class BoltPageBuffer {
    /// bbolt's largest value (`MaxValueSize`, 2^31 − 2) plus its largest key
    /// (`MaxKeySize`, 32768) plus one page of headers: no real page span is longer.
    static let maximumSpan: UInt64 = (1 << 31) + 32768 + 65536

    private(set) var pointer: UnsafeMutableRawPointer
    private(set) var capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = max(capacity, 16)
        self.pointer = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { pointer.deallocate() }

    /// Makes room for `count` bytes, keeping the first `preserving` bytes.
    func reserve(_ count: Int, preserving: Int = 0) {
        guard count > capacity else { return }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 16)
        if preserving > 0 { grown.copyMemory(from: pointer, byteCount: min(preserving, capacity)) }
        pointer.deallocate()
        pointer = grown
        capacity = count
    }
}
