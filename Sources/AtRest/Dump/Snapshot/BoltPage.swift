/// bbolt page flags (bbolt `page.go`: `branchPageFlag`, `leafPageFlag`, …).
enum BoltPageFlags {
    static let branch: UInt16 = 0x01
    static let leaf: UInt16 = 0x02
    static let meta: UInt16 = 0x04
    static let freelist: UInt16 = 0x10
    /// Leaf element flag: the value is a sub-bucket header (`bucketLeafFlag`).
    static let bucketLeaf: UInt32 = 0x01
}

/// The 16-byte header every bbolt page starts with (bbolt `page.go: type page`).
struct BoltPageHeader: Sendable, Hashable {
    static let size = 16
    var id: UInt64
    var flags: UInt16
    var count: UInt16
    var overflow: UInt32

    /// `bytes` must hold at least `size` bytes (callers check).
    init(_ bytes: UnsafeRawBufferPointer) {
        id = bytes.boltLE64(0)
        flags = bytes.boltLE16(8)
        count = bytes.boltLE16(10)
        overflow = bytes.boltLE32(12)
    }
}

/// One leaf element: a key and its value, or a sub-bucket header when
/// `isBucket`. The views point into a page buffer and are valid only during the
/// visitor call that receives them.
struct BoltLeafElement {
    var flags: UInt32
    var key: UnsafeRawBufferPointer
    var value: UnsafeRawBufferPointer
    /// The page the element was read from (for inline buckets: the page holding the bucket).
    var pageID: UInt64

    var isBucket: Bool { flags & BoltPageFlags.bucketLeaf != 0 }
}

/// A branch or leaf page image in memory, with bounds-checked element access.
///
/// Why the checks: a hostile file controls every `pos`, `ksize`, `vsize` and
/// `count`; bbolt trusts them (`page.go: leafPageElement.key()` is pointer
/// arithmetic), atrest must not. All arithmetic is done in `UInt64` on `UInt32`
/// inputs, so it cannot overflow, and every range is checked against the span.
struct BoltPage {
    static let elementSize = 16

    let bytes: UnsafeRawBufferPointer
    let header: BoltPageHeader
    /// The page id used in errors (the id it was reached by).
    let pageID: UInt64
    let file: String

    /// Parses the header; checks that the elements array fits in the span.
    init(_ bytes: UnsafeRawBufferPointer, pageID: UInt64, file: String) throws(DumpError) {
        guard bytes.count >= BoltPageHeader.size else {
            throw DumpError(.badPage, file: file, at: .page(pageID), "page image of \(bytes.count) bytes is shorter than a page header")
        }
        self.bytes = bytes
        self.header = BoltPageHeader(bytes)
        self.pageID = pageID
        self.file = file
        let elementsEnd = BoltPageHeader.size + Int(header.count) * Self.elementSize
        guard elementsEnd <= bytes.count else {
            throw DumpError(.badPage, file: file, at: .page(pageID),
                            "page \(pageID) claims \(header.count) elements, which do not fit in its \(bytes.count) bytes")
        }
    }

    var isBranch: Bool { header.flags == BoltPageFlags.branch }
    var isLeaf: Bool { header.flags == BoltPageFlags.leaf }
    var count: Int { Int(header.count) }

    /// Branch element `index`: the child page id (bbolt `branchPageElement`: pos u32, ksize u32, pgid u64).
    /// The key (the child's first key) is checked to be inside the page but not returned: the walk does not need it.
    func branchChild(_ index: Int) throws(DumpError) -> UInt64 {
        let address = BoltPageHeader.size + index * Self.elementSize
        let pos = UInt64(bytes.boltLE32(address))
        let keySize = UInt64(bytes.boltLE32(address + 4))
        let child = bytes.boltLE64(address + 8)
        let keyEnd = UInt64(address) + pos + keySize
        guard keyEnd <= UInt64(bytes.count) else {
            throw DumpError(.badPage, file: file, at: .page(pageID),
                            "branch element \(index) of page \(pageID) has a key at \(UInt64(address) + pos)..<\(keyEnd), outside the page's \(bytes.count) bytes")
        }
        return child
    }

    /// Branch element `index`'s key (the first key of its child's subtree), bounds-checked.
    func branchKey(_ index: Int) throws(DumpError) -> UnsafeRawBufferPointer {
        let address = BoltPageHeader.size + index * Self.elementSize
        let start = UInt64(address) + UInt64(bytes.boltLE32(address))
        let end = start + UInt64(bytes.boltLE32(address + 4))
        guard end <= UInt64(bytes.count) else {
            throw DumpError(.badPage, file: file, at: .page(pageID),
                            "branch element \(index) of page \(pageID) has a key at \(start)..<\(end), outside the page's \(bytes.count) bytes")
        }
        return UnsafeRawBufferPointer(rebasing: bytes[Int(start)..<Int(end)])
    }

