import Foundation

/// A small bbolt database built byte by byte, with a freelist the tests control
/// (bbolt `internal/common/page.go`, `meta.go`, `bucket.go`; `internal/freelist/shared.go: Write`).
///
/// Pages: 0 and 1 meta; 2 the root bucket's leaf (one bucket, `key`, at page 3); 3 the
/// `key` bucket's leaf, holding `revisions` puts; 4 the freelist; 5 a stale leaf no tree
/// reaches, listed as free. That is a consistent file, as bbolt writes one; each test
/// changes one thing.
public struct CraftedBolt: Sendable {
    public static let pageSize = 4096
    public static let keyBucketPage: UInt64 = 3
    public static let freelistPage: UInt64 = 4
    public static let stalePage: UInt64 = 5

    /// The meta's freelist page id; `UInt64.max` is bbolt's "not synced" (`NoFreelistSync`).
    public var freelist: UInt64 = CraftedBolt.freelistPage
    /// The ids the freelist page lists, in order.
    public var freeIDs: [UInt64] = [CraftedBolt.stalePage]
    /// The meta's high-water mark (`pgid`); the file holds this many pages.
    public var pageCount: UInt64 = 6
    /// The freelist page's flags (0x10 for a freelist).
    public var freelistFlags: UInt16 = 0x10
    /// The freelist page's overflow.
    public var freelistOverflow: UInt32 = 0
    /// Replaces the freelist page's count (0xFFFF: the real count is the first id slot).
    public var freelistCount: UInt16?
    /// Revisions in the `key` bucket (1...n), each a put of `/registry/secrets/default/s-N`.
    public var revisions = 3

    public init() {}

    /// The file: `pageCount` pages.
    public func bytes() -> [UInt8] {
        let size = Self.pageSize
        var file = [UInt8](repeating: 0, count: Int(pageCount) * size)
        func put(_ value: UInt64, _ width: Int, at offset: Int) {
            for index in 0..<width { file[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
        }
        func header(_ page: UInt64, flags: UInt16, count: Int, overflow: UInt32 = 0) {
            let base = Int(page) * size
            put(page, 8, at: base)
            put(UInt64(flags), 2, at: base + 8)
            put(UInt64(count), 2, at: base + 10)
            put(UInt64(overflow), 4, at: base + 12)
        }
        func leaf(_ page: UInt64, _ elements: [(flags: UInt32, key: [UInt8], value: [UInt8])]) {
            let base = Int(page) * size
            file.replaceSubrange(base..<base + size, with: Self.leafPage(page, elements))
        }
        for page: UInt64 in [0, 1] {
            let base = Int(page) * size
            header(page, flags: 0x04, count: 0)
            let meta = base + 16
            put(0xED0C_DAED, 4, at: meta)
            put(2, 4, at: meta + 4)
            put(UInt64(size), 4, at: meta + 8)
            put(2, 8, at: meta + 16)  // root bucket: page 2, sequence 0
            put(freelist, 8, at: meta + 32)
            put(pageCount, 8, at: meta + 40)
            put(page == 0 ? 8 : 7, 8, at: meta + 48)  // txid: page 0 is the newer
            put(Self.fnv1a64(file[meta..<meta + 56]), 8, at: meta + 56)
        }
        var bucket = [UInt8](repeating: 0, count: 16)
        bucket[0] = UInt8(Self.keyBucketPage)
        leaf(2, [(1, Array("key".utf8), bucket)])
        leaf(Self.keyBucketPage, (0..<revisions).map { (0, Self.revisionKey($0 + 1), Self.keyValue($0 + 1)) })
        if pageCount > Self.stalePage {
            leaf(Self.stalePage, [(0, Self.revisionKey(1), Self.keyValue(1))])
        }
        if Self.freelistPage < pageCount {
            header(Self.freelistPage, flags: freelistFlags, count: Int(freelistCount ?? UInt16(clamping: freeIDs.count)), overflow: freelistOverflow)
            for (index, id) in freeIDs.enumerated() where 16 + (index + 1) * 8 <= size {
                put(id, 8, at: Int(Self.freelistPage) * size + 16 + index * 8)
            }
        }
        return file
    }

    /// A leaf page image as bbolt's `node.write` lays it out: elements, then each key and
    /// value back to back. The elements must fit in one page; keys must be ascending.
    public static func leafPage(_ id: UInt64, _ elements: [(flags: UInt32, key: [UInt8], value: [UInt8])]) -> [UInt8] {
        var page = [UInt8](repeating: 0, count: pageSize)
        func put(_ value: UInt64, _ width: Int, at offset: Int) {
            for index in 0..<width { page[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
        }
        put(id, 8, at: 0)
        put(0x02, 2, at: 8)
        put(UInt64(elements.count), 2, at: 10)
        var data = 16 + elements.count * 16
        for (index, element) in elements.enumerated() {
            let address = 16 + index * 16
            put(UInt64(element.flags), 4, at: address)
            put(UInt64(data - address), 4, at: address + 4)
            put(UInt64(element.key.count), 4, at: address + 8)
            put(UInt64(element.value.count), 4, at: address + 12)
            page.replaceSubrange(data..<data + element.key.count, with: element.key)
            data += element.key.count
            page.replaceSubrange(data..<data + element.value.count, with: element.value)
            data += element.value.count
        }
        return page
    }

    /// etcd's revision key: 8-byte big-endian main, `_`, 8-byte big-endian sub.
    public static func revisionKey(_ main: Int) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: main >> (8 * (7 - $0))) } + [0x5F] + [UInt8](repeating: 0, count: 8)
    }

    /// An `mvccpb.KeyValue` put of `/registry/secrets/default/s-N` at revision `main`, with `value`.
    public static func keyValue(_ main: Int, value: [UInt8] = Array("v".utf8)) -> [UInt8] {
        func varint(_ number: Int) -> [UInt8] {
            var rest = UInt64(number), out: [UInt8] = []
            repeat {
                out.append(UInt8(rest & 0x7F) | (rest >= 0x80 ? 0x80 : 0))
                rest >>= 7
            } while rest > 0
            return out
        }
        let key = Array("/registry/secrets/default/s-\(main)".utf8)
        return [0x0A] + varint(key.count) + key + [0x10] + varint(main) + [0x18] + varint(main) + [0x20, 0x01]
            + [0x2A] + varint(value.count) + value
    }

    static func fnv1a64(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 }
    }
}
