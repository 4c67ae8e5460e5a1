/// What `--salvage` recovered from a snapshot that cannot be read as a whole.
public struct SalvageReport: Sendable, Hashable {
    /// Revisions recovered (puts and tombstones), after removing duplicate copies.
    public var recovered: Int
    /// Leaf pages of the `key` bucket they came from; nil when the tree could be read
    /// but the sha256 trailer does not match (no page scan was needed).
    public var leafPages: Int?
    /// Pages (ids, inclusive ranges) that are not a readable bbolt page nor part of one:
    /// the first `SnapshotSalvage.listedRanges` ranges.
    public var unreadable: [ClosedRange<UInt64>]
    /// Unreadable pages past the listed ranges.
    public var moreUnreadable: UInt64 = 0
    /// Why the snapshot could not be read normally.
    public var cause: String

    /// One line for reports: `salvaged: 140 revisions from 12 leaf pages; unreadable pages: 2-3, 9 (cause)`.
    public var summary: String {
        guard let leafPages else {
            return "salvaged: \(recovered) revisions read from the tree, but \(cause): bytes inside keys or values may be damaged"
        }
        let ranges = unreadable.isEmpty ? "none" : unreadable.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ", ") + (moreUnreadable > 0 ? ", and \(moreUnreadable) more" : "")
        return "salvaged: \(recovered) revisions recovered from \(leafPages) key-bucket leaf pages by a page scan; unreadable pages: \(ranges); the snapshot could not be read whole: \(cause)"
    }
}

/// Recovers `key` bucket revisions from a damaged bbolt file by scanning every page,
/// the way bbolt's own page tools look at a file, without trusting meta pages or branches.
///
/// A page is taken as a `key` bucket leaf when its header carries its own id and the
/// leaf flag, its layout is the one `node.write` produces (`BoltPage.checkLayout`), and
/// every element is a revision key (`main`_`sub`, optional `t`). Copies: bbolt leaves
/// freed pages in the file with stale copies of older leaves, so a revision can be found
/// more than once; etcd never rewrites a revision (they are immutable), so the copies
/// are the same entry and one is kept. Stale pages may also hold revisions that a
/// compaction removed since: a salvaged history can be longer than the snapshot's was,
/// which is one reason it is reported `partial`, never `complete`.
///
/// Memory: bounded whatever the file holds. The recovered entries must be delivered in
/// revision order, so they are sorted in runs of at most 32 MiB, written
/// to an unlinked temporary file when there is more than one run, and merged
/// (`SalvageRuns`); refusals go to the sink at once, and at most 64 ranges of
/// unreadable pages are listed (the rest are counted).
struct SnapshotSalvage {
    let file: SnapshotFile
    let databaseSize: UInt64
    let pageSize: Int

