/// A bbolt meta page: where the root bucket and the page count are.
///
/// Layout from bbolt `db.go` (`type meta struct`, `meta.validate`, `meta.sum64`)
/// and `page.go`; spec §2.2. Pages 0 and 1 both hold one; bbolt alternates
/// between them on commit, so a reader takes the valid one with the higher
/// txid (`db.go: DB.meta`). Integers are native-endian; etcd runs on
/// little-endian hosts (big-endian files are not supported).
struct BoltMeta: Sendable, Hashable {
    static let magic: UInt32 = 0xED0C_DAED
    static let version: UInt32 = 2
    /// The meta struct starts after the 16-byte page header.
    static let offset = BoltPageHeader.size
    /// magic … checksum.
    static let structSize = 64
    /// `meta.sum64` covers the struct up to, not including, the checksum.
    static let checksummedSize = 56
    /// bbolt's `pgidNoFreelist`: etcd on Linux runs with `NoFreelistSync`.
    static let noFreelist: UInt64 = .max

    var pageSize: UInt32
    var flags: UInt32
    /// Root page of the root bucket (`meta.root.root`).
    var root: UInt64
    var sequence: UInt64
    var freelist: UInt64
    /// High-water mark: the number of pages in use (`meta.pgid`).
    var pageCount: UInt64
    var txid: UInt64
    /// Which meta page (0 or 1) this came from.
    var pageID: UInt64

    /// Parses and validates the 64-byte meta struct; `nil` plus a reason when it is not valid.
    static func parse(_ bytes: UnsafeRawBufferPointer, pageID: UInt64) -> (meta: BoltMeta?, reason: String) {
        guard bytes.count >= structSize else { return (nil, "too short") }
        let magic = bytes.boltLE32(0)
        guard magic == Self.magic else {
            return (nil, "bad magic 0x\(String(magic, radix: 16)) (expected 0x\(String(Self.magic, radix: 16)))")
        }
        let version = bytes.boltLE32(4)
        guard version == Self.version else { return (nil, "unsupported version \(version) (expected 2)") }
        let stored = bytes.boltLE64(56)
        let computed = fnv1a64(UnsafeRawBufferPointer(rebasing: bytes[0..<checksummedSize]))
        guard stored == computed else {
            return (nil, "checksum mismatch (stored 0x\(String(stored, radix: 16)), computed 0x\(String(computed, radix: 16)))")
        }
        let meta = BoltMeta(pageSize: bytes.boltLE32(8), flags: bytes.boltLE32(12), root: bytes.boltLE64(16),
                            sequence: bytes.boltLE64(24), freelist: bytes.boltLE64(32), pageCount: bytes.boltLE64(40),
                            txid: bytes.boltLE64(48), pageID: pageID)
        guard isPlausiblePageSize(UInt64(meta.pageSize)) else { return (nil, "implausible page size \(meta.pageSize)") }
        guard meta.pageCount >= 2 else { return (nil, "high-water mark \(meta.pageCount) is below the two meta pages") }
        return (meta, "")
    }

    /// bbolt takes the page size from the OS; anything else is corruption.
    static func isPlausiblePageSize(_ size: UInt64) -> Bool {
        size >= 512 && size <= 65536 && size & (size - 1) == 0
    }

    /// FNV-1a 64 (Go `hash/fnv.New64a`), which `meta.sum64` uses.
    static func fnv1a64(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// Finds the meta to use: page 0 first (it tells the page size), then page 1
    /// at that page size; when page 0 is unusable, page 1 is searched for at the
    /// page size page 0 claims and at every plausible page size.
    static func load(from file: SnapshotFile, databaseSize: UInt64) throws(DumpError) -> BoltMeta {
        let length = offset + structSize
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 16)
        defer { scratch.deallocate() }
        func readMeta(at pageOffset: UInt64, pageID: UInt64) throws(DumpError) -> (meta: BoltMeta?, reason: String, hintedPageSize: UInt64) {
            try file.read(into: scratch, at: pageOffset, limit: databaseSize, location: .page(pageID), what: "meta page \(pageID)")
            let body = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(scratch)[offset..<length])
            let (meta, reason) = parse(body, pageID: pageID)
            return (meta, reason, UInt64(body.boltLE32(8)))
        }

        let first = try readMeta(at: 0, pageID: 0)
        var candidates: [UInt64] = []
        if let meta0 = first.meta {
            candidates = [UInt64(meta0.pageSize)]
        } else {
            if isPlausiblePageSize(first.hintedPageSize) { candidates.append(first.hintedPageSize) }
            for size in [4096, 512, 1024, 2048, 8192, 16384, 32768, 65536] as [UInt64] where !candidates.contains(size) {
                candidates.append(size)
            }
        }
        var second: BoltMeta?
        var secondReason = "not found at any plausible page size"
        var triedAny = false
        for size in candidates where size + UInt64(length) <= databaseSize {
            triedAny = true
            let found = try readMeta(at: size, pageID: 1)
            if let meta1 = found.meta, UInt64(meta1.pageSize) == size {
                second = meta1
                break
            }
            if size == candidates.first {
                secondReason = found.meta == nil ? found.reason : "page size \(found.hintedPageSize) differs from page 0's \(size)"
            }
        }
        if second == nil, !triedAny {
            secondReason = "the file is too short to hold it"
        }

        let chosen: BoltMeta
        switch (first.meta, second) {
        case let (a?, b?): chosen = a.txid >= b.txid ? a : b
        case let (a?, nil): chosen = a
        case let (nil, b?): chosen = b
        case (nil, nil):
            throw DumpError(.badMeta, file: file.displayName, at: .page(0),
                            "both meta pages are invalid: page 0: \(first.reason); page 1: \(secondReason)")
        }

        // Every page in use must be in the file (tx.WriteTo copies them all).
        let pageSize = UInt64(chosen.pageSize)
        let (needed, overflow) = chosen.pageCount.multipliedReportingOverflow(by: pageSize)
        if overflow || needed > databaseSize {
            let firstMissing = databaseSize / pageSize
            throw DumpError(.truncated, file: file.displayName, at: .page(firstMissing),
                            "meta page \(chosen.pageID) says \(chosen.pageCount) pages of \(pageSize) bytes but the database has only \(databaseSize) bytes: truncated from page \(firstMissing) on")
        }
        return chosen
    }
}
