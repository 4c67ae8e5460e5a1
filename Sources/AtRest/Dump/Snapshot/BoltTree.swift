/// Where a bucket's B+tree starts.
///
/// bbolt `bucket.go`: a bucket value is `{root pgid u64, sequence u64}`; when
/// `root == 0` the bucket is inline and the rest of the value is a whole page
/// image (`Bucket.openBucket`, `inlineable`).
enum BoltBucketRoot {
    case page(UInt64)
    /// An inline bucket's page image, and the page the bucket value was found on.
    case inline([UInt8], foundOn: UInt64)

    static let headerSize = 16

    /// The page the bucket is found on (inline) or starts at.
    var foundOn: UInt64 {
        switch self {
        case .page(let id): return id
        case .inline(_, let page): return page
        }
    }

    /// Parses a bucket value (a leaf element with `bucketLeafFlag`).
    init(bucketValue value: UnsafeRawBufferPointer, foundOn pageID: UInt64, name: String, file: String) throws(DumpError) {
        guard value.count >= Self.headerSize else {
            throw DumpError(.badPage, file: file, at: .page(pageID),
                            "bucket \(name) on page \(pageID) has a \(value.count)-byte header (expected at least 16)")
        }
        let root = value.boltLE64(0)
        if root == 0 {
            self = .inline(Array(UnsafeRawBufferPointer(rebasing: value[Self.headerSize...])), foundOn: pageID)
        } else {
            self = .page(root)
        }
    }
}

/// Walks bbolt B+trees from a root, in key order, one page at a time.
///
/// Why this shape: memory stays bounded by the tree depth (one reusable buffer
/// per level), not by the number of leaves; every page id, flag and element is
/// checked before use (bbolt `page.go`, `bucket.go`, `cursor.go` trust them);
/// a page reached twice, or overlapping another page's overflow span, is a
/// cycle or corruption and stops the walk, so hostile input can never loop.
/// The visited set is one bit per page in use (`meta.pgid` bits) and is shared
/// by every walk of one read: bbolt never shares a page between buckets.
final class BoltTree {
    /// bbolt never comes close: with ≥ 2 keys per page, 64 levels hold 2^64 keys.
    static let maximumDepth = 64

    let file: SnapshotFile
    let meta: BoltMeta
    let databaseSize: UInt64
    /// Bytes of pages read so far (page spans, overflow included).
    private(set) var bytesRead: UInt64 = 0

    private let pageSize: Int
    private var visited: [UInt64]
    private var buffers: [BoltPageBuffer] = []
    private var leafDepth: Int?
    private let progress: ((UInt64, UInt64) -> Void)?
    private var lastReported: UInt64 = 0
    private static let progressStep: UInt64 = 1 << 20

    init(file: SnapshotFile, meta: BoltMeta, databaseSize: UInt64, progress: ((UInt64, UInt64) -> Void)?) {
        self.file = file
        self.meta = meta
        self.databaseSize = databaseSize
        self.pageSize = Int(meta.pageSize)
        // pageCount × pageSize <= databaseSize was checked by BoltMeta.load, so this is bounded by the file.
        self.visited = [UInt64](repeating: 0, count: Int((meta.pageCount + 63) / 64))
        self.progress = progress
    }

    /// Calls `visit` for every leaf element of the tree at `root`, in key order.
    func walk(_ root: BoltBucketRoot, _ visit: (BoltLeafElement) throws -> Void) throws {
        leafDepth = nil
        switch root {
        case .page(let id):
            try walkPage(id, depth: 0, visit)
        case .inline(let image, let foundOn):
            try image.withUnsafeBytes { (bytes) throws in
                let page = try BoltPage(bytes, pageID: foundOn, file: file.displayName)
                // bbolt writes inline buckets only as single leaf pages (`Bucket.inlineable`).
                guard page.isLeaf, page.header.overflow == 0 else {
                    throw DumpError(.badPage, file: file.displayName, at: .page(foundOn),
                                    "inline bucket on page \(foundOn) is not a leaf page image (flags 0x\(String(page.header.flags, radix: 16)), overflow \(page.header.overflow))")
                }
                try page.checkLayout(pageSize: nil)
                for index in 0..<page.count { try visit(try page.leafElement(index)) }
            }
        }
    }

    /// Reports the final progress (the walk does not read unreachable pages).
    func reportFinished() {
        progress?(databaseSize, databaseSize)
    }