    /// The page size: a valid meta's, else the one page 0 or page 1 claims, else 4096.
    static func pageSize(of file: SnapshotFile, databaseSize: UInt64) -> Int {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 80, alignment: 16)
        defer { scratch.deallocate() }
        for offset: UInt64 in [0, 4096] {
            guard (try? file.read(into: scratch, at: offset, limit: databaseSize, location: .byte(offset), what: "meta")) != nil else { continue }
            let claimed = UInt64(UnsafeRawBufferPointer(scratch).boltLE32(16 + 8))
            if BoltMeta.isPlausiblePageSize(claimed) { return Int(claimed) }
        }
        return 4096
    }

    /// Unreadable page ranges listed one by one; pages past them are counted.
    static let listedRanges = 64

    func scan(into sink: inout some DumpSink, displayName: String, cause: String,
              runBudget: Int = SalvageRuns.defaultRunBudget) throws -> (SalvageReport, last: Revision?) {
        let size = UInt64(pageSize)
        let pages = databaseSize / size
        let runs = SalvageRuns(displayName: displayName, runBudget: runBudget)
        var unreadable: [ClosedRange<UInt64>] = []
        var moreUnreadable: UInt64 = 0
        var leafPages = 0
        var scratch = KeyValue(key: [], value: [])
        let buffer = BoltPageBuffer(capacity: pageSize)
        var id: UInt64 = 2
        func markUnreadable(_ page: UInt64) {
            if let last = unreadable.last, last.upperBound + 1 == page {
                unreadable[unreadable.count - 1] = last.lowerBound...page
            } else if unreadable.count < Self.listedRanges {
                unreadable.append(page...page)
            } else {
                moreUnreadable += 1
            }
        }
        let meta = UnsafeMutableRawBufferPointer.allocate(byteCount: BoltMeta.offset + BoltMeta.structSize, alignment: 16)
        defer { meta.deallocate() }
        for page: UInt64 in [0, 1] {
            let valid = (try? file.read(into: meta, at: page * size, limit: databaseSize, location: .page(page), what: "meta page")) != nil
                && BoltMeta.parse(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(meta)[BoltMeta.offset...]), pageID: page).meta != nil
            if !valid { markUnreadable(page) }
        }
        while id < pages {
            let span: UnsafeRawBufferPointer
            do {
                span = try file.readPage(id, pageSize: pageSize, pageCount: pages, limit: databaseSize, into: buffer)
            } catch {
                markUnreadable(id)
                id += 1
                continue
            }
            let header = BoltPageHeader(span)
            let next = id + 1 + UInt64(header.overflow)
            guard header.id == id else {
                markUnreadable(id)
                id += 1
                continue
            }
            switch header.flags {
            case BoltPageFlags.branch, BoltPageFlags.leaf:
                guard let page = try? BoltPage(span, pageID: id, file: displayName), (try? page.checkLayout(pageSize: pageSize)) != nil else {
                    markUnreadable(id)
                    id += 1
                    continue
                }
                if page.isLeaf, page.count > 0, isKeyBucketLeaf(page) {
                    leafPages += 1
                    for index in 0..<page.count {
                        guard let element = try? page.leafElement(index),
                              let (revision, tombstone) = SnapshotReader.parseRevisionKey(element.key) else { continue }
                        // Refused at once (a refusal has no place in revision order); kept otherwise.
                        let decoded = (try? SnapshotReader.decodeKeyValue(element.value, values: false, into: &scratch)) != nil
                        guard decoded, !scratch.key.isEmpty else {
                            try sink.refused(Refusal(reason: .malformedKeyValue, file: displayName, location: .page(id)))
                            continue
                        }
                        try runs.add(revision, tombstone: tombstone, element.value)
                    }
                }
            case BoltPageFlags.meta, BoltPageFlags.freelist:
                break
            default:
                markUnreadable(id)
                id += 1
                continue
            }
            id = max(next, id + 1)
        }
        let wantsValues = sink.wantsValues
        let (recovered, last) = try runs.deliver { revision, tombstone, bytes in
            do {
                try SnapshotReader.decodeKeyValue(bytes, values: wantsValues, into: &scratch)
            } catch {
                throw DumpError(.io, file: displayName, at: .file, "--salvage read back a damaged entry from its temporary file")
            }
            try sink.history(revision, tombstone: tombstone, scratch)
        }
        let report = SalvageReport(recovered: recovered, leafPages: leafPages, unreadable: unreadable,
                                   moreUnreadable: moreUnreadable, cause: cause)
        return (report, last)
    }

    /// Whether every element of a leaf page is a revision (`main`_`sub`, optional
    /// `t`) and none a bucket: the page is the `key` bucket's, not another bucket's.
    private func isKeyBucketLeaf(_ page: BoltPage) -> Bool {
        (0..<page.count).allSatisfy { index in
            guard let element = try? page.leafElement(index), !element.isBucket else { return false }
            return SnapshotReader.parseRevisionKey(element.key) != nil
        }
    }
}
