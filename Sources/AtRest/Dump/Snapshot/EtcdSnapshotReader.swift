/// Reads an etcd snapshot (`etcdctl snapshot save`) or a raw `member/snap/db`:
/// every revision of the `key` bucket, plus the `meta` bucket marks.
///
/// Why history and not only the live keys: encryption at rest is about what is
/// on disk, and old revisions of a Secret stay in the file (in plaintext if they
/// were written before encryption was enabled) until compaction. The sink
/// replays puts and tombstones the way etcd's own `restoreIntoIndex` does
/// (etcd `mvcc/kvstore.go: restore`), so the live set comes out as `etcdctl get`
/// would print it.
///
/// The file is opened read-only and read with `pread`, a page at a time, so
/// memory stays bounded and the evidence is never modified (spec §2).
public struct SnapshotReader: Sendable {
    public let path: String
    public let displayName: String
    public let skipHashCheck: Bool
    /// Recover what is reachable from a damaged file instead of failing (`--salvage`).
    public let salvage: Bool

    /// - Parameters:
    ///   - path: the file to read.
    ///   - displayName: how errors and refusals name the file (as given on the command line).
    ///   - skipHashCheck: read a snapshot whose sha256 trailer does not match, like
    ///     `etcdctl snapshot restore --skip-hash-check`.
    ///   - salvage: when the file cannot be read whole, recover the `key` bucket leaves a
    ///     page scan finds (`SnapshotSalvage`) and report it in `metadata.salvage`.
    public init(path: String, displayName: String, skipHashCheck: Bool = false, salvage: Bool = false) {
        self.path = path
        self.displayName = displayName
        self.skipHashCheck = skipHashCheck
        self.salvage = salvage
    }

    /// Streams every revision of the `key` bucket, in revision order, to `sink.history(...)`; returns the metadata.
    ///
    /// Errors: a `DumpError` (with the file and a page or byte) for anything that
    /// makes the file unreadable; entries that cannot be decoded are passed to
    /// `sink.refused` and the read goes on. Errors thrown by the sink propagate as is.
    /// - Parameter progress: called with (bytes of pages read, database size), at most about once per MiB,
    ///   and once with (size, size) at the end.
    /// - Returns: the metadata, the file size and the sha256 of the whole file (trailer included).
    public func read(into sink: inout some DumpSink,
                     progress: ((_ done: UInt64, _ total: UInt64) -> Void)? = nil) throws -> (metadata: ExportMetadata, byteCount: UInt64, sha256: [UInt8]) {
        let file = try SnapshotFile(path: path, displayName: displayName)
        let trailer = try SnapshotTrailer.check(file, skipHashCheck: skipHashCheck || salvage)
        guard salvage else {
            let metadata = try readTree(file, trailer: trailer, into: &sink, checkingPages: true, progress: progress)
            return (metadata, file.size, trailer.fileSHA256)
        }
        // Salvage: a dry run tells a sound file (read normally, complete) from a damaged one.
        var probe = DiscardingSink()
        let cause: DumpError
        do {
            _ = try readTree(file, trailer: trailer, into: &probe, checkingPages: true, progress: nil)
            var metadata = try readTree(file, trailer: trailer, into: &sink, checkingPages: false, progress: progress)
            // A sound tree under a mismatching trailer: some byte changed where no check can see it.
            if trailer.status == .skipped && !skipHashCheck {
                metadata.salvage = SalvageReport(recovered: probe.revisions, leafPages: nil, unreadable: [],
                                                 cause: "the sha256 trailer does not match")
            }
            return (metadata, file.size, trailer.fileSHA256)
        } catch let error as DumpError {
            cause = error
        }
        let salvager = SnapshotSalvage(file: file, databaseSize: trailer.databaseSize,
                                       pageSize: SnapshotSalvage.pageSize(of: file, databaseSize: trailer.databaseSize))
        let (report, last) = try salvager.scan(into: &sink, displayName: displayName, cause: "\(cause.location): \(cause.message)")
        var metadata = ExportMetadata(format: trailer.status == .absent ? .bboltDB : .snapshot)
        metadata.trailer = trailer.status
        metadata.revision = last?.main
        metadata.salvage = report
        progress?(trailer.databaseSize, trailer.databaseSize)
        return (metadata, file.size, trailer.fileSHA256)
    }