    /// Walks the subtree at `id`, whose keys must lie in `lower..<upper` (the
    /// parent's branch keys; nil: unbounded), as bbolt's `tx.Check` requires.
    private func walkPage(_ id: UInt64, depth: Int, lower: UnsafeRawBufferPointer? = nil, upper: UnsafeRawBufferPointer? = nil,
                          _ visit: (BoltLeafElement) throws -> Void) throws {
        guard depth < Self.maximumDepth else {
            throw DumpError(.badPage, file: file.displayName, at: .page(id), "tree deeper than \(Self.maximumDepth) levels at page \(id)")
        }
        let page = try load(id, depth: depth)
        if page.count > 0 {
            let first = try page.key(0), last = try page.key(page.count - 1)
            if let lower, first.lexicographicallyPrecedes(lower) {
                throw DumpError(.badPage, file: file.displayName, at: .page(id),
                                "the first key of page \(id) sorts before the key its parent branch gives for it")
            }
            if let upper, !last.lexicographicallyPrecedes(upper) {
                throw DumpError(.badPage, file: file.displayName, at: .page(id),
                                "the last key of page \(id) does not sort before the key of its next sibling")
            }
        }
        if page.isBranch {
            guard page.count > 0 else {
                throw DumpError(.badPage, file: file.displayName, at: .page(id), "branch page \(id) has no elements")
            }
            for index in 0..<page.count {
                let next = index + 1 < page.count ? try page.branchKey(index + 1) : upper
                try walkPage(try page.branchChild(index), depth: depth + 1, lower: try page.branchKey(index), upper: next, visit)
            }
        } else {
            // A B+tree keeps every leaf at the same depth (bbolt `node.spill`/`rebalance`).
            if let expected = leafDepth, expected != depth {
                throw DumpError(.badPage, file: file.displayName, at: .page(id),
                                "leaf page \(id) is at depth \(depth), other leaves of this tree at depth \(expected)")
            }
            leafDepth = depth
            for index in 0..<page.count { try visit(try page.leafElement(index)) }
        }
    }

    /// Reads page `id` into the buffer of its level and checks its header.
    private func load(_ id: UInt64, depth: Int) throws(DumpError) -> BoltPage {
        let name = file.displayName
        guard id >= 2 else {
            throw DumpError(.badPage, file: name, at: .page(id), "a tree points at page \(id), which is a meta page")
        }
        guard id < meta.pageCount else {
            throw DumpError(.pageOutOfRange, file: name, at: .page(id),
                            "page \(id) is beyond the meta's high-water mark (\(meta.pageCount) pages)")
        }
        if isVisited(id) {
            throw DumpError(.cycle, file: name, at: .page(id), "page \(id) is reached twice (a cycle or a shared page)")
        }
        while buffers.count <= depth { buffers.append(BoltPageBuffer(capacity: pageSize)) }
        let bytes = try file.readPage(id, pageSize: pageSize, pageCount: meta.pageCount, limit: databaseSize, into: buffers[depth])
        let page = try BoltPage(bytes, pageID: id, file: name)
        guard page.header.id == id else {
            throw DumpError(.badPage, file: name, at: .page(id), "page \(id) has id \(page.header.id) in its header")
        }
        guard page.isBranch || page.isLeaf else {
            throw DumpError(.badPage, file: name, at: .page(id),
                            "page \(id) has flags 0x\(String(page.header.flags, radix: 16)), expected a branch (0x1) or leaf (0x2) page")
        }
        try page.checkLayout(pageSize: pageSize)
        // Mark the page and its overflow continuation; total work is bounded by the page count.
        let last = id + UInt64(page.header.overflow)  // readPage checked id + overflow < pageCount
        var current = id
        while current <= last {
            if isVisited(current) {
                throw DumpError(.cycle, file: name, at: .page(id),
                                "overflow of page \(id) covers page \(current), which was already reached")
            }
            visited[Int(current >> 6)] |= 1 << (current & 63)
            current += 1
        }
        bytesRead &+= UInt64(bytes.count)
        if let progress, bytesRead &- lastReported >= Self.progressStep {
            lastReported = bytesRead
            progress(min(bytesRead, databaseSize), databaseSize)
        }
        return page
    }

    @inline(__always) private func isVisited(_ id: UInt64) -> Bool {
        visited[Int(id >> 6)] & (1 << (id & 63)) != 0
    }

    // MARK: bbolt's consistency check

    /// One bit per page below the high-water mark: listed by the freelist. Empty
    /// until `loadFreelist` reads a synced freelist.
    private var freed: [UInt64] = []
    /// The freelist page and its overflow, reachable through the meta.
    private var freelistPages: ClosedRange<UInt64>?
    /// The page the meta names as its freelist when that page is not one, and its header.
    private var staleFreelist: (id: UInt64, header: BoltPageHeader)?
    private var problems = PageProblems()

