import AtRestTestSupport
import Foundation
import Testing

/// Reports of exports with many findings stay bounded (D3): every format lists at most
/// `AuditSummary.findingLimit` (10,000) entries of a verdict, the smallest keys, says
/// exactly how many more there are, and `--output jsonl` lists them all. Text tables
/// cut huge cells, so one long resource name does not pad every row (D4).
@Suite struct BoundedReportTests {
    static let limit = 10_000
    static let entries = 20_000

    static let configuration = """
        apiVersion: apiserver.config.k8s.io/v1
        kind: EncryptionConfiguration
        resources:
          - resources: [secrets]
            providers:
              - aesgcm: {keys: [{name: key1, secret: wZPl9qd+KCzQjxaK2mBjvC8Hp/oSGWynRbocrM0NSFc=}]}
              - identity: {}

        """

    static func key(_ index: Int) -> String { String(format: "/registry/secrets/d/%08d", index) }

    /// `entries` secrets: plaintext (`unencrypted`), or stored under an unknown provider (`undecryptable`).
    struct Workspace {
        let directory: URL
        let export: String
        let config: String

        init(undecryptable: Bool = false, entries: Int = BoundedReportTests.entries) throws {
            directory = try Fixtures.temporaryDirectory("bounded")
            export = directory.appendingPathComponent("export.json").path
            config = directory.appendingPathComponent("config.yaml").path
            let value = Data((undecryptable ? "k8s:enc:other:v1:k:xxxxxxxx" : "x").utf8).base64EncodedString()
            var out = #"{"header":{"cluster_id":1,"member_id":2,"revision":\#(entries + 1),"raft_term":2},"kvs":["#
            for index in 0..<entries {
                if index > 0 { out += "," }
                out += #"{"key":"\#(Data(BoundedReportTests.key(index).utf8).base64EncodedString())","create_revision":2,"mod_revision":2,"version":1,"value":"\#(value)"}"#
            }
            out += #"],"count":\#(entries)}"#
            try Data(out.utf8).write(to: URL(fileURLWithPath: export))
            #expect(FileManager.default.createFile(atPath: config, contents: Data(BoundedReportTests.configuration.utf8),
                                                   attributes: [.posixPermissions: 0o600]))
        }

        func audit(_ format: String, _ extra: [String] = []) throws -> String {
            let result = try AtRestBinary.run(["audit", export, "--config", config, "--output", format, "--exit-zero"] + extra)
            #expect(result.status == 0, "\(result.stderr)")
            return result.stdout
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func sarifListsTheSmallestKeysAndCountsTheRest() throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let document = try Self.json(try workspace.audit("sarif"))
        let run = try #require((document["runs"] as? [[String: Any]])?.first)
        let results = try #require(run["results"] as? [[String: Any]])
        #expect(results.count == Self.limit)
        let names = results.compactMap { (($0["locations"] as? [[String: Any]])?.first?["logicalLocations"] as? [[String: Any]])?.first?["fullyQualifiedName"] as? String }
        #expect(names == (0..<Self.limit).map(Self.key))
        let notifications = try #require((run["invocations"] as? [[String: Any]])?.first?["toolExecutionNotifications"] as? [[String: Any]])
        let texts = notifications.compactMap { ($0["message"] as? [String: Any])?["text"] as? String }
        #expect(texts.contains("10000 of 20000 unencrypted entries are counted but not listed one by one; --output jsonl lists every entry."), "\(texts)")
    }

    @Test func jsonlListsEveryEntry() throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let lines = try workspace.audit("jsonl").split(separator: "\n")
        #expect(lines.count == Self.entries)
        #expect(Set(try lines.map { try Self.json(String($0))["key"] as? String ?? "" }) == Set((0..<Self.entries).map(Self.key)))
    }

    @Test func htmlJUnitAndMarkdownSayExactlyHowManyMore() throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let html = try workspace.audit("html")
        #expect(html.contains("id=\"findings-more\" data-count=\"18000\""))
        #expect(html.components(separatedBy: "<tr data-verdict=\"unencrypted\"").count - 1 == 2000)
        let junit = try workspace.audit("junit")
        #expect(junit.contains("... and 19,990 more (--output jsonl lists every entry)"))
        #expect(junit.contains("unencrypted: \(Self.key(9)): "))
        let markdown = try workspace.audit("markdown")
        #expect(markdown.contains("… and 19,980 more (`--output jsonl` lists every entry)."))
    }

    @Test func jsonAndTextCountTheUndecryptableEntriesNotListed() throws {
        let workspace = try Workspace(undecryptable: true)
        defer { workspace.remove() }
        let document = try Self.json(try workspace.audit("json"))
        #expect((document["undecryptable"] as? [Any])?.count == Self.limit)
        #expect(document["undecryptableNotListed"] as? Int == Self.entries - Self.limit)
        let text = try workspace.audit("text")
        #expect(text.contains("  ... and 19,950 more (--output jsonl lists every entry)"))
    }

    /// The etcd keys of a SARIF report's results, in order.
    static func resultKeys(_ sarif: String) throws -> [String] {
        let run = try #require((try json(sarif)["runs"] as? [[String: Any]])?.first)
        return (run["results"] as? [[String: Any]] ?? []).compactMap {
            (($0["locations"] as? [[String: Any]])?.first?["logicalLocations"] as? [[String: Any]])?.first?["fullyQualifiedName"] as? String
        }
    }

    @Test func theKeptFindingsAreTheSameWhateverTheJobs() throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let one = try workspace.audit("sarif", ["--jobs", "1"])
        #expect(try workspace.audit("sarif", ["--jobs", "3"]) == one)
        // An index is cut into key ranges audited on threads of their own.
        let index = workspace.directory.appendingPathComponent("index").path
        #expect(try AtRestBinary.run(["index", workspace.export, "--index", index]).status == 0)
        let indexed = try AtRestBinary.run(["audit", "--index", index, "--config", workspace.config, "--output", "sarif", "--exit-zero", "--jobs", "3"])
        #expect(indexed.status == 0, "\(indexed.stderr)")
        #expect(try Self.resultKeys(indexed.stdout) == (0..<Self.limit).map(Self.key))
    }

    @Test func planListsTheSmallestBreakingKeysAndCountsThemAll() throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        // Removing identity before the rewrite breaks every plaintext secret.
        let proposed = workspace.directory.appendingPathComponent("proposed.yaml").path
        #expect(FileManager.default.createFile(atPath: proposed, contents: Data(Self.configuration.replacingOccurrences(of: "      - identity: {}\n", with: "").utf8),
                                               attributes: [.posixPermissions: 0o600]))
        func plan(_ format: String) throws -> String {
            let result = try AtRestBinary.run(["plan", "--config", workspace.config, "--proposed", proposed, workspace.export, "--output", format])
            #expect(result.status == 1, "\(result.stderr)")
            return result.stdout
        }
        let breaking = try #require(try Self.json(try plan("json"))["breaking"] as? [String: Any])
        #expect(breaking["entries"] as? Int == Self.entries)
        #expect(breaking["notListed"] as? Int == Self.entries - Self.limit)
        #expect((breaking["list"] as? [[String: Any]])?.compactMap { $0["key"] as? String } == (0..<Self.limit).map(Self.key))
        let text = try plan("text")
        #expect(text.contains("UNSAFE: 20,000 entries readable under"))
        #expect(text.contains("  ... and 19,990 more (--output json lists the first 10,000)"))
    }

    @Test func planCompareListsTheSmallestInconsistentKeysAndCountsThemAll() throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        // A host without identity cannot read the plaintext secrets the other host reads.
        let other = workspace.directory.appendingPathComponent("other.yaml").path
        #expect(FileManager.default.createFile(atPath: other, contents: Data(Self.configuration.replacingOccurrences(of: "      - identity: {}\n", with: "").utf8),
                                               attributes: [.posixPermissions: 0o600]))
        func compare(_ format: String) throws -> String {
            let result = try AtRestBinary.run(["plan", "--compare", workspace.config, other, workspace.export, "--output", format])
            #expect(result.status == 1, "\(result.stderr)")
            return result.stdout
        }
        let data = try #require(try Self.json(try compare("json"))["data"] as? [String: Any])
        #expect((data["inconsistent"] as? [[String: Any]])?.compactMap { $0["key"] as? String } == (0..<Self.limit).map(Self.key))
        #expect(data["inconsistentNotListed"] as? Int == Self.entries - Self.limit)
        let text = try compare("text")
        #expect(text.contains("UNSAFE: 20,000 entries are readable on some hosts and not on others"), "\(text)")
        #expect(text.contains("    ... and 19,990 more (--output json lists the first 10,000)"), "\(text)")
    }

    // MARK: Wide cells (D4)

    /// Keys of `count` custom resources with short names, and one whose name is `long` bytes.
    static func widepadExport(long: Int, count: Int, to path: String) throws {
        var keys = (0..<count).map { "/registry/w.example.com/r\($0)/ns/a" }
        keys.append("/registry/w.example.com/" + String(repeating: "r", count: long) + "/ns/a")
        keys.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let value = Data("x".utf8).base64EncodedString()
        let kvs = keys.map { #"{"key":"\#(Data($0.utf8).base64EncodedString())","create_revision":2,"mod_revision":2,"version":1,"value":"\#(value)"}"# }
        try Data((#"{"header":{"revision":\#(keys.count + 1)},"kvs":["# + kvs.joined(separator: ",") + #"],"count":\#(keys.count)}"#).utf8)
            .write(to: URL(fileURLWithPath: path))
    }

    @Test func oneHugeResourceNameDoesNotPadEveryRow() throws {
        let directory = try Fixtures.temporaryDirectory("widepad")
        defer { try? FileManager.default.removeItem(at: directory) }
        let export = directory.appendingPathComponent("widepad.json").path
        try Self.widepadExport(long: 1 << 20, count: 200, to: export)
        let result = try AtRestBinary.run(["stats", export])
        #expect(result.status == 0, "\(result.stderr)")
        // 202 rows of at most 100 characters per cut cell, not 202 MB of padding.
        #expect(result.stdout.utf8.count < 100_000, "\(result.stdout.utf8.count) bytes")
        #expect(result.stdout.contains(String(repeating: "r", count: 99) + "…"))
    }

    @Test func wideShowsEveryCellWhole() throws {
        let directory = try Fixtures.temporaryDirectory("wide")
        defer { try? FileManager.default.removeItem(at: directory) }
        let export = directory.appendingPathComponent("wide.json").path
        try Self.widepadExport(long: 150, count: 3, to: export)
        let long = String(repeating: "r", count: 150) + ".w.example.com"
        let cut = try AtRestBinary.run(["stats", export])
        #expect(!cut.stdout.contains(long))
        let wide = try AtRestBinary.run(["stats", export, "--wide"])
        #expect(wide.status == 0, "\(wide.stderr)")
        #expect(wide.stdout.contains(long))
    }
}
