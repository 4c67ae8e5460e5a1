/// One etcd key-value pair, exactly as etcd stores it (`mvccpb.KeyValue`).
///
/// Keys and values are bytes, not strings: etcd accepts any byte sequence, and
/// encrypted values are binary. Revisions are `Int64` as in etcd's protobuf; a
/// lease is the signed int64 lease ID (0 = no lease).
public struct KeyValue: Sendable, Hashable {
    public var key: [UInt8]
    public var value: [UInt8]
    public var createRevision: Int64
    public var modRevision: Int64
    public var version: Int64
    public var lease: Int64

    public init(key: [UInt8], value: [UInt8], createRevision: Int64 = 0, modRevision: Int64 = 0, version: Int64 = 0, lease: Int64 = 0) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }
}

/// An etcd MVCC revision: the store revision (`main`) and the index of the change
/// inside its transaction (`sub`). Ordered as etcd orders them.
public struct Revision: Sendable, Hashable, Comparable {
    public var main: Int64
    public var sub: Int64

    public init(main: Int64, sub: Int64) {
        self.main = main
        self.sub = sub
    }

    public static func < (a: Revision, b: Revision) -> Bool {
        (a.main, a.sub) < (b.main, b.sub)
    }
}
