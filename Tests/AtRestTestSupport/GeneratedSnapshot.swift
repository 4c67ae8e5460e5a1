import Foundation

/// A real `etcdctl snapshot save` file whose `key` bucket has branch pages,
/// leaves and values on overflow pages, plus a lease: the input the corrupt-snapshot
/// and salvage tests damage. Made once per test process by a real etcd.
public struct GeneratedSnapshot: Sendable {
    /// The file as `snapshot save` wrote it: the bbolt database plus the sha256 trailer.
    public let snapshot: [UInt8]
    /// The bbolt database alone (what `member/snap/db` would hold).
    public var database: [UInt8] { Array(snapshot.dropLast(32)) }
    /// Where everything is, read independently of the code under test.
    public let layout: BoltLayout

    /// The shared instance, or why it could not be made.
    public static let shared: Result<GeneratedSnapshot, EtcdServer.Failure> = {
        do {
            return .success(try make())
        } catch let failure as EtcdServer.Failure {
            return .failure(failure)
        } catch {
            return .failure(EtcdServer.Failure("\(error)"))
        }
    }()

    /// 150 writes: 120 keys (values of 40 to 400 bytes, three of 9000 bytes and one of
    /// 20000, on overflow pages), 18 overwrites, 11 deletes, one leased key.
    static func make() throws -> GeneratedSnapshot {
        let etcd = try EtcdServer()
        defer { etcd.stop() }
        var random = SplitMix64(state: 0xC0FF_EE00)
        func value(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) } }
        func key(_ i: Int) -> String { String(format: "/registry/secrets/default/s-%03d", i) }
        for i in 0..<120 {
            let size = i == 60 ? 20000 : i % 40 == 39 ? 9000 : Int.random(in: 40...400, using: &random)
            try etcd.put(key(i), value(size))
        }
        for i in stride(from: 0, to: 120, by: 7) { try etcd.put(key(i), value(Int.random(in: 40...400, using: &random))) }
        for i in stride(from: 5, to: 120, by: 11) { try etcd.delete(key(i)) }
        let lease = try etcd.leaseGrant(ttl: 3600)
        try etcd.put("/registry/leases/held", Array("held".utf8), lease: lease)
        let path = etcd.directory.appendingPathComponent("snapshot.db").path
        try etcd.snapshotSave(to: path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let layout = try BoltLayout(Array(bytes.dropLast(32)))
        guard layout.keyBucket.contains(where: \.isBranch), layout.keyBucket.contains(where: { $0.overflow > 0 }) else {
            throw EtcdServer.Failure("the generated snapshot has no branch or no overflow page in its key bucket")
        }
        return GeneratedSnapshot(snapshot: bytes, layout: layout)
    }
}

/// The structure of a bbolt database, parsed by the tests themselves (bbolt
/// `page.go`, `bucket.go`): meta fields, the root bucket's buckets and every
/// page of the `key` bucket's tree, with the file offsets tests patch.
public struct BoltLayout: Sendable {
    public struct Page: Sendable, Hashable {
        public var id: UInt64
        public var isBranch: Bool
        public var count: Int
        public var overflow: Int
        /// Ancestors from the bucket root down to the parent.
        public var ancestors: [UInt64]
        /// Branch pages: the file offset of each element's child pgid.
        public var childOffsets: [Int]
    }

    public struct Bucket: Sendable, Hashable {
        public var name: String
        /// 0 for an inline bucket.
        public var root: UInt64
        /// File offset of the bucket value (`root` u64, then `sequence`, then an inline page).
        public var valueOffset: Int
        public var valueSize: Int
    }

    public let pageSize: Int
    public let pageCount: UInt64
    public let rootPage: UInt64
    public let buckets: [Bucket]
    /// Every page of the `key` bucket's tree, depth first (root first).
    public let keyBucket: [Page]

    public init(_ db: [UInt8]) throws {
        func le(_ at: Int, _ width: Int) -> UInt64 { (0..<width).reduce(0) { $0 | UInt64(db[at + $1]) << (8 * $1) } }
        pageSize = Int(le(16 + 8, 4))
        rootPage = le(16 + 16, 8)
        pageCount = le(16 + 40, 8)
        guard pageSize >= 512, db.count >= Int(pageCount) * pageSize else { throw EtcdServer.Failure("not a bbolt database") }
        let size = pageSize
        func leafElements(_ page: Int) -> [(flags: UInt64, keyOffset: Int, keySize: Int, valueSize: Int)] {
            let base = page * size
            return (0..<Int(le(base + 10, 2))).map { index in
                let element = base + 16 + index * 16
                return (le(element, 4), element + Int(le(element + 4, 4)), Int(le(element + 8, 4)), Int(le(element + 12, 4)))
            }
        }
        var buckets: [Bucket] = []
        for element in leafElements(Int(rootPage)) where element.flags & 1 == 1 {
            let name = String(decoding: db[element.keyOffset..<element.keyOffset + element.keySize], as: UTF8.self)
            let valueOffset = element.keyOffset + element.keySize
            buckets.append(Bucket(name: name, root: le(valueOffset, 8), valueOffset: valueOffset, valueSize: element.valueSize))
        }
        self.buckets = buckets
        guard let key = buckets.first(where: { $0.name == "key" }), key.root != 0 else { throw EtcdServer.Failure("no paged key bucket") }
        var pages: [Page] = []
        func walk(_ id: UInt64, ancestors: [UInt64]) {
            let base = Int(id) * size
            let isBranch = le(base + 8, 2) == 1
            let count = Int(le(base + 10, 2))
            let childOffsets = isBranch ? (0..<count).map { base + 16 + $0 * 16 + 8 } : []
            pages.append(Page(id: id, isBranch: isBranch, count: count, overflow: Int(le(base + 12, 4)),
                              ancestors: ancestors, childOffsets: childOffsets))
            for offset in childOffsets { walk(le(offset, 8), ancestors: ancestors + [id]) }
        }
        walk(key.root, ancestors: [])
        keyBucket = pages
    }

    public func bucket(_ name: String) -> Bucket? { buckets.first { $0.name == name } }
}

/// SplitMix64: a tiny deterministic PRNG, so generated inputs are the same from run to run.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
