import AtRestTestSupport
import Foundation
import Testing

/// `atrest audit --history` on snapshots of a real etcd: earlier plaintext and
/// old-key revisions of objects that are encrypted now.
@Suite(.enabled(if: EtcdServer.shouldRun)) struct HistoryAuditTests {
    /// The synthetic aesgcm vector: its etcd key, value and key (from `testdata/vectors`).
    struct Vector {
        var key: String
        var value: [UInt8]
        var secretBase64: String
    }

    func vector() throws -> Vector {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("vectors/synthetic_vectors.json")))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let gcm = try #require(root["aesgcm_key1_aes128"] as? [String: Any])
        let value = try hexBytes(try #require(gcm["etcd_value_hex"] as? String))
        return Vector(key: try #require(root["etcd_key"] as? String), value: value,
                      secretBase64: try #require(gcm["config_secret_b64"] as? String))
    }

    func config(_ secret: String, in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("config.yaml").path
        let yaml = """
            apiVersion: apiserver.config.k8s.io/v1
            kind: EncryptionConfiguration
            resources:
            - resources: ["secrets"]
              providers:
              - aesgcm:
                  keys:
                  - name: key1
                    secret: \(secret)
              - identity: {}
            """
        _ = FileManager.default.createFile(atPath: path, contents: Data(yaml.utf8), attributes: [.posixPermissions: 0o600])
        return path
    }

    /// A secret first written in plaintext, then encrypted: the live value is current,
    /// the plaintext revision is still in the snapshot.
    func snapshotWithPlaintextHistory(_ v: Vector, in dir: URL) throws -> String {
        let etcd = try EtcdServer()
        defer { etcd.stop() }
        try etcd.put(v.key, [0x6b, 0x38, 0x73, 0x00] + Array("plaintext-marker".utf8))
        try etcd.put(v.key, v.value)
        let path = dir.appendingPathComponent("snap.db").path
        try etcd.snapshotSave(to: path)
        return path
    }

    @Test func plaintextRevisionOfAnEncryptedObjectIsReported() throws {
        let dir = try Fixtures.temporaryDirectory("history")
        defer { try? FileManager.default.removeItem(at: dir) }
        let v = try vector()
        let snapshot = try snapshotWithPlaintextHistory(v, in: dir)
        let result = try AtRestBinary.run(["audit", snapshot, "--config", try config(v.secretBase64, in: dir), "--history", "--output", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let history = try #require(document["history"] as? [String: Any])
        #expect(history["plaintextCopies"] as? Int == 1)
        #expect(history["oldKeyCopies"] as? Int == 0)
        let keys = try #require(history["keys"] as? [[String: Any]])
        #expect(keys.count == 1)
        #expect(keys.first?["key"] as? String == v.key)
        #expect(keys.first?["now"] as? String == "aesgcm key1")
        let revisions = try #require(keys.first?["revisions"] as? [[String: Any]])
        #expect(revisions.map { $0["storedAs"] as? String } == ["plaintext"])
        #expect(revisions.map { $0["verdict"] as? String } == ["unencrypted"])
        #expect(!result.stdout.contains("plaintext-marker"))
    }

    @Test func textReportSaysHowToRemoveTheCopies() throws {
        let dir = try Fixtures.temporaryDirectory("history")
        defer { try? FileManager.default.removeItem(at: dir) }
        let v = try vector()
        let snapshot = try snapshotWithPlaintextHistory(v, in: dir)
        let result = try AtRestBinary.run(["audit", snapshot, "--config", try config(v.secretBase64, in: dir), "--history"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("1 plaintext and 0 old-key copies of 1 key remain"))
        #expect(result.stdout.contains("etcdctl compact"))
        #expect(result.stdout.contains("etcdctl defrag"))
    }

    @Test func keyUsageCountsEveryWriteOfTheSnapshot() throws {
        let dir = try Fixtures.temporaryDirectory("history")
        defer { try? FileManager.default.removeItem(at: dir) }
        let v = try vector()
        let etcd = try EtcdServer()
        defer { etcd.stop() }
        for _ in 0..<3 { try etcd.put(v.key, v.value) }
        let snapshot = dir.appendingPathComponent("snap.db").path
        try etcd.snapshotSave(to: snapshot)
        let result = try AtRestBinary.run(["stats", snapshot, "--output", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let usage = try #require(document["keyUsage"] as? [String: Any])
        #expect(usage["coversHistory"] as? Bool == true)
        let aesgcm = try #require(usage["aesgcm"] as? [[String: Any]])
        #expect(aesgcm.first?["key"] as? String == "key1")
        #expect(aesgcm.first?["writes"] as? Int == 3)
        #expect(aesgcm.first?["rotate"] as? Bool == false)
    }

    @Test func historyNeedsASnapshot() throws {
        let dir = try Fixtures.temporaryDirectory("history")
        defer { try? FileManager.default.removeItem(at: dir) }
        let v = try vector()
        let result = try AtRestBinary.run(["audit", Fixtures.path("etcd/export.json"), "--config", try config(v.secretBase64, in: dir), "--history"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--history needs an input with history"))
    }
}
