import Foundation
import Testing
import AtRestTestSupport

/// `atrest plan` end to end: the built binary on the `testdata/audit/` fixture (entries
/// encrypted by an independent encryptor), exported as an etcdctl `-w json` document.
@Suite struct PlanCommandTests {
    static let marker = "ATREST-PLAINTEXT-MARKER-5f0c1e"

    struct Entry: Decodable {
        var key: String
        var value: String
        var expected: Expected
        var expectedUnder: [String: Expected]
        struct Expected: Decodable { var verdict: String }

        var keyBytes: [UInt8] { [UInt8](Data(base64Encoded: key)!) }
        var keyString: String { String(decoding: keyBytes, as: UTF8.self) }
    }

    static func entries() throws -> [Entry] {
        try JSONDecoder().decode([Entry].self, from: Data(Fixtures.bytes("audit/entries.json")))
            .sorted { $0.keyBytes.lexicographicallyPrecedes($1.keyBytes) }
    }

    /// A private directory holding an etcdctl `get "" --prefix -w json` export of the fixture
    /// (keys sorted, base64, header revision, count) and copies of the configurations (0600,
    /// as key files must be).
    struct Workspace {
        let directory: URL
        var export: String { directory.appendingPathComponent("export.json").path }
        func config(_ name: String) -> String { directory.appendingPathComponent(name).path }
    }

