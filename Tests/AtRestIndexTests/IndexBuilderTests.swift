import AtRestDump
import AtRestIndex
import AtRestTestSupport
import Foundation
import Testing

@Suite struct IndexBuilderTests {
    private func build(_ input: String) throws -> (Index, URL) {
        let dir = try Fixtures.temporaryDirectory("index")
        let path = dir.appendingPathComponent("idx").path
        try IndexBuilder.build(inputs: [Fixtures.path(input)], at: path)
        return (try Index(directory: path), dir)
    }

    private func liveKeys(_ index: Index) throws -> [[UInt8]] {
        var keys: [[UInt8]] = []
        try index.forEachLive { keys.append(Array($0.key)); return true }
        return keys
    }

    @Test func jsonExportIndexesEveryKeyInOrder() throws {
        let (index, dir) = try build("samples/get_all.json")
        defer { try? FileManager.default.removeItem(at: dir) }
        let keys = try liveKeys(index)
        #expect(keys.count == 14)
        #expect(keys == keys.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(index.provenance.counts.liveKeys == 14)
        #expect(index.provenance.counts.entriesRead == 14)
        #expect(index.provenance.completeness == .complete)
        #expect(index.provenance.inputs.first?.format == .etcdctlJSON)
    }

    @Test func snapshotIndexKeepsHistoryAndReplaysTombstones() throws {
        let (index, dir) = try build("samples/snapshot_small.db")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try liveKeys(index).count == 14)
        var revisions = 0, tombstones = 0
        try index.forEachRevision { revisions += 1; if $0.tombstone { tombstones += 1 }; return true }
        #expect(revisions == 20)
        #expect(tombstones == 2)
        #expect(index.provenance.revision == 20)
        #expect(try index.entry(forKey: Array("/todelete/a".utf8)) == nil)
    }

    @Test func snapshotAndJSONOfTheSameEtcdAgree() throws {
        let (fromJSON, a) = try build("samples/get_all.json")
        let (fromSnapshot, b) = try build("samples/snapshot_small.db")
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        var left: [KeyValue] = [], right: [KeyValue] = []
        try fromJSON.forEachLive { left.append($0.keyValue); return true }
        try fromSnapshot.forEachLive { right.append($0.keyValue); return true }
        #expect(left == right)
    }

    @Test func indexFilesArePrivate() throws {
        let (index, dir) = try build("samples/get_all.json")
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["data.mdb", "atrest.sum"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: index.directory + "/" + name)
            #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(name)")
        }
        let dirAttributes = try FileManager.default.attributesOfItem(atPath: index.directory)
        #expect((dirAttributes[.posixPermissions] as? Int) == 0o700)
    }

    @Test func rebuildingOnTheSameInputGivesTheSameIndex() throws {
        let dir = try Fixtures.temporaryDirectory("index")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("idx").path
        let first = try IndexBuilder.build(inputs: [Fixtures.path("samples/snapshot_small.db")], at: path)
        let second = try IndexBuilder.build(inputs: [Fixtures.path("samples/snapshot_small.db")], at: path)
        #expect(first == second)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["idx"])
    }

    @Test func failedBuildLeavesNoIndex() throws {
        let dir = try Fixtures.temporaryDirectory("index")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.json")
        try Data("{\"header\":{},\"kvs\":[{\"key\":\"!!!\"}]}".utf8).write(to: bad)
        let path = dir.appendingPathComponent("idx").path
        #expect(throws: DumpError.self) { try IndexBuilder.build(inputs: [bad.path], at: path) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["bad.json"])
    }

    @Test func leftoversOfAKilledBuildAreRemovedByTheNextBuild() throws {
        let dir = try Fixtures.temporaryDirectory("index")
        defer { try? FileManager.default.removeItem(at: dir) }
        // PID 2^22 + 1 is above Linux's pid_max limit: no such process can exist.
        let abandoned = dir.appendingPathComponent(".idx.partial-4194305-7")
        try FileManager.default.createDirectory(at: abandoned, withIntermediateDirectories: true)
        try IndexBuilder.build(inputs: [Fixtures.path("samples/get_all.json")], at: dir.appendingPathComponent("idx").path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["idx"])
    }

    @Test func refusesToReplaceSomethingThatIsNotAnIndex() throws {
        let dir = try Fixtures.temporaryDirectory("index")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("precious".utf8).write(to: dir.appendingPathComponent("notes.txt"))
        #expect(throws: IndexError.self) { try IndexBuilder.build(inputs: [Fixtures.path("samples/get_all.json")], at: dir.path) }
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("notes.txt").path))
    }

    @Test func unfinishedIndexIsRefused() throws {
        let dir = try Fixtures.temporaryDirectory("index")
        defer { try? FileManager.default.removeItem(at: dir) }
        // An LMDB environment with data but no completion marker, as a crash mid-build
        // would leave. Written by LMDB's own mdb_load in another process: LMDB forbids
        // opening one environment twice in a process.
        let load = Process()
        load.executableURL = URL(fileURLWithPath: "/usr/bin/mdb_load")
        load.arguments = ["-s", "live", dir.path]
        let input = Pipe()
        load.standardInput = input
        try load.run()
        input.fileHandleForWriting.write(Data("VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n 6b\n 76\nDATA=END\n".utf8))
        try input.fileHandleForWriting.close()
        load.waitUntilExit()
        #expect(load.terminationStatus == 0)
        #expect(throws: IndexError.self) { try Index(directory: dir.path) }
    }

    @Test func keysLMDBCannotHoldAreIndexedInKeyOrder() throws {
        let dir = try Fixtures.temporaryDirectory("index")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Keys around LMDB's 511-byte limit, interleaved with short ones in byte order.
        let keys: [[UInt8]] = [510, 511, 512, 513, 4096, 65536].flatMap { length in
            [Array(("/registry/a/" + String(repeating: "x", count: length - 12)).utf8),
             Array(("/registry/b/" + String(repeating: "y", count: length - 12)).utf8)]
        } + [Array("/registry/a".utf8), Array("/registry/c".utf8)]
        let sorted = keys.sorted { $0.lexicographicallyPrecedes($1) }
        let kvs = sorted.map { key in
            "{\"key\":\"\(Data(key).base64EncodedString())\",\"create_revision\":2,\"mod_revision\":2,\"version\":1,\"value\":\"\(Data("v\(key.count)".utf8).base64EncodedString())\"}"
        }
        let export = "{\"header\":{\"cluster_id\":1,\"member_id\":2,\"revision\":2,\"raft_term\":2},\"kvs\":[\(kvs.joined(separator: ","))],\"count\":\(kvs.count)}"
        let file = dir.appendingPathComponent("long.json")
        try Data(export.utf8).write(to: file)
        let path = dir.appendingPathComponent("idx").path
        try IndexBuilder.build(inputs: [file.path], at: path)
        let index = try Index(directory: path)
        var seen: [KeyValue] = []
        try index.forEachLive { seen.append($0.keyValue); return true }
        #expect(seen.map(\.key) == sorted)
        #expect(seen.map { String(decoding: $0.value, as: UTF8.self) } == sorted.map { "v\($0.count)" })
        #expect(index.provenance.counts.liveKeys == keys.count)
        for key in sorted { #expect(try index.entry(forKey: key)?.key == key) }
        var fromMiddle: [[UInt8]] = []
        try index.forEachLive(from: sorted[5]) { fromMiddle.append(Array($0.key)); return true }
        #expect(fromMiddle == Array(sorted[5...]))
    }
}
