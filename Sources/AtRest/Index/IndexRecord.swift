import AtRestDump

/// The byte layout of index records. Little-endian fixed-width header, then raw
/// bytes: no parsing cost when scanning millions of entries.
///
/// - `live` database: key = etcd key; value = header (32 bytes), then either
///   `0x00` + the etcd value (exports without history), or `0x01` + the revision
///   key of the `history` record that holds the value (snapshots: each value is
///   stored once, which halves the index and the write volume).
/// - `history` database: key = etcd's own revision key (8-byte big-endian main,
///   `_`, 8-byte big-endian sub, `t` for tombstones — `mvcc/revision.go`), so LMDB
///   order is revision order; value = header + key length (u32) + key + value.
/// - `live-long` database: the live records of keys LMDB cannot hold as keys
///   (empty, or over its 511-byte limit; etcd has none, and a custom resource's
///   key can pass it). Key = SHA-256 of the etcd key; value = key length (u32) +
///   key + the live record. Scans merge it into `live` in key order.
enum IndexRecord {
    static let headerSize = 32
    static let inlineTag: UInt8 = 0
    static let referenceTag: UInt8 = 1
    static let revisionKeySize = 17

    static func writeHeader(_ kv: KeyValue, to out: UnsafeMutableRawBufferPointer) {
        out.storeBytes(of: kv.createRevision.littleEndian, toByteOffset: 0, as: Int64.self)
        out.storeBytes(of: kv.modRevision.littleEndian, toByteOffset: 8, as: Int64.self)
        out.storeBytes(of: kv.version.littleEndian, toByteOffset: 16, as: Int64.self)
        out.storeBytes(of: kv.lease.littleEndian, toByteOffset: 24, as: Int64.self)
    }

    static func inlineSize(_ kv: KeyValue) -> Int { headerSize + 1 + kv.value.count }

    static func writeInline(_ kv: KeyValue, to out: UnsafeMutableRawBufferPointer) {
        writeHeader(kv, to: out)
        out[headerSize] = inlineTag
        kv.value.withUnsafeBytes { value in
            UnsafeMutableRawBufferPointer(rebasing: out[(headerSize + 1)...]).copyMemory(from: value)
        }
    }

    static let referenceSize = headerSize + 1 + revisionKeySize

    static func writeReference(_ kv: KeyValue, revisionKey: [UInt8], to out: UnsafeMutableRawBufferPointer) {
        writeHeader(kv, to: out)
        out[headerSize] = referenceTag
        revisionKey.withUnsafeBytes { key in
            UnsafeMutableRawBufferPointer(rebasing: out[(headerSize + 1)...]).copyMemory(from: key)
        }
    }

    static func historySize(_ kv: KeyValue) -> Int { headerSize + 4 + kv.key.count + kv.value.count }

    static func writeHistory(_ kv: KeyValue, to out: UnsafeMutableRawBufferPointer) {
        writeHeader(kv, to: out)
        out.storeBytes(of: UInt32(kv.key.count).littleEndian, toByteOffset: headerSize, as: UInt32.self)
        let keyStart = headerSize + 4
        kv.key.withUnsafeBytes { key in
            UnsafeMutableRawBufferPointer(rebasing: out[keyStart ..< keyStart + key.count]).copyMemory(from: key)
        }
        kv.value.withUnsafeBytes { value in
            UnsafeMutableRawBufferPointer(rebasing: out[(keyStart + kv.key.count)...]).copyMemory(from: value)
        }
    }

    /// The `live-long` key of an etcd key.
    static func longKey(_ key: [UInt8]) -> [UInt8] { SHA256.hash(key) }

    static func longKeyPrefixSize(_ key: [UInt8]) -> Int { 4 + key.count }

    static func writeLongKeyPrefix(_ key: [UInt8], to out: UnsafeMutableRawBufferPointer) {
        out.storeBytes(of: UInt32(key.count).littleEndian, toByteOffset: 0, as: UInt32.self)
        key.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[4 ..< 4 + key.count]).copyMemory(from: $0) }
    }

    /// Splits a `live-long` value into the etcd key and the live record, or nil if damaged.
    static func readLongKeyValue(_ value: UnsafeRawBufferPointer) -> (key: UnsafeRawBufferPointer, record: UnsafeRawBufferPointer)? {
        guard value.count >= 4 else { return nil }
        let length = Int(UInt32(littleEndian: value.loadUnaligned(as: UInt32.self)))
        guard length <= value.count - 4 else { return nil }
        return (UnsafeRawBufferPointer(rebasing: value[4 ..< 4 + length]), UnsafeRawBufferPointer(rebasing: value[(4 + length)...]))
    }

    /// etcd's revision key: `mvcc/revision.go` `revToBytes`, plus `t` for a tombstone (`kvstore_txn.go`).
    static func revisionKey(_ revision: Revision, tombstone: Bool) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: tombstone ? 18 : 17)
        withUnsafeBytes(of: UInt64(bitPattern: revision.main).bigEndian) { bytes.replaceSubrange(0..<8, with: $0) }
        bytes[8] = UInt8(ascii: "_")
        withUnsafeBytes(of: UInt64(bitPattern: revision.sub).bigEndian) { bytes.replaceSubrange(9..<17, with: $0) }
        if tombstone { bytes[17] = UInt8(ascii: "t") }
        return bytes
    }
}

/// One stored entry, viewed in place in the index: no copy until asked.
/// Valid only inside the scan callback that produced it.
public struct EntryView {
    public let key: UnsafeRawBufferPointer
    public let value: UnsafeRawBufferPointer
    public let createRevision: Int64
    public let modRevision: Int64
    public let version: Int64
    public let lease: Int64

    init(key: UnsafeRawBufferPointer, header: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        self.key = key
        self.value = value
        createRevision = Int64(littleEndian: header.loadUnaligned(fromByteOffset: 0, as: Int64.self))
        modRevision = Int64(littleEndian: header.loadUnaligned(fromByteOffset: 8, as: Int64.self))
        version = Int64(littleEndian: header.loadUnaligned(fromByteOffset: 16, as: Int64.self))
        lease = Int64(littleEndian: header.loadUnaligned(fromByteOffset: 24, as: Int64.self))
    }

    /// A copy that outlives the scan.
    public var keyValue: KeyValue {
        KeyValue(key: Array(key), value: Array(value), createRevision: createRevision,
                 modRevision: modRevision, version: version, lease: lease)
    }
}

/// One revision of a key, viewed in place in the index's history.
public struct RevisionView {
    public let revision: Revision
    public let tombstone: Bool
    public let entry: EntryView
}