    /// Reads the meta's freelist for the check `checkPages` finishes, before any
    /// tree is walked: marks the meta pages and the freelist as reachable, and
    /// each listed page as free (a page listed twice, a meta page, or one past the
    /// high-water mark is a problem).
    ///
    /// bbolt `tx_check.go: Tx.check` loads the freelist first (`db.go:
    /// loadFreelist`). A meta whose freelist is `pgidNoFreelist` (etcd opens its
    /// backend with `NoFreelistSync`) has none on disk: bbolt rebuilds it as every
    /// page below the high-water mark that no tree reaches (`db.go: freepages`),
    /// so every page is reachable or free by construction, and what is left to
    /// check, a page reached twice or past the mark, is the walk's own.
    ///
    /// A meta that names as its freelist a page that is not one is decided after the
    /// walk (`checkPages`): bbolt's first `NoFreelistSync` (7149270, June 2017, until
    /// 05bfb3b introduced `pgidNoFreelist` a month later) stopped writing the
    /// freelist but left the meta's id as it was, rebuilt the freelist by
    /// reachability on open, and so reused that page for the tree. Such files exist
    /// (a 2017 Kubernetes member db; today's bbolt panics on it: "invalid freelist
    /// page: 2, page type is leaf"), and their trees read whole.
    func loadFreelist() throws(DumpError) {
        guard meta.freelist != BoltMeta.noFreelist else { return }
        let pageCount = meta.pageCount
        var freed = [UInt64](repeating: 0, count: visited.count)
        var problems = PageProblems()
        let outcome = try BoltFreelist.read(meta.freelist, file: file, meta: meta, databaseSize: databaseSize) { id in
            guard id < pageCount else {
                problems.add(id, "freed beyond the high-water mark (\(pageCount) pages)")
                return
            }
            let (word, bit) = (Int(id >> 6), UInt64(1) << (id & 63))
            if freed[word] & bit != 0 {
                problems.add(id, "already freed")
            } else if id < 2 {
                problems.add(id, "freed meta page")
            }
            freed[word] |= bit
        }
        let overflow: UInt64
        switch outcome {
        case .read(let pages): overflow = pages
        case .notAFreelist(let header):
            staleFreelist = (meta.freelist, header)
            return
        }
        self.freed = freed
        self.problems = problems
        let span = meta.freelist...(meta.freelist + overflow)
        freelistPages = span
        visited[0] |= 0b11
        for id in span { visited[Int(id >> 6)] |= 1 << (id & 63) }
    }

    /// Finishes bbolt's check once every tree has been walked: every page below
    /// the high-water mark is reachable or free, never both (`tx_check.go`:
    /// "reachable freed", "unreachable unfreed"). Throws `.inconsistentPages`
    /// naming the first problems, as `etcdctl snapshot status` lists them.
    ///
    /// One pass over the two bitmaps, 64 pages a step; the file is not read again.
    /// Like bbolt, the meta and freelist pages are not judged "reachable freed"
    /// (a freelist that lists itself is etcd's own corrupted-backup case, where
    /// bbolt reports only the double free and the lost page); unlike bbolt, a
    /// free overflow page of a tree page is, since bbolt would hand it out again.
    ///
    /// A meta's freelist id that names a page which is not a freelist: a tree page
    /// (the stale id of early `NoFreelistSync`, see `loadFreelist`) leaves nothing
    /// more to check; any other page is `.badFreelist`.
    func checkPages() throws(DumpError) {
        if let stale = staleFreelist, !isVisited(stale.id) {
            throw BoltFreelist.notAFreelist(stale.id, stale.header, file: file.displayName)
        }
        guard !freed.isEmpty else { return }
        if let span = freelistPages {
            for id in span { freed[Int(id >> 6)] &= ~(1 << (id & 63)) }
        }
        freed[0] &= ~0b11
        let pageCount = meta.pageCount
        for word in visited.indices {
            let reachable = visited[word], free = freed[word]
            let first = UInt64(word) << 6
            let valid: UInt64 = pageCount - first >= 64 ? .max : (1 << (pageCount - first)) - 1
            var bad = ((reachable & free) | ~(reachable | free)) & valid
            while bad != 0 {
                let bit = UInt64(bad.trailingZeroBitCount)
                bad &= bad - 1
                problems.add(first + bit, reachable & (1 << bit) != 0 ? "reachable freed" : "unreachable unfreed")
            }
        }
        if let error = problems.error(file: file.displayName) { throw error }
    }
}

/// The problems bbolt's check finds, the first few by page and how many in all.
struct PageProblems {
    /// Problems named in the error line; the rest are counted.
    static let named = 5

    private(set) var first: [(page: UInt64, what: String)] = []
    private(set) var count = 0

    mutating func add(_ page: UInt64, _ what: String) {
        count += 1
        if first.count < Self.named { first.append((page, what)) }
    }

    /// One line in bbolt's words: `page 3: already freed, page 4: unreachable unfreed`.
    func error(file: String) -> DumpError? {
        guard let head = first.first else { return nil }
        let named = first.map { "page \($0.page): \($0.what)" }.joined(separator: ", ")
        let rest = count > first.count ? ", and \(count - first.count) more" : ""
        return DumpError(.inconsistentPages, file: file, at: .page(head.page),
                         "integrity check failed (as bbolt's tx.Check), \(count) error\(count == 1 ? "" : "s") found: \(named)\(rest)")
    }
}
