import AtRestTestSupport
import Foundation
import Testing

/// The sample the README's first command audits: it must say what its README says.
@Suite struct BundledSampleTests {
    private func config() throws -> (String, URL) {
        let dir = try Fixtures.temporaryDirectory("sample")
        let path = dir.appendingPathComponent("config.yaml").path
        _ = FileManager.default.createFile(atPath: path, contents: try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("audit/config.yaml"))),
                                       attributes: [.posixPermissions: 0o600])
        return (path, dir)
    }

    @Test func snapshotAndJSONExportGiveTheSameVerdicts() throws {
        let (config, dir) = try config()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fromSnapshot = try AtRestBinary.run(["audit", "--feature-gates", "KMSv1=true", Fixtures.path("sample/snapshot.db"), "--config", config, "--output", "jsonl"])
        let fromJSON = try AtRestBinary.run(["audit", "--feature-gates", "KMSv1=true", Fixtures.path("sample/export.json"), "--config", config, "--output", "jsonl"])
        #expect(fromSnapshot.status == 1)
        #expect(fromSnapshot.stdout == fromJSON.stdout)
        #expect(fromSnapshot.stdout.split(separator: "\n").count == 35)
    }

    @Test func historyFindsTheThreeEarlierPlaintextSecrets() throws {
        let (config, dir) = try config()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try AtRestBinary.run(["audit", "--feature-gates", "KMSv1=true", Fixtures.path("sample/snapshot.db"), "--config", config, "--history", "--output", "json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let history = try #require(document["history"] as? [String: Any])
        #expect(history["plaintextCopies"] as? Int == 3)
    }
}
