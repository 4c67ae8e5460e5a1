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

    /// Reads the freelist at page `id` of a database of `meta.pageCount` pages and
    /// calls `each` with every id it lists, in the order stored (bbolt writes them
    /// sorted). Returns how many overflow pages the freelist spans after its first.
    ///
    /// Everything bbolt would panic on (`shared.go: Read`: not a freelist page) or
    /// read out of bounds (a count past the page span) is a `.badFreelist` error.
    static func read(_ id: UInt64, file: SnapshotFile, meta: BoltMeta, databaseSize: UInt64,
                     each: (UInt64) -> Void) throws(DumpError) -> UInt64 {
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
        guard page.id == id else { throw bad("freelist page \(id) has id \(page.id) in its header") }
        guard page.flags == BoltPageFlags.freelist else {
            throw bad("freelist page \(id) has flags 0x\(String(page.flags, radix: 16)), expected a freelist page (0x10)")
        }
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
        return overflow
    }
}
