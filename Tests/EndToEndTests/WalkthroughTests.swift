import AtRestTestSupport
import Foundation
import Testing

/// The decisions docs/walkthrough.md takes from atrest's output, on the rotation sample
/// (`testdata/sample/rotation/`, written by `rotate.py`; exports by `make-sample.sh`).
@Suite struct WalkthroughTests {
    /// Private 0600 copies of the configurations of every step (key files must not be readable by others).
    struct Workspace {
        let directory: URL
        func config(_ name: String) -> String { directory.appendingPathComponent(name).path }
    }

    static func workspace() throws -> Workspace {
        let directory = try Fixtures.temporaryDirectory("walkthrough")
        let sources = ["config.yaml": "audit/config.yaml", "step1.yaml": "sample/rotation/step1.yaml",
                       "step2.yaml": "sample/rotation/step2.yaml", "step4.yaml": "sample/rotation/step4.yaml"]
        for (name, source) in sources {
            let created = FileManager.default.createFile(atPath: directory.appendingPathComponent(name).path,
                                                         contents: Data(try Fixtures.bytes(source)),
                                                         attributes: [.posixPermissions: 0o600])
            #expect(created, "\(name)")
        }
        return Workspace(directory: directory)
    }

    static let beforeRewrite = Fixtures.path("sample/export.json")
    static let afterRewriteJSON = Fixtures.path("sample/rotation/after-rewrite.json")
    static let afterRewriteSnapshot = Fixtures.path("sample/rotation/after-rewrite.snapshot.db")

    static func plan(_ w: Workspace, _ current: String, _ proposed: String, _ input: String,
                     _ extra: [String] = []) throws -> AtRestBinary.Result {
        try AtRestBinary.run(["plan", "--feature-gates", "KMSv1=true", "--config", w.config(current), "--proposed", w.config(proposed), input] + extra)
    }

    static func jsonl(_ stdout: String) throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    static func audit(_ w: Workspace, _ config: String, _ input: String) throws -> [[String: Any]] {
        let result = try AtRestBinary.run(["audit", "--feature-gates", "KMSv1=true", input, "--config", w.config(config), "--output", "jsonl", "--exit-zero"])
        #expect(result.status == 0, "\(result.stderr)")
        return try jsonl(result.stdout)
    }

    // MARK: (2) add key4 second

    @Test func addingTheNewKeySecondIsSafe() throws {
        let w = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: w.directory) }
        let result = try Self.plan(w, "config.yaml", "step1.yaml", Self.beforeRewrite)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("SAFE"))
        #expect(!result.stdout.contains("UNSAFE"))
    }

    // MARK: (3) key4 first

    @Test func makingTheNewKeyFirstIsSafeAndMakesTheOldKeysSecretsStale() throws {
        let w = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: w.directory) }
        let result = try Self.plan(w, "step1.yaml", "step2.yaml", Self.beforeRewrite, ["--output", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(document["safe"] as? Bool == true)
        let transitions = try #require(document["transitions"] as? [[String: Any]])
        let toStale = try #require(transitions.first { $0["from"] as? String == "current" && $0["to"] as? String == "stale" })
        #expect(toStale["effect"] as? String == "needsRewrite")
        let examples = try #require(toStale["examples"] as? [[String: Any]])
        #expect(examples.compactMap { $0["key"] as? String } == ["/registry/secrets/default/gcm-key1"])
        #expect(!transitions.contains { $0["effect"] as? String == "breaks" })

        // Under step2, every readable secret stored with key1, key2 or key3 is stale (to rewrite).
        let oldKeys: Set<String> = ["key1", "key2", "key3"]
        let oldKeySecrets = try Self.audit(w, "step2.yaml", Self.beforeRewrite).filter {
            $0["resource"] as? String == "secrets" && $0["provider"] as? String == "aesgcm"
                && oldKeys.contains($0["keyName"] as? String ?? "") && $0["verdict"] as? String != "undecryptable"
        }
        #expect(oldKeySecrets.compactMap { $0["key"] as? String }
            == ["/registry/secrets/default/gcm-key1", "/registry/secrets/default/gcm-key2", "/registry/secrets/kube-system/gcm-key2"])
        #expect(oldKeySecrets.allSatisfy { $0["verdict"] as? String == "stale" })
        #expect(result.stdout.contains("kubectl get secrets -A -o json | kubectl replace -f -"))
    }

    // MARK: (4) remove the old keys

    @Test func removingTheOldKeysBeforeTheRewriteIsUnsafe() throws {
        let w = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: w.directory) }
        let result = try Self.plan(w, "step2.yaml", "step4.yaml", Self.beforeRewrite)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stdout.contains("UNSAFE"))
    }

    @Test func removingTheOldKeysAfterTheRewriteIsSafe() throws {
        let w = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: w.directory) }
        for input in [Self.afterRewriteJSON, Self.afterRewriteSnapshot] {
            let result = try Self.plan(w, "step2.yaml", "step4.yaml", input)
            #expect(result.status == 0, "\(input): \(result.stderr)")
            #expect(!result.stdout.contains("UNSAFE"))
        }
    }

    @Test func afterTheRewriteNoReadableSecretIsLeftToRewrite() throws {
        let w = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: w.directory) }
        let secrets = try Self.audit(w, "step2.yaml", Self.afterRewriteSnapshot).filter { $0["resource"] as? String == "secrets" }
        #expect(!secrets.isEmpty)
        #expect(!secrets.contains { ["stale", "unencrypted", "unverifiable"].contains($0["verdict"] as? String ?? "") })
        // What is left is current with key4, or was unreadable before the rewrite too.
        for secret in secrets where secret["verdict"] as? String != "undecryptable" {
            #expect(secret["verdict"] as? String == "current")
            #expect(secret["keyName"] as? String == "key4", "\(secret["key"] ?? "")")
        }
        let undecryptableBefore = try Self.audit(w, "step2.yaml", Self.beforeRewrite)
            .filter { $0["resource"] as? String == "secrets" && $0["verdict"] as? String == "undecryptable" }
            .compactMap { $0["key"] as? String }
        let undecryptableAfter = secrets.filter { $0["verdict"] as? String == "undecryptable" }.compactMap { $0["key"] as? String }
        #expect(undecryptableAfter == undecryptableBefore)
        #expect(undecryptableAfter.count == 7)
    }

    @Test func snapshotAndJSONOfTheRewrittenStateGiveTheSameVerdicts() throws {
        let w = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: w.directory) }
        let fromSnapshot = try AtRestBinary.run(["audit", "--feature-gates", "KMSv1=true", Self.afterRewriteSnapshot, "--config", w.config("step2.yaml"), "--output", "jsonl"])
        let fromJSON = try AtRestBinary.run(["audit", "--feature-gates", "KMSv1=true", Self.afterRewriteJSON, "--config", w.config("step2.yaml"), "--output", "jsonl"])
        #expect(fromSnapshot.status == 1)
        #expect(fromSnapshot.stdout == fromJSON.stdout)
        #expect(fromSnapshot.stdout.split(separator: "\n").count == 35)
    }

    @Test func historyKeepsTheOldKeyCopiesOfTheRewrittenSecrets() throws {
        let w = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: w.directory) }
        let result = try AtRestBinary.run(["audit", "--feature-gates", "KMSv1=true", Self.afterRewriteSnapshot, "--config", w.config("step2.yaml"), "--history"])
        #expect(result.stdout.contains("/registry/secrets/default/gcm-key2 (now aesgcm key4)"), "\(result.stdout)")
        #expect(result.stdout.contains("etcdctl compact"))
    }
}