    /// Reads the tree twice, for a caller that must see the whole history before it
    /// knows which revisions it wants (the live ones): `first` sees every revision,
    /// then `makeSecond` turns it into the sink that sees them all again, which is
    /// returned. Not for salvage.
    ///
    /// The trailer's sha256 (a second of one core for 1.4 GB) is computed on a thread
    /// of its own while the tree is read, and waited for before anything is returned:
    /// a mismatch is reported, as by `read`, before any other error.
    /// - Parameter progress: over both reads, each counted as half of the database.
    public func readTwice<First: DumpSink, Second: DumpSink>(
        into first: inout First, then makeSecond: (inout First) throws -> Second,
        progress: ((_ done: UInt64, _ total: UInt64) -> Void)? = nil
    ) throws -> (metadata: ExportMetadata, byteCount: UInt64, sha256: [UInt8], second: Second) {
        precondition(!salvage, "a salvage reads a damaged snapshot once")
        let file = try SnapshotFile(path: path, displayName: displayName)
        let check = ConcurrentTrailerCheck(file, skipHashCheck: skipHashCheck)
        let layout = SnapshotTrailer.layout(of: file)
        let halves = progress.map { report in
            (first: { (done: UInt64, total: UInt64) in report(done / 2, total) },
             second: { (done: UInt64, total: UInt64) in report(total / 2 + done / 2, total) })
        }
        do {
            _ = try readTree(file, trailer: layout, into: &first, checkingPages: true, progress: halves?.first)
            var second = try makeSecond(&first)
            var metadata = try readTree(file, trailer: layout, into: &second, checkingPages: false, progress: halves?.second)
            let trailer = try check.result()
            metadata.trailer = trailer.status
            return (metadata, file.size, trailer.fileSHA256, second)
        } catch {
            _ = try check.result()
            throw error
        }
    }

    /// The normal read: the tree from the chosen meta, every bucket checked.
    ///
    /// With `checkingPages`, also bbolt's consistency check of the page accounting
    /// (`tx.Check`, which `etcdctl snapshot status` runs): every page below the
    /// high-water mark reachable exactly once or free, never both, and the freelist
    /// readable. It rides on this walk (two bits per page); a caller that reads the
    /// same file twice checks on the first read only.
    private func readTree(_ file: SnapshotFile, trailer: SnapshotTrailer.Result, into sink: inout some DumpSink,
                          checkingPages: Bool, progress: ((_ done: UInt64, _ total: UInt64) -> Void)?) throws -> ExportMetadata {
        let meta = try BoltMeta.load(from: file, databaseSize: trailer.databaseSize)
        let tree = BoltTree(file: file, meta: meta, databaseSize: trailer.databaseSize, progress: progress)
        if checkingPages { try tree.loadFreelist() }

        // Top-level buckets are the root bucket's leaf elements with bucketLeafFlag (bbolt `tx.go: Tx.Bucket`).
        var keyBucket: BoltBucketRoot?
        var metaBucket: BoltBucketRoot?
        var otherBuckets: [(name: String, root: BoltBucketRoot)] = []
        try tree.walk(.page(meta.root)) { element in
            guard element.isBucket else { return }
            let name = EscapedBytes.string(Array(element.key))
            let root = try BoltBucketRoot(bucketValue: element.value, foundOn: element.pageID, name: name, file: displayName)
            if keyBucket == nil, Self.equals(element.key, Self.keyBucketName) {
                keyBucket = root
            } else if metaBucket == nil, Self.equals(element.key, Self.metaBucketName) {
                metaBucket = root
            } else {
                otherBuckets.append((name, root))
            }
        }

        var metadata = ExportMetadata(format: trailer.status == .absent ? .bboltDB : .snapshot)
        metadata.trailer = trailer.status
        if let metaBucket { try readMetaBucket(metaBucket, tree: tree, into: &metadata) }

        guard let keyBucket else {
            throw DumpError(.missingBucket, file: displayName, at: .page(meta.root),
                            "no `key` bucket under the root bucket (page \(meta.root)): not an etcd v3 database")
        }
        var last: Revision?
        // Every revision is decoded into this one entry: a sink that keeps no copy
        // leaves its buffers to be reused in place.
        var entry = KeyValue(key: [], value: [])
        try tree.walk(keyBucket) { element in
            last = try deliver(element, after: last, into: &sink, decodingInto: &entry)
        }
        // `lease`, `members`, `auth`, `alarm`, `cluster` …: their values are not needed, but a
        // snapshot is only complete when their trees are sound too (page ids, cycles, headers).
        for bucket in otherBuckets { try checkBucket(bucket.root, name: bucket.name, tree: tree, depth: 1) }
        if checkingPages { try tree.checkPages() }
        tree.reportFinished()

        // etcd `mvcc/kvstore.go: restore` sets currentRev = max(last key revision, compactMainRev):
        // after a compaction the key bucket's newest revision can be below the store revision.
        let marks = [last?.main, metadata.scheduledCompactRevision, metadata.finishedCompactRevision].compactMap { $0 }
        metadata.revision = marks.max()
        return metadata
    }