    static func workspace(_ entries: [Entry]? = nil) throws -> Workspace {
        let directory = try Fixtures.temporaryDirectory("plan-e2e")
        let sorted = try entries ?? Self.entries()
        let kvs = sorted.enumerated().map { index, entry in
            "{\"key\":\"\(entry.key)\",\"create_revision\":\(index + 2),\"mod_revision\":\(index + 2),\"version\":1,\"value\":\"\(entry.value)\"}"
        }
        let document = "{\"header\":{\"cluster_id\":14841639068965178418,\"member_id\":10276657743932975437,\"revision\":\(sorted.count + 1),\"raft_term\":2},"
            + "\"kvs\":[\(kvs.joined(separator: ","))],\"count\":\(sorted.count)}\n"
        try Data(document.utf8).write(to: directory.appendingPathComponent("export.json"))
        for name in ["config.yaml", "config-rotated.yaml", "config-no-identity.yaml", "config-wildcard.yaml"] {
            let target = directory.appendingPathComponent(name)
            try Data(Fixtures.bytes("audit/\(name)")).write(to: target)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: target.path)
        }
        return Workspace(directory: directory)
    }

    /// Every key secret of the fixture's configurations, as written in the files (base64).
    static func secrets() throws -> [String] {
        let text = String(decoding: try Fixtures.bytes("audit/config.yaml"), as: UTF8.self)
        return text.split(separator: "\n").compactMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return trimmed.hasPrefix("secret:") ? String(trimmed.dropFirst("secret:".count)).trimmingCharacters(in: .whitespaces) : nil
        }
    }

    static func json(_ stdout: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
    }

    static func plan(_ w: Workspace, _ current: String, _ proposed: String, _ extra: [String] = []) throws -> AtRestBinary.Result {
        try AtRestBinary.run(["plan", "--feature-gates", "KMSv1=true", "--config", w.config(current), "--proposed", w.config(proposed), w.export] + extra)
    }

    // MARK: --proposed

    @Test func retiringAKeyStillInUseIsUnsafe() throws {
        let w = try Self.workspace()
        let result = try Self.plan(w, "config.yaml", "config-rotated.yaml")
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stdout.contains("UNSAFE"))
    }

    @Test func breakingEntriesAreExactlyTheRetiredKeysEntries() throws {
        let w = try Self.workspace()
        let entries = try Self.entries()
        let expected = entries.filter { $0.expected.verdict != "undecryptable" && $0.expectedUnder["config-rotated.yaml"]?.verdict == "undecryptable" }
            .map(\.keyString).sorted()
        let result = try Self.plan(w, "config.yaml", "config-rotated.yaml", ["--output", "json"])
        let document = try Self.json(result.stdout)
        let breaking = try #require(document["breaking"] as? [String: Any])
        let list = try #require(breaking["list"] as? [[String: Any]])
        #expect(!expected.isEmpty)
        #expect(list.compactMap { $0["key"] as? String } == expected)
        #expect(list.allSatisfy { $0["from"] as? String == "stale" && $0["to"] as? String == "undecryptable" })
    }

    @Test func theSameConfigurationIsSafe() throws {
        let w = try Self.workspace()
        let result = try Self.plan(w, "config.yaml", "config.yaml")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("SAFE: every entry readable"))
    }

    @Test func rollingBackTheRetirementIsSafe() throws {
        let w = try Self.workspace()
        let result = try Self.plan(w, "config-rotated.yaml", "config.yaml", ["--output", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try Self.json(result.stdout)
        let transitions = try #require(document["transitions"] as? [[String: Any]])
        #expect(transitions.contains { $0["from"] as? String == "undecryptable" && $0["effect"] as? String == "repairs" })
    }

    @Test func removingIdentityListsUnencryptedEntriesAsBreaking() throws {
        let w = try Self.workspace()
        let result = try Self.plan(w, "config.yaml", "config-no-identity.yaml", ["--output", "json"])
        #expect(result.status == 1)
        let transitions = try #require(try Self.json(result.stdout)["transitions"] as? [[String: Any]])
        #expect(transitions.contains { $0["from"] as? String == "unencrypted" && $0["to"] as? String == "undecryptable" && $0["effect"] as? String == "breaks" })
    }

    @Test func jsonIsVersionedAndIdenticalRunToRun() throws {
        let w = try Self.workspace()
        let first = try Self.plan(w, "config.yaml", "config-rotated.yaml", ["--output", "json"])
        let second = try Self.plan(w, "config.yaml", "config-rotated.yaml", ["--output", "json"])
        #expect(first.stdout == second.stdout)
        let document = try Self.json(first.stdout)
        #expect(document["apiVersion"] as? String == "atrest.io/v1")
        #expect(document["kind"] as? String == "Plan")
        #expect(document["safe"] as? Bool == false)
    }

    @Test func rewriteCommandsUseKubectlResourceNames() throws {
        let w = try Self.workspace()
        let result = try Self.plan(w, "config.yaml", "config.yaml", ["--output", "json"])
        let rewrite = try #require(try Self.json(result.stdout)["rewrite"] as? [String: Any])
        let commands = try #require(rewrite["commands"] as? [[String: Any]]).compactMap { $0["command"] as? String }
        #expect(commands.contains { $0.hasPrefix("kubectl get secrets ") && $0.hasSuffix(" -o json | kubectl replace -f -") })
        #expect(commands.contains("kubectl get deployments.apps -n default -o json | kubectl replace -f -"))
        #expect(commands.contains("kubectl get widgets.example.com -n default -o json | kubectl replace -f -"))
    }

    @Test func noOutputContainsASecretOrPlaintext() throws {
        let w = try Self.workspace()
        let secrets = try Self.secrets()
        #expect(!secrets.isEmpty)
        for format in ["text", "json", "markdown"] {
            let result = try Self.plan(w, "config.yaml", "config-rotated.yaml", ["--output", format, "--limit", "1000"])
            let output = result.stdout + result.stderr
            #expect(!output.contains(Self.marker), "\(format)")
            for secret in secrets { #expect(!output.contains(secret), "\(format) shows a secret") }
        }
    }

    @Test func markdownHasTheRewriteCommandsInAShellBlock() throws {
        let w = try Self.workspace()
        let result = try Self.plan(w, "config.yaml", "config-rotated.yaml", ["--output", "markdown"])
        #expect(result.stdout.hasPrefix("# atrest plan"))
        #expect(result.stdout.contains("```sh\nkubectl get "))
    }

    @Test func anIndexGivesTheSameReportAsTheExport() throws {
        let w = try Self.workspace()
        let index = w.directory.appendingPathComponent("index").path
        #expect(try AtRestBinary.run(["index", w.export, "--index", index]).status == 0)
        let fromIndex = try AtRestBinary.run(["plan", "--feature-gates", "KMSv1=true", "--config", w.config("config.yaml"), "--proposed", w.config("config-rotated.yaml"),
                                              "--index", index, "--output", "json"])
        let fromExport = try Self.plan(w, "config.yaml", "config-rotated.yaml", ["--output", "json"])
        #expect(fromIndex.status == 1)
        let strip: (String) throws -> NSDictionary = { text in
            var document = try Self.json(text)
            document["input"] = nil
            return document as NSDictionary
        }
        #expect(try strip(fromIndex.stdout) == strip(fromExport.stdout))
    }

    @Test func planWithoutInputIsAUsageError() throws {
        let w = try Self.workspace()
        let result = try AtRestBinary.run(["plan", "--feature-gates", "KMSv1=true", "--config", w.config("config.yaml"), "--proposed", w.config("config-rotated.yaml")])
        #expect(result.status == 2)
    }

    @Test func anInvalidProposedConfigurationIsStatus2() throws {
        let w = try Self.workspace()
        let broken = w.config("broken.yaml")
        try Data("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources: []\n".utf8).write(to: URL(fileURLWithPath: broken))
        let result = try AtRestBinary.run(["plan", "--feature-gates", "KMSv1=true", "--config", w.config("config.yaml"), "--proposed", broken, w.export])
        #expect(result.status == 2)
        #expect(result.stderr.contains("broken.yaml"))
    }

    @Test func nothingUnderThePrefixIsStatus3() throws {
        let w = try Self.workspace()
        let result = try Self.plan(w, "config.yaml", "config-rotated.yaml", ["--etcd-prefix", "/elsewhere"])
        #expect(result.status == 3)
    }

    // MARK: --compare

    @Test func identicalHostsAreSafe() throws {
        let w = try Self.workspace()
        let copy = w.config("host2.yaml")
        try FileManager.default.copyItem(atPath: w.config("config.yaml"), toPath: copy)
        let result = try AtRestBinary.run(["plan", "--feature-gates", "KMSv1=true", "--compare", w.config("config.yaml"), copy])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("IDENTICAL"))
    }

    @Test func hostThatRetiredAKeyStillWrittenElsewhereIsNotUnsafeByConfiguration() throws {
        // config.yaml writes with key1, which config-rotated.yaml still lists; key2 is only read: a note.
        let w = try Self.workspace()
        let result = try AtRestBinary.run(["plan", "--feature-gates", "KMSv1=true", "--compare", w.config("config.yaml"), w.config("config-rotated.yaml"), "--output", "json"])
        #expect(result.status == 0, "\(result.stdout)")
        let findings = try #require(try Self.json(result.stdout)["findings"] as? [[String: Any]])
        #expect(findings.contains { $0["severity"] as? String == "note" && ($0["message"] as? String)?.contains("key2") == true })
    }

    @Test func hostsCompareEntriesGivenAfterTheHostFiles() throws {
        let w = try Self.workspace()
        let result = try AtRestBinary.run(["plan", "--feature-gates", "KMSv1=true", "--compare", w.config("config.yaml"), w.config("config-rotated.yaml"), w.export,
                                           "--output", "json"])
        #expect(result.status == 1, "\(result.stderr)")
        let data = try #require(try Self.json(result.stdout)["data"] as? [String: Any])
        #expect(data["audited"] as? Int == (try Self.entries()).count)
        let inconsistent = try #require(data["inconsistent"] as? [[String: Any]])
        #expect(inconsistent.compactMap { $0["key"] as? String } == ["/registry/secrets/default/gcm-key2", "/registry/secrets/kube-system/gcm-key2"])
    }

    @Test func hostWithoutIdentityIsOnlyANoteWhenEveryHostEncrypts() throws {
        // Both write with encrypting providers; only config.yaml can still read plaintext.
        let w = try Self.workspace()
        let result = try AtRestBinary.run(["plan", "--feature-gates", "KMSv1=true", "--compare", w.config("config.yaml"), w.config("config-no-identity.yaml")])
        #expect(result.status == 0, "\(result.stdout)")
        #expect(result.stdout.contains("config.yaml also lists identity for reading"))
    }

    @Test func compareNeedsTwoHosts() throws {
        let w = try Self.workspace()
        #expect(try AtRestBinary.run(["plan", "--feature-gates", "KMSv1=true", "--compare", w.config("config.yaml")]).status == 2)
    }

    @Test func compareJSONIsIdenticalRunToRunAndShowsNoSecret() throws {
        let w = try Self.workspace()
        let arguments = ["plan", "--feature-gates", "KMSv1=true", "--compare", w.config("config.yaml"), w.config("config-wildcard.yaml"), "--index"]
        let index = w.directory.appendingPathComponent("index").path
        #expect(try AtRestBinary.run(["index", w.export, "--index", index]).status == 0)
        let first = try AtRestBinary.run(arguments + [index, "--output", "json"])
        let second = try AtRestBinary.run(arguments + [index, "--output", "json"])
        #expect(first.stdout == second.stdout)
        #expect(first.status == 1)
        #expect(try Self.json(first.stdout)["kind"] as? String == "HostComparison")
        for secret in try Self.secrets() { #expect(!first.stdout.contains(secret)) }
        #expect(!first.stdout.contains(Self.marker))
    }
}
