import AtRestTestSupport
import Foundation
import Testing

/// `atrest stats` and `atrest index`, run as a user runs them.
@Suite struct StatsCommandTests {
    private func json(_ result: AtRestBinary.Result) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    /// The part of `stats --output json` that describes the keys, not the input file.
    private func inventory(_ input: String) throws -> NSDictionary {
        let result = try AtRestBinary.run(["stats", Fixtures.path(input), "--output", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(json(result)["inventory"] as? NSDictionary)
    }

    @Test func snapshotAndJSONExportOfOneEtcdGiveTheSameInventory() throws {
        let fromSnapshot = try inventory("etcd/snapshot.db")
        let fromJSON = try inventory("etcd/export.json")
        #expect(fromSnapshot == fromJSON)
        let totals = try #require(fromJSON["totals"] as? [String: Any])
        #expect((totals["encrypted"] as? Int ?? 0) > 0)
        #expect((totals["plaintext"] as? Int ?? 0) > 0)
    }

    @Test func jsonOutputIsVersionedAndIdenticalFromRunToRun() throws {
        let first = try AtRestBinary.run(["stats", Fixtures.path("samples/get_all.json"), "--output", "json"])
        let second = try AtRestBinary.run(["stats", Fixtures.path("samples/get_all.json"), "--output", "json"])
        #expect(first.status == 0)
        #expect(first.stdout == second.stdout)
        #expect(try json(first)["apiVersion"] as? String == "atrest.io/v1")
        #expect(try json(first)["kind"] as? String == "Stats")
    }

    @Test func textOutputNamesStorageClassesAndResources() throws {
        let result = try AtRestBinary.run(["stats", Fixtures.path("samples/snapshot_small.db")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("aescbc key1"))
        #expect(result.stdout.contains("secrets"))
        #expect(result.stdout.contains("20 revisions, 2 tombstones"))
        #expect(result.stdout.contains("sha256 trailer verified"))
    }

    @Test func countsKeysOutsideThePrefix() throws {
        let result = try AtRestBinary.run(["stats", Fixtures.path("samples/get_all.json"), "--output", "json"])
        let totals = try #require((try json(result)["inventory"] as? [String: Any])?["totals"] as? [String: Any])
        #expect(totals["keys"] as? Int == 14)
        #expect(totals["underPrefix"] as? Int == 1)
        #expect(totals["outsidePrefix"] as? Int == 13)
    }

    @Test func readsStandardInput() throws {
        let bytes = try Fixtures.bytes("samples/snapshot_small.db")
        let result = try AtRestBinary.run(["stats", "-", "--output", "json"], stdin: bytes)
        #expect(result.status == 0, "\(result.stderr)")
        let totals = try #require((try json(result)["inventory"] as? [String: Any])?["totals"] as? [String: Any])
        #expect(totals["keys"] as? Int == 14)
    }

    @Test func indexThenStatsFromTheIndex() throws {
        let dir = try Fixtures.temporaryDirectory("e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let index = dir.appendingPathComponent("idx").path
        let built = try AtRestBinary.run(["index", Fixtures.path("samples/snapshot_small.db"), "--index", index])
        #expect(built.status == 0, "\(built.stderr)")
        #expect(built.stdout.contains("indexed 14 keys, 20 revisions (2 tombstones)"))
        let direct = try AtRestBinary.run(["stats", Fixtures.path("samples/snapshot_small.db"), "--output", "json"])
        let viaIndex = try AtRestBinary.run(["stats", "--index", index, "--output", "json"])
        #expect(direct.stdout == viaIndex.stdout)
    }

    @Test func incompleteExportIsReported() throws {
        let result = try AtRestBinary.run(["stats", Fixtures.path("samples/get_all_limit2.json")])
        #expect(result.status == 0)
        #expect(result.stdout.contains("WARNING  incomplete export"))
    }

    @Test func corruptInputFailsWithOneLineAndStatus2() throws {
        let dir = try Fixtures.temporaryDirectory("e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        var bytes = try Fixtures.bytes("samples/snapshot_small.db")
        bytes[5000] ^= 0xff
        let path = dir.appendingPathComponent("flipped.db").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let index = dir.appendingPathComponent("idx").path
        let result = try AtRestBinary.run(["index", path, "--index", index])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("atrest: \(path): "))
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: index))
    }

    @Test func ambiguousPlainOutputIsRefusedWithTheCommandToRun() throws {
        let result = try AtRestBinary.run(["stats", Fixtures.path("samples/get_all.simple.txt")])
        #expect(result.status == 2)
        #expect(result.stderr.contains("-w json"))
    }

    @Test func missingInputIsAUsageErrorWithStatus2() throws {
        let result = try AtRestBinary.run(["stats"])
        #expect(result.status == 2)
    }
}
