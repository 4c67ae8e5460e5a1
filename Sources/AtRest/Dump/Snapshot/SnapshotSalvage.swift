/// What `--salvage` recovered from a snapshot that cannot be read as a whole.
public struct SalvageReport: Sendable, Hashable {
    /// Revisions recovered (puts and tombstones), after removing duplicate copies.
    public var recovered: Int
    /// Leaf pages of the `key` bucket they came from; nil when the tree could be read
    /// but the sha256 trailer does not match (no page scan was needed).
    public var leafPages: Int?
    /// Pages (ids, inclusive ranges) that are not a readable bbolt page nor part of one.
    public var unreadable: [ClosedRange<UInt64>]
    /// Why the snapshot could not be read normally.
    public var cause: String

    /// One line for reports: `salvaged: 140 revisions from 12 leaf pages; unreadable pages: 2-3, 9 (cause)`.
    public var summary: String {
        guard let leafPages else {
            return "salvaged: \(recovered) revisions read from the tree, but \(cause): bytes inside keys or values may be damaged"
        }
        let ranges = unreadable.isEmpty ? "none" : unreadable.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ", ")
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
/// Memory: the recovered entries are held until the scan ends (they must be delivered
/// in revision order); a salvage is a recovery, not the everyday path.
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

    struct Recovered {
        var tombstone: Bool
        var entry: KeyValue
    }

    func scan(into sink: inout some DumpSink, displayName: String, cause: String) throws -> (SalvageReport, last: Revision?) {
        let size = UInt64(pageSize)
        let pages = databaseSize / size
        var found: [Revision: Recovered] = [:]
        var unreadable: [ClosedRange<UInt64>] = []
        var leafPages = 0
        var refusals: [Refusal] = []
        let buffer = BoltPageBuffer(capacity: pageSize)
        var id: UInt64 = 2
        func markUnreadable(_ page: UInt64) {
            if let last = unreadable.last, last.upperBound + 1 == page {
                unreadable[unreadable.count - 1] = last.lowerBound...page
            } else {
                unreadable.append(page...page)
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
                if page.isLeaf, page.count > 0, let entries = keyBucketEntries(page) {
                    leafPages += 1
                    for (revision, tombstone, entry) in entries {
                        guard let entry else {
                            refusals.append(Refusal(reason: .malformedKeyValue, file: displayName, location: .page(id)))
                            continue
                        }
                        if found[revision] == nil { found[revision] = Recovered(tombstone: tombstone, entry: entry) }
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
        for refusal in refusals { try sink.refused(refusal) }
        var last: Revision?
        for revision in found.keys.sorted() {
            guard let recovered = found[revision] else { continue }
            try sink.history(revision, tombstone: recovered.tombstone, recovered.entry)
            last = revision
        }
        return (SalvageReport(recovered: found.count, leafPages: leafPages, unreadable: unreadable, cause: cause), last)
    }

    /// The page's entries when every element has a revision key and no bucket flag
    /// (nil otherwise: the page is some other bucket's); an entry is nil when its value
    /// is not a `KeyValue` (refused).
    private func keyBucketEntries(_ page: BoltPage) -> [(Revision, Bool, KeyValue?)]? {
        var entries: [(Revision, Bool, KeyValue?)] = []
        for index in 0..<page.count {
            guard let element = try? page.leafElement(index), !element.isBucket,
                  let (revision, tombstone) = SnapshotReader.parseRevisionKey(element.key) else { return nil }
            let entry = try? SnapshotReader.decodeKeyValue(element.value)
            entries.append((revision, tombstone, entry.flatMap { $0.key.isEmpty ? nil : $0 }))
        }
        return entries
    }
}