    static let keyBucketName: [UInt8] = Array("key".utf8)
    static let metaBucketName: [UInt8] = Array("meta".utf8)

    /// Decodes one `key` bucket element and hands it to the sink; returns the last good revision.
    private func deliver(_ element: BoltLeafElement, after last: Revision?, into sink: inout some DumpSink,
                         decodingInto entry: inout KeyValue) throws -> Revision? {
        let location = Location.page(element.pageID)
        // The bucket flag and the key are structure, not data: etcd never nests buckets
        // and writes only revision keys here. Either damaged means the revision is
        // unknown, so the entry cannot even be counted in its place: the page is bad.
        guard !element.isBucket else {
            throw DumpError(.badPage, file: displayName, at: location,
                            "a key bucket element on page \(element.pageID) is marked as a nested bucket (etcd writes none)")
        }
        guard let (revision, tombstone) = Self.parseRevisionKey(element.key) else {
            throw DumpError(.badPage, file: displayName, at: location,
                            "a key bucket element on page \(element.pageID) has a \(element.key.count)-byte key that is not a revision (8-byte main, '_', 8-byte sub, optional 't')")
        }
        // bbolt keeps keys sorted and revisions are big-endian, so tree order is revision order.
        if let last, !(last < revision) {
            throw DumpError(.badPage, file: displayName, at: location,
                            "revision \(revision.main)_\(revision.sub) on page \(element.pageID) follows \(last.main)_\(last.sub): the key bucket is out of order")
        }
        // etcd cannot have written a value that is not a KeyValue with a key: the
        // page is damaged, and an answer without this revision would not be the
        // store's (`--salvage` recovers the rest and counts this entry as refused).
        do {
            try Self.decodeKeyValue(element.value, values: sink.wantsValues, into: &entry)
        } catch {
            throw DumpError(.malformedProtobuf, file: displayName, at: location,
                            "revision \(revision.main)_\(revision.sub) on page \(element.pageID) is not an mvccpb.KeyValue: \(error)")
        }
        guard !entry.key.isEmpty else {
            throw DumpError(.malformedProtobuf, file: displayName, at: location,
                            "revision \(revision.main)_\(revision.sub) on page \(element.pageID) is a KeyValue without a key")
        }
        try sink.history(revision, tombstone: tombstone, entry)
        return revision
    }

    /// etcd `mvcc/revision.go`: `main` (8 bytes BE) | '_' | `sub` (8 bytes BE), plus 't' for a
    /// tombstone (`mvcc/kvstore.go: appendMarkTombstone`, `isTombstone`).
    static func parseRevisionKey(_ key: UnsafeRawBufferPointer) -> (Revision, tombstone: Bool)? {
        guard key.count == 17 || (key.count == 18 && key[17] == 0x74), key[8] == 0x5f else { return nil }
        let main = Int64(bitPattern: key.boltBE64(0))
        let sub = Int64(bitPattern: key.boltBE64(9))
        guard main >= 0, sub >= 0 else { return nil }
        return (Revision(main: main, sub: sub), key.count == 18)
    }

    /// `mvccpb.KeyValue` (etcd `mvcc/mvccpb/kv.proto`): 1 key, 2 create_revision, 3 mod_revision,
    /// 4 version, 5 value, 6 lease. Unknown fields are skipped; a known field with the wrong wire type is an error.
    /// Without `values` the value is checked as a field but not copied.
    static func decodeKeyValue(_ bytes: UnsafeRawBufferPointer, values: Bool = true) throws(ProtobufError) -> KeyValue {
        var entry = KeyValue(key: [], value: [])
        try decodeKeyValue(bytes, values: values, into: &entry)
        return entry
    }