    /// The key of element `index`, branch or leaf.
    func key(_ index: Int) throws(DumpError) -> UnsafeRawBufferPointer {
        isBranch ? try branchKey(index) : try leafElement(index).key
    }

    /// Checks the layout bbolt's `node.write` gives every branch and leaf page: the
    /// element array, then each element's key (and value) in element order, back to
    /// back, keys strictly increasing; leaf element flags 0 or `bucketLeafFlag`; and
    /// exactly as many overflow pages as the data needs (`node.spill` allocates
    /// `ceil(size / pageSize)` pages). Why so strict: pages carry no checksum, and a
    /// damaged `pos`, `ksize`, `vsize`, `count` or `overflow` would otherwise still
    /// point at bytes that parse, giving entries that were never written.
    /// `pageSize` is nil for an inline bucket's page image (no overflow).
    func checkLayout(pageSize: Int?) throws(DumpError) {
        var expected = UInt64(BoltPageHeader.size + count * Self.elementSize)
        var previous: UnsafeRawBufferPointer?
        for index in 0..<count {
            let address = BoltPageHeader.size + index * Self.elementSize
            let keyStart: UInt64
            let length: UInt64
            if isBranch {
                keyStart = UInt64(address) + UInt64(bytes.boltLE32(address))
                length = UInt64(bytes.boltLE32(address + 4))
            } else {
                let flags = bytes.boltLE32(address)
                guard flags & ~BoltPageFlags.bucketLeaf == 0 else {
                    throw DumpError(.badPage, file: file, at: .page(pageID),
                                    "leaf element \(index) of page \(pageID) has flags 0x\(String(flags, radix: 16)) (bbolt writes 0 or 0x1)")
                }
                keyStart = UInt64(address) + UInt64(bytes.boltLE32(address + 4))
                length = UInt64(bytes.boltLE32(address + 8)) + UInt64(bytes.boltLE32(address + 12))
            }
            guard keyStart == expected else {
                throw DumpError(.badPage, file: file, at: .page(pageID),
                                "element \(index) of page \(pageID) starts at byte \(keyStart) of the page, expected \(expected) (bbolt writes keys and values back to back)")
            }
            expected += length
            guard expected <= UInt64(bytes.count) else {
                throw DumpError(.badPage, file: file, at: .page(pageID),
                                "element \(index) of page \(pageID) ends at byte \(expected), outside the page's \(bytes.count) bytes")
            }
            let current = try key(index)
            if let previous, !previous.lexicographicallyPrecedes(current) {
                throw DumpError(.badPage, file: file, at: .page(pageID),
                                "keys of page \(pageID) are not in order at element \(index)")
            }
            previous = current
        }
        if let pageSize {
            let needed = (expected + UInt64(pageSize) - 1) / UInt64(pageSize)
            guard UInt64(header.overflow) + 1 == max(needed, 1) else {
                throw DumpError(.badPage, file: file, at: .page(pageID),
                                "page \(pageID) has \(header.overflow) overflow pages but its \(expected) bytes of data need \(max(needed, 1) - 1)")
            }
        }
    }

    /// Leaf element `index` (bbolt `leafPageElement`: flags u32, pos u32, ksize u32, vsize u32;
    /// the key is at element address + pos, the value follows the key).
    func leafElement(_ index: Int) throws(DumpError) -> BoltLeafElement {
        let address = BoltPageHeader.size + index * Self.elementSize
        let flags = bytes.boltLE32(address)
        let pos = UInt64(bytes.boltLE32(address + 4))
        let keySize = UInt64(bytes.boltLE32(address + 8))
        let valueSize = UInt64(bytes.boltLE32(address + 12))
        let keyStart = UInt64(address) + pos
        let valueEnd = keyStart + keySize + valueSize
        guard valueEnd <= UInt64(bytes.count) else {
            throw DumpError(.badPage, file: file, at: .page(pageID),
                            "leaf element \(index) of page \(pageID) spans bytes \(keyStart)..<\(valueEnd), outside the page's \(bytes.count) bytes")
        }
        let k = Int(keyStart), v = Int(keyStart + keySize)
        return BoltLeafElement(flags: flags,
                               key: UnsafeRawBufferPointer(rebasing: bytes[k..<v]),
                               value: UnsafeRawBufferPointer(rebasing: bytes[v..<Int(valueEnd)]),
                               pageID: pageID)
    }
}

extension UnsafeRawBufferPointer {
    // Unaligned loads: page images inside inline bucket values have no alignment.
    // Callers guarantee `offset + size <= count`.
    @inline(__always) func boltLE64(_ offset: Int) -> UInt64 {
        UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
    @inline(__always) func boltLE32(_ offset: Int) -> UInt32 {
        UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    @inline(__always) func boltLE16(_ offset: Int) -> UInt16 {
        UInt16(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
    @inline(__always) func boltBE64(_ offset: Int) -> UInt64 {
        UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
