/// The freelist page a meta names: the page ids bbolt may hand out again.
///
/// Layout from bbolt `internal/common/page.go` (`FreelistPageCount`,
/// `FreelistPageIds`) and `internal/freelist/shared.go` (`Read`, `Write`): flag
/// 0x10, then `count` page ids of 8 bytes after the header; when there are
/// 0xFFFF or more, `count` is 0xFFFF and the first u64 holds the real count. The
/// ids are streamed, a chunk at a time, so a long freelist costs no memory.
enum BoltFreelist {
    /// Bytes of ids read at a time.
    static let chunkSize = 64 << 10

    enum Outcome {
        /// Read: the freelist spans this many overflow pages after its first.
        case read(overflow: UInt64)
        /// The page's header is not a freelist's: the caller decides (see `BoltTree.loadFreelist`).
        case notAFreelist(BoltPageHeader)
    }

    /// Reads the freelist at page `id` of a database of `meta.pageCount` pages and
    /// calls `each` with every id it lists, in the order stored (bbolt writes them
    /// sorted).
    ///
    /// A page id that is a meta page or past the high-water mark, and a freelist
    /// page whose count or overflow runs past its pages or the high-water mark (bbolt
    /// would read out of bounds), are `.badFreelist` errors.
    static func read(_ id: UInt64, file: SnapshotFile, meta: BoltMeta, databaseSize: UInt64,
                     each: (UInt64) -> Void) throws(DumpError) -> Outcome {
        let name = file.displayName
        func bad(_ message: String) -> DumpError { DumpError(.badFreelist, file: name, at: .page(id), message) }
        guard id >= 2 else { throw bad("the meta's freelist is page \(id), a meta page") }
        guard id < meta.pageCount else {
            throw bad("the meta's freelist page \(id) is beyond its high-water mark (\(meta.pageCount) pages)")
        }
        let pageSize = UInt64(meta.pageSize)
        let start = id * pageSize  // id < pageCount, and pageCount × pageSize <= databaseSize (BoltMeta.load)
        let headerSize = BoltPageHeader.size + 8
        let header = UnsafeMutableRawBufferPointer.allocate(byteCount: headerSize, alignment: 16)
        defer { header.deallocate() }
        try file.read(into: header, at: start, limit: databaseSize, location: .page(id), what: "freelist page \(id)")
        let page = BoltPageHeader(UnsafeRawBufferPointer(header))
        guard page.id == id, page.flags == BoltPageFlags.freelist else { return .notAFreelist(page) }
        let overflow = UInt64(page.overflow)
        guard overflow < meta.pageCount - id else {
            throw bad("freelist page \(id) claims \(overflow) overflow pages, past the meta's high-water mark (\(meta.pageCount) pages)")
        }
        let span = (overflow + 1) * pageSize
        var skip: UInt64 = 0
        var count = UInt64(page.count)
        if page.count == 0xFFFF {
            skip = 1
            count = UnsafeRawBufferPointer(header).boltLE64(BoltPageHeader.size)
        }
        // Checked by division, so a hostile count cannot overflow the product.
        guard count <= (span - UInt64(BoltPageHeader.size)) / 8 - skip else {
            throw bad("freelist page \(id) lists \(count) page ids, which do not fit in its \(span) bytes (\(overflow + 1) pages)")
        }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { chunk.deallocate() }
        var offset = start + UInt64(BoltPageHeader.size) + skip * 8
        var left = count * 8
        while left > 0 {
            let length = Int(min(left, UInt64(chunkSize)))
            let part = UnsafeMutableRawBufferPointer(rebasing: chunk[0..<length])
            try file.read(into: part, at: offset, limit: databaseSize, location: .page(id), what: "freelist page \(id)")
            let ids = UnsafeRawBufferPointer(part)
            for index in stride(from: 0, to: length, by: 8) { each(ids.boltLE64(index)) }
            offset += UInt64(length)
            left -= UInt64(length)
        }
        return .read(overflow: overflow)
    }

    /// Why a page that is not a freelist's cannot be read as one (bbolt `shared.go: Read` panics).
    static func notAFreelist(_ id: UInt64, _ page: BoltPageHeader, file: String) -> DumpError {
        let reason = page.id != id ? "has id \(page.id) in its header"
            : "has flags 0x\(String(page.flags, radix: 16)), expected a freelist page (0x10)"
        return DumpError(.badFreelist, file: file, at: .page(id), "freelist page \(id) \(reason)")
    }
}