    /// `decodeKeyValue` into `entry`, replacing all it held and reusing its buffers.
    static func decodeKeyValue(_ bytes: UnsafeRawBufferPointer, values: Bool = true, into entry: inout KeyValue) throws(ProtobufError) {
        var reader = ProtobufReader(bytes)
        entry.key.removeAll(keepingCapacity: true)
        entry.value.removeAll(keepingCapacity: true)
        (entry.createRevision, entry.modRevision, entry.version, entry.lease) = (0, 0, 0, 0)
        while let field = try reader.next() {
            switch (field.number, field.value) {
            // A field given twice is its last value, as protobuf decoders read it.
            case (1, .bytes(let view)):
                entry.key.removeAll(keepingCapacity: true)
                entry.key.append(contentsOf: view)
            case (2, .varint(let raw)): entry.createRevision = Int64(bitPattern: raw)
            case (3, .varint(let raw)): entry.modRevision = Int64(bitPattern: raw)
            case (4, .varint(let raw)): entry.version = Int64(bitPattern: raw)
            case (5, .bytes(let view)):
                entry.value.removeAll(keepingCapacity: true)
                if values { entry.value.append(contentsOf: view) }
            case (6, .varint(let raw)): entry.lease = Int64(bitPattern: raw)
            case (1...6, _):
                throw ProtobufError(offset: field.offset, message: "field \(field.number) has the wrong wire type")
            default: continue
            }
        }
    }

    /// Walks a bucket's tree, and those of buckets nested in it, checking structure
    /// only (the walk checks every page; values are not decoded).
    private func checkBucket(_ root: BoltBucketRoot, name: String, tree: BoltTree, depth: Int) throws {
        var nested: [(name: String, root: BoltBucketRoot)] = []
        try tree.walk(root) { element in
            guard element.isBucket else { return }
            let child = "\(name)/\(EscapedBytes.string(Array(element.key)))"
            nested.append((child, try BoltBucketRoot(bucketValue: element.value, foundOn: element.pageID, name: child, file: displayName)))
        }
        for bucket in nested {
            guard depth < BoltTree.maximumDepth else {
                throw DumpError(.badPage, file: displayName, at: .page(bucket.root.foundOn),
                                "buckets nested more than \(BoltTree.maximumDepth) deep at \(bucket.name)")
            }
            try checkBucket(bucket.root, name: bucket.name, tree: tree, depth: depth + 1)
        }
    }

    /// The `meta` bucket (etcd `mvcc/kvstore.go`, `etcdserver/cindex`): `consistent_index`
    /// (8-byte BE), `scheduledCompactRev` and `finishedCompactRev` (revision encoding, main taken).
    private func readMetaBucket(_ root: BoltBucketRoot, tree: BoltTree, into metadata: inout ExportMetadata) throws {
        let name = displayName
        try tree.walk(root) { element in
            guard !element.isBucket else { return }
            let key = element.key, value = element.value
            if Self.equals(key, Array("consistent_index".utf8)) {
                guard value.count == 8 else {
                    throw DumpError(.badPage, file: name, at: .page(element.pageID),
                                    "meta bucket consistent_index has \(value.count) bytes, expected 8")
                }
                metadata.consistentIndex = value.boltBE64(0)
            } else if Self.equals(key, Array("scheduledCompactRev".utf8)) || Self.equals(key, Array("finishedCompactRev".utf8)) {
                let label = String(decoding: key, as: UTF8.self)
                guard value.count == 17, let (revision, _) = Self.parseRevisionKey(value) else {
                    throw DumpError(.badPage, file: name, at: .page(element.pageID),
                                    "meta bucket \(label) is not a 17-byte revision (\(value.count) bytes)")
                }
                if key.count == "scheduledCompactRev".utf8.count {
                    metadata.scheduledCompactRevision = revision.main
                } else {
                    metadata.finishedCompactRevision = revision.main
                }
            }
        }
    }

    private static func equals(_ bytes: UnsafeRawBufferPointer, _ other: [UInt8]) -> Bool {
        bytes.elementsEqual(other)
    }
}

/// Takes entries and keeps nothing: the salvage dry run only asks whether the read succeeds.
private struct DiscardingSink: DumpSink {
    var revisions = 0
    mutating func live(_ entry: KeyValue) throws {}
    mutating func history(_ revision: Revision, tombstone: Bool, _ entry: KeyValue) throws { revisions += 1 }
    mutating func refused(_ refusal: Refusal) throws {}
}
