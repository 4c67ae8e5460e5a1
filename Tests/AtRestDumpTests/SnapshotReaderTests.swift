import Foundation
import Testing
import AtRestDump
import AtRestTestSupport

/// A sink that keeps everything, for assertions.
private struct CollectingSink: DumpSink {
    struct Change: Equatable {
        var revision: Revision
        var tombstone: Bool
        var entry: KeyValue
    }

    var changes: [Change] = []
    var refusals: [Refusal] = []
    var liveEntries: [KeyValue] = []

    mutating func live(_ entry: KeyValue) throws { liveEntries.append(entry) }
    mutating func history(_ revision: Revision, tombstone: Bool, _ entry: KeyValue) throws {
        changes.append(Change(revision: revision, tombstone: tombstone, entry: entry))
    }
    mutating func refused(_ refusal: Refusal) throws { refusals.append(refusal) }

    /// etcd's `restoreIntoIndex`: puts set, tombstones delete.
    var liveSet: [[UInt8]: KeyValue] {
        var live: [[UInt8]: KeyValue] = [:]
        for change in changes {
            if change.tombstone { live[change.entry.key] = nil } else { live[change.entry.key] = change.entry }
        }
        return live
    }
}

/// SplitMix64: a tiny deterministic PRNG for the fuzz loop.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct SnapshotReaderTests {
    static let samplePath = Fixtures.path("samples/snapshot_small.db")
    static let pageSize = 4096
    static let databaseSize = 24576

    // MARK: helpers

    private func sample() throws -> [UInt8] { try Fixtures.bytes("samples/snapshot_small.db") }

    /// The sample without its trailer: a raw `member/snap/db`, which corrupt variants start from.
    private func body() throws -> [UInt8] { Array(try sample().prefix(Self.databaseSize)) }

    private func write(_ bytes: [UInt8], name: String = "snapshot.db") throws -> String {
        let url = try Fixtures.temporaryDirectory("snapshot").appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    private func read(_ path: String, skipHashCheck: Bool = false) throws -> (metadata: ExportMetadata, byteCount: UInt64, sha256: [UInt8], sink: CollectingSink) {
        var sink = CollectingSink()
        let result = try SnapshotReader(path: path, displayName: "evidence.db", skipHashCheck: skipHashCheck).read(into: &sink)
        return (result.metadata, result.byteCount, result.sha256, sink)
    }

    /// Reads `bytes` and returns the DumpError it must throw.
    private func failure(_ bytes: [UInt8], skipHashCheck: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws -> DumpError? {
        let path = try write(bytes)
        var sink = CollectingSink()
        do {
            _ = try SnapshotReader(path: path, displayName: "evidence.db", skipHashCheck: skipHashCheck).read(into: &sink)
            Issue.record("expected a DumpError", sourceLocation: sourceLocation)
            return nil
        } catch let error as DumpError {
            #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
            #expect(error.description.hasPrefix("evidence.db: "), sourceLocation: sourceLocation)
            return error
        }
    }

    private func le64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    private func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    private func u32(_ bytes: [UInt8], _ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }

    /// Byte offset of leaf element `index` of `page` (its flags), and of its key.
    private func leafElement(_ bytes: [UInt8], page: Int, index: Int) -> (element: Int, key: Int, keySize: Int) {
        let element = page * Self.pageSize + 16 + index * 16
        return (element, element + u32(bytes, element + 4), u32(bytes, element + 8))
    }

    /// Byte offset of the `key` bucket's root pgid in the root bucket's leaf (page 4).
    private func keyBucketRootOffset(_ bytes: [UInt8]) throws -> Int {
        for index in 0..<10 {
            let (_, key, size) = leafElement(bytes, page: 4, index: index)
            if Array(bytes[key..<key + size]) == Array("key".utf8) { return key + size }
        }
        throw CancellationError()
    }

    private func patch(_ bytes: inout [UInt8], at offset: Int, _ new: [UInt8]) {
        bytes.replaceSubrange(offset..<offset + new.count, with: new)
    }

    /// A leaf page image (bbolt `page.go`): header, elements, then keys and values.
    private func leafImage(id: UInt64, _ entries: [(flags: UInt32, key: [UInt8], value: [UInt8])]) -> [UInt8] {
        var elements: [UInt8] = [], data: [UInt8] = []
        let dataStart = 16 + 16 * entries.count
        for (index, entry) in entries.enumerated() {
            let position = dataStart + data.count - (16 + 16 * index)
            elements += le32(entry.flags) + le32(UInt32(position)) + le32(UInt32(entry.key.count)) + le32(UInt32(entry.value.count))
            data += entry.key + entry.value
        }
        return le64(id) + [0x02, 0x00] + [UInt8(entries.count), 0] + le32(0) + elements + data
    }

    /// A minimal 3-page bbolt database whose buckets are all inline in the root leaf (page 2).
    private func buildDatabase(_ buckets: [(name: String, entries: [(key: [UInt8], value: [UInt8])])]) -> [UInt8] {
        let root = leafImage(id: 2, buckets.map { bucket in
            (1, Array(bucket.name.utf8), le64(0) + le64(0) + leafImage(id: 0, bucket.entries.map { (0, $0.key, $0.value) }))
        })
        func meta(_ page: UInt64, txid: UInt64) -> [UInt8] {
            let fields = le32(0xED0C_DAED) + le32(2) + le32(4096) + le32(0) + le64(2) + le64(0) + le64(.max) + le64(3) + le64(txid)
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in fields { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            return le64(page) + [0x04, 0, 0, 0] + le32(0) + fields + le64(hash)
        }
        func padded(_ page: [UInt8]) -> [UInt8] { page + [UInt8](repeating: 0, count: Self.pageSize - page.count) }
        return padded(meta(0, txid: 5)) + padded(meta(1, txid: 4)) + padded(root)
    }

    private func revisionKey(_ main: UInt64, _ sub: UInt64 = 0, tombstone: Bool = false) -> [UInt8] {
        le64(main).reversed() + [0x5f] + le64(sub).reversed() + (tombstone ? [0x74] : [])
    }

    private func keyValue(_ key: String, _ value: String, revision: UInt8) -> [UInt8] {
        [0x0a, UInt8(key.utf8.count)] + Array(key.utf8) + [0x10, revision, 0x18, revision, 0x20, 0x01, 0x2a, UInt8(value.utf8.count)] + Array(value.utf8)
    }

    // MARK: trailer and format

    @Test func trailerIsVerifiedAndFormatIsSnapshot() throws {
        let bytes = try sample()
        let result = try read(Self.samplePath)
        #expect(result.metadata.format == .snapshot)
        #expect(result.metadata.trailer == .verified)
        #expect(result.byteCount == 24608)
        #expect(result.sha256 == SHA256.hash(bytes))
        #expect(Array(bytes.suffix(32)).hexString == "10afc4d431eb88abf9ebdd275df253560f92ff3a180bcd1d7742f4e3d39bda19")
    }

    @Test func rawDatabaseWithoutTrailerIsBboltDBWithTheSameEntries() throws {
        let raw = try body()
        let result = try read(try write(raw))
        #expect(result.metadata.format == .bboltDB)
        #expect(result.metadata.trailer == .absent)
        #expect(result.byteCount == UInt64(Self.databaseSize))
        #expect(result.sha256 == SHA256.hash(raw))
        #expect(result.sink.changes == (try read(Self.samplePath)).sink.changes)
    }

    @Test func flippedBodyByteIsChecksumMismatch() throws {
        var bytes = try sample()
        bytes[2 * Self.pageSize + 100] ^= 0xff  // inside stale page 2
        let error = try failure(bytes)
        #expect(error?.code == .checksumMismatch)
        #expect(error?.location == .byte(UInt64(Self.databaseSize)))
        #expect(error?.description.contains("--skip-hash-check") == true)
        #expect(error?.description.contains("expected 10afc4d431eb88abf9ebdd275df253560f92ff3a180bcd1d7742f4e3d39bda19") == true)
    }

    @Test func skipHashCheckReadsAFileWithAMismatchingTrailer() throws {
        var bytes = try sample()
        bytes[2 * Self.pageSize + 100] ^= 0xff  // stale page 2 is never read
        let result = try read(try write(bytes), skipHashCheck: true)
        #expect(result.metadata.trailer == .skipped)
        #expect(result.metadata.format == .snapshot)
        #expect(result.sink.changes.count == 20)
    }

    // MARK: content

    @Test func historyHasTwentyRevisionsWithSubRevisionsAndTwoTombstones() throws {
        let changes = try read(Self.samplePath).sink.changes
        #expect(changes.count == 20)
        #expect(changes.filter { !$0.tombstone }.count == 18)
        #expect(changes.filter(\.tombstone).map(\.revision) == [Revision(main: 10, sub: 0), Revision(main: 12, sub: 0)])
        #expect(changes.filter(\.tombstone).map { String(decoding: $0.entry.key, as: UTF8.self) } == ["/todelete/a", "/recreated"])
        for tombstone in changes where tombstone.tombstone {
            #expect(tombstone.entry.value.isEmpty && tombstone.entry.modRevision == 0 && tombstone.entry.version == 0)
        }
        #expect(zip(changes, changes.dropFirst()).allSatisfy { $0.revision < $1.revision })
        let txn = changes.filter { $0.revision.main == 19 }
        #expect(txn.map(\.revision) == [Revision(main: 19, sub: 0), Revision(main: 19, sub: 1)])
        #expect(txn.map { String(decoding: $0.entry.key, as: UTF8.self) } == ["/txn/one", "/txn/two"])
        for put in changes where !put.tombstone { #expect(put.entry.modRevision == put.revision.main) }
    }

    @Test func replayGivesTheLiveKeysOfGetAllJSON() throws {
        let json = try JSONSerialization.jsonObject(with: Data(try Fixtures.bytes("samples/get_all.json"))) as? [String: Any]
        let kvs = try #require(json?["kvs"] as? [[String: Any]])
        func int64(_ value: Any?) -> Int64 { (value as? NSNumber)?.int64Value ?? 0 }
        func base64(_ value: Any?) -> [UInt8] { (value as? String).flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) } ?? [] }
        let expected = kvs.map {
            KeyValue(key: base64($0["key"]), value: base64($0["value"]), createRevision: int64($0["create_revision"]),
                     modRevision: int64($0["mod_revision"]), version: int64($0["version"]), lease: int64($0["lease"]))
        }
        let live = try read(Self.samplePath).sink.liveSet
        #expect(expected.count == 14)
        #expect(live.count == 14)
        let actual = live.values.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        #expect(actual == expected)
        #expect(live[Array("/leased/key".utf8)]?.lease == 2_324_035_560_561_583_377)
    }

    @Test func metadataCarriesRevisionAndMetaBucket() throws {
        let result = try read(Self.samplePath)
        #expect(result.metadata.revision == 20)
        #expect(result.metadata.consistentIndex != nil)
        #expect(result.metadata.scheduledCompactRevision == nil)
        #expect(result.metadata.finishedCompactRevision == nil)
        #expect(result.sink.refusals.isEmpty)
        #expect(result.sink.liveEntries.isEmpty)
    }

    @Test func stalePageTwoIsNeverRead() throws {
        // Page 2 is a stale 19-entry copy of the key bucket leaf; overwrite it with garbage.
        var bytes = try body()
        for offset in 2 * Self.pageSize..<3 * Self.pageSize { bytes[offset] = UInt8(truncatingIfNeeded: offset &* 31) }
        let result = try read(try write(bytes))
        #expect(result.sink.changes.count == 20)
        #expect(result.sink.liveSet.count == 14)
    }

    @Test func progressEndsAtTheDatabaseSize() throws {
        var calls: [(UInt64, UInt64)] = []
        var sink = CollectingSink()
        _ = try SnapshotReader(path: Self.samplePath, displayName: "evidence.db").read(into: &sink) { calls.append(($0, $1)) }
        #expect(calls.last.map { $0 == (UInt64(Self.databaseSize), UInt64(Self.databaseSize)) } == true)
        #expect(calls.allSatisfy { $0.0 <= $0.1 })
    }

    @Test func compactionMarksRaiseTheStoreRevisionAndInlineKeyBucketIsRead() throws {
        let database = buildDatabase([
            ("key", [(revisionKey(2), keyValue("/a", "1", revision: 2)),
                     (revisionKey(3, 1), keyValue("/b", "2", revision: 3)),
                     (revisionKey(4, tombstone: true), [0x0a, 0x02] + Array("/a".utf8))]),
            ("meta", [(Array("consistent_index".utf8), le64(77).reversed()),
                      (Array("finishedCompactRev".utf8), revisionKey(6)),
                      (Array("scheduledCompactRev".utf8), revisionKey(7))]),
        ])
        let result = try read(try write(database))
        #expect(result.metadata.format == .bboltDB)
        #expect(result.metadata.revision == 7)
        #expect(result.metadata.scheduledCompactRevision == 7)
        #expect(result.metadata.finishedCompactRevision == 6)
        #expect(result.metadata.consistentIndex == 77)
        #expect(result.sink.changes.map(\.revision) == [Revision(main: 2, sub: 0), Revision(main: 3, sub: 1), Revision(main: 4, sub: 0)])
        #expect(result.sink.liveSet.keys.map { String(decoding: $0, as: UTF8.self) } == ["/b"])
    }

    @Test func emptyKeyBucketHasNoRevision() throws {
        let result = try read(try write(buildDatabase([("key", [])])))
        #expect(result.sink.changes.isEmpty)
        #expect(result.metadata.revision == nil)
    }

    @Test func negativeRevisionIsABadPage() throws {
        let database = buildDatabase([("key", [(revisionKey(1 << 63), keyValue("/a", "1", revision: 2))])])
        let error = try failure(database)
        #expect(error?.code == .badPage)
        #expect(error?.message.contains("not a revision") == true)
    }

    // MARK: per-entry refusals

    @Test func malformedRevisionKeyIsABadPage() throws {
        var bytes = try body()
        let (_, key, _) = leafElement(bytes, page: 3, index: 4)
        bytes[key + 8] = UInt8(ascii: "x")  // the '_' separator
        let error = try failure(bytes)
        #expect(error?.code == .badPage)
        #expect(error?.location == .page(3))
    }

    @Test func malformedKeyValueIsAnErrorNamingItsPage() throws {
        var bytes = try body()
        let (_, key, size) = leafElement(bytes, page: 3, index: 4)
        bytes[key + size] = 0x0f  // field 1 with wire type 7
        let error = try failure(bytes)
        #expect(error?.code == .malformedProtobuf)
        #expect(error?.location == .page(3))
    }

    @Test func outOfOrderRevisionsAreABadPage() throws {
        var bytes = try body()
        let (_, key, _) = leafElement(bytes, page: 3, index: 5)
        bytes[key + 7] = 1  // revision 7 becomes 1, after 6
        let error = try failure(bytes)
        #expect(error?.code == .badPage)
        #expect(error?.location == .page(3))
    }

    // MARK: structural corruption

    @Test func truncatedFileNamesTheFirstMissingPage() throws {
        let bytes = Array(try body().prefix(4 * Self.pageSize + 100))
        let error = try failure(bytes)
        #expect(error?.code == .truncated)
        #expect(error?.location == .page(4))
        #expect(error?.description.contains("page 4") == true)
    }

    @Test func tinyFileIsTruncatedAtPageZero() throws {
        let error = try failure(Array(try body().prefix(40)))
        #expect(error?.code == .truncated)
        #expect(error?.location == .page(0))
    }

    @Test func badChecksumOnBothMetasIsBadMeta() throws {
        var bytes = try body()
        bytes[16 + 48] ^= 0x01  // meta 0 txid
        bytes[Self.pageSize + 16 + 48] ^= 0x01  // meta 1 txid
        let error = try failure(bytes)
        #expect(error?.code == .badMeta)
        #expect(error?.location == .page(0))
        #expect(error?.message.contains("page 0: checksum mismatch") == true)
        #expect(error?.message.contains("page 1: checksum mismatch") == true)
    }

    @Test func badMagicIsNamedInBadMeta() throws {
        var bytes = try body()
        bytes[16] ^= 0xff
        bytes[Self.pageSize + 16] ^= 0xff
        let error = try failure(bytes)
        #expect(error?.code == .badMeta)
        #expect(error?.message.contains("bad magic") == true)
    }

    @Test func corruptMetaZeroFallsBackToMetaOne() throws {
        var bytes = try body()
        bytes[16 + 72 - 16] ^= 0x01  // meta 0 checksum
        let result = try read(try write(bytes))
        #expect(result.sink.changes.count == 20)
        #expect(result.sink.liveSet.count == 14)
    }

    @Test func corruptMetaZeroPageSizeStillFindsMetaOne() throws {
        var bytes = try body()
        patch(&bytes, at: 16 + 8, le32(1000))  // meta 0 page size: implausible and checksum now wrong
        let result = try read(try write(bytes))
        #expect(result.sink.changes.count == 20)
    }

    @Test func corruptMetaOneUsesMetaZero() throws {
        var bytes = try body()
        bytes[Self.pageSize + 16 + 56] ^= 0x01
        let result = try read(try write(bytes))
        #expect(result.sink.changes.count == 20)
    }

    @Test func bucketRootPastTheEndIsPageOutOfRange() throws {
        var bytes = try body()
        patch(&bytes, at: try keyBucketRootOffset(bytes), le64(1000))
        let error = try failure(bytes)
        #expect(error?.code == .pageOutOfRange)
        #expect(error?.location == .page(1000))
    }

    @Test func bucketRootAtAMetaPageIsABadPage() throws {
        var bytes = try body()
        patch(&bytes, at: try keyBucketRootOffset(bytes), le64(1))
        let error = try failure(bytes)
        #expect(error?.code == .badPage)
        #expect(error?.location == .page(1))
    }

    @Test func bucketRootAtTheRootPageIsACycle() throws {
        var bytes = try body()
        patch(&bytes, at: try keyBucketRootOffset(bytes), le64(4))
        let error = try failure(bytes)
        #expect(error?.code == .cycle)
        #expect(error?.location == .page(4))
    }

    @Test func branchPointingToItselfIsACycle() throws {
        var bytes = try body()
        // Turn stale page 2 into a branch page whose only element points at page 2.
        let page = 2 * Self.pageSize
        patch(&bytes, at: page, le64(2) + [0x01, 0x00, 0x01, 0x00] + le32(0))
        patch(&bytes, at: page + 16, le32(16) + le32(1) + le64(2))
        patch(&bytes, at: try keyBucketRootOffset(bytes), le64(2))
        let error = try failure(bytes)
        #expect(error?.code == .cycle)
        #expect(error?.location == .page(2))
    }

    @Test func pageHeaderIdMismatchIsABadPage() throws {
        var bytes = try body()
        patch(&bytes, at: 3 * Self.pageSize, le64(7))
        let error = try failure(bytes)
        #expect(error?.code == .badPage)
        #expect(error?.location == .page(3))
    }

    @Test func overflowPastTheHighWaterMarkIsPageOutOfRange() throws {
        var bytes = try body()
        patch(&bytes, at: 3 * Self.pageSize + 12, le32(100))
        let error = try failure(bytes)
        #expect(error?.code == .pageOutOfRange)
        #expect(error?.location == .page(3))
    }

    @Test func leafElementOutsideThePageIsABadPage() throws {
        var bytes = try body()
        let (element, _, _) = leafElement(bytes, page: 3, index: 0)
        patch(&bytes, at: element + 4, le32(0xFFFF_FF00))
        let error = try failure(bytes)
        #expect(error?.code == .badPage)
        #expect(error?.location == .page(3))
    }

    @Test func missingKeyBucketIsMissingBucket() throws {
        var bytes = try body()
        let offset = try keyBucketRootOffset(bytes) - 3
        patch(&bytes, at: offset, Array("kez".utf8))
        let error = try failure(bytes)
        #expect(error?.code == .missingBucket)
        #expect(error?.location == .page(4))
    }

    @Test func unreadableFileIsAnIOError() throws {
        var sink = CollectingSink()
        #expect(throws: DumpError.self) {
            _ = try SnapshotReader(path: "/nonexistent/atrest/snapshot.db", displayName: "missing.db").read(into: &sink)
        }
    }

    // MARK: hostile input

    @Test func randomGarbageOfVariousSizesThrowsDumpError() throws {
        var random = SplitMix64(state: 42)
        for size in [0, 1, 31, 32, 100, 544, 4096, 8192, 24576, 24608, 65568] {
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }
            for skip in [false, true] {
                var sink = CollectingSink()
                do {
                    _ = try SnapshotReader(path: try write(bytes), displayName: "garbage.db", skipHashCheck: skip).read(into: &sink)
                    Issue.record("garbage of \(size) bytes was read")
                } catch is DumpError {
                    // expected
                }
            }
        }
    }

    @Test func fuzzedMutationsEitherReadOrThrowDumpError() throws {
        let original = try body()
        var random = SplitMix64(state: 0x5EED_A7E5)
        let directory = try Fixtures.temporaryDirectory("snapshot-fuzz")
        var outcomes = (read: 0, failed: 0)
        for round in 0..<200 {
            var bytes = original
            switch round % 4 {
            case 0, 1:  // flip bytes in page headers and element arrays, where structure lives
                for _ in 0..<Int.random(in: 1...6, using: &random) {
                    let page = Int.random(in: 0..<6, using: &random)
                    let offset = page * Self.pageSize + Int.random(in: 0..<400, using: &random)
                    bytes[offset] ^= UInt8.random(in: 1...255, using: &random)
                }
            case 2:  // flip anywhere
                for _ in 0..<Int.random(in: 1...16, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            default:  // truncate, or append garbage
                if Bool.random(using: &random) {
                    bytes.removeLast(Int.random(in: 1...bytes.count, using: &random))
                } else {
                    bytes += (0..<Int.random(in: 1...5000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                }
            }
            let url = directory.appendingPathComponent("mutant-\(round).db")
            try Data(bytes).write(to: url)
            var sink = CollectingSink()
            do {
                _ = try SnapshotReader(path: url.path, displayName: "mutant.db", skipHashCheck: true).read(into: &sink)
                outcomes.read += 1
            } catch let error as DumpError {
                #expect(!error.description.contains("\n"))
                outcomes.failed += 1
            }
        }
        #expect(outcomes.read + outcomes.failed == 200)
        #expect(outcomes.failed > 0)
    }

    // MARK: protobuf reader

    @Test func protobufReaderDecodesNegativeInt64AndSkipsUnknownFields() throws {
        // field 6 = -1 (10-byte varint), unknown field 9 fixed32, field 1 bytes "k"
        let message: [UInt8] = [0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                                0x4d, 1, 2, 3, 4, 0x0a, 0x01, 0x6b]
        let fields = try ProtobufReader.withReader(over: message) { reader in
            var out: [(UInt32, Int64?, [UInt8]?)] = []
            while let field = try reader.next() { out.append((field.number, field.value.int64, field.value.bytes.map { Array($0) })) }
            return out
        }
        #expect(fields.map(\.0) == [6, 9, 1])
        #expect(fields[0].1 == -1)
        #expect(fields[2].2 == [0x6b])
    }

    @Test func protobufReaderRejectsTruncatedAndOverlongInput() throws {
        for message: [UInt8] in [[0x0a, 0x05, 0x01], [0x08], [0x08] + [UInt8](repeating: 0xff, count: 10) + [0x01], [0x0b], [0x00, 0x00]] {
            #expect(throws: ProtobufError.self) {
                try ProtobufReader.withReader(over: message) { reader in while try reader.next() != nil {} }
            }
        }
    }
}
