import AtRestTestSupport
import Foundation
import Testing

/// Damaged and hostile inputs, run as a user runs atrest: each is refused with exit status 2 and one line
/// naming the file and where in it, and nothing is left behind. Damage is applied to a real etcdctl export
/// (`testdata/etcd/export.json`, etcd 3.4), so the only thing wrong is what each test breaks.
@Suite struct BadInputTests {
    private static let realExport = "etcd/export.json"

    /// Writes `bytes` as `name` in a fresh private directory.
    private func file(_ bytes: [UInt8], _ name: String) throws -> (path: String, directory: URL) {
        let directory = try Fixtures.temporaryDirectory("bad-input")
        let path = directory.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (path, directory)
    }

    /// Expects exit status 2 and exactly one line on standard error: `atrest: ` and `prefix`, ending with the
    /// error's stable identifier.
    private func expectRefused(_ result: AtRestBinary.Result, _ prefix: String, _ identifier: String,
                               sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 2, "exit \(result.status); stderr: \(result.stderr)", sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == 1, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(lines.first?.hasPrefix("atrest: " + prefix) == true, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(lines.first?.hasSuffix("[\(identifier)]") == true, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, "stdout: \(result.stdout.prefix(500))", sourceLocation: sourceLocation)
    }

    // MARK: Line formats

    @Test(arguments: ["fields", "hex", "plain"])
    func aLineOfAnyLineFormatLongerThanAtrestBuffersIsRefusedAtItsStart(_ format: String) throws {
        // 100 MiB on one line: over the 40 MiB a line may take, far over anything etcd stores.
        let long = [UInt8](repeating: UInt8(ascii: "a"), count: 100 << 20) + [0x0A]
        let bytes: [UInt8]
        switch format {
        case "fields": bytes = Array("\"ClusterID\" : 1\n\"MemberID\" : 2\n\"Revision\" : 3\n\"RaftTerm\" : 2\n\"Key\" : \"".utf8) + long
        case "hex": bytes = Array("\\x2f\\x61\n\\x".utf8) + long
        default: bytes = Array("/registry/a\n".utf8) + long
        }
        let (path, directory) = try file(bytes, "long.\(format).txt")
        defer { try? FileManager.default.removeItem(at: directory) }
        // The error points at the start of the long line.
        let start = (bytes[..<(bytes.count - long.count)].lastIndex(of: 0x0A) ?? -1) + 1
        expectRefused(try AtRestBinary.run(["stats", path]), "\(path): byte \(start): a single line or token is longer than 40 MiB", "dump.too-large")
    }

    // MARK: JSON exports

    @Test func realExportWithoutItsHeaderIsRefusedAtTheDocument() throws {
        var text = String(decoding: try Fixtures.bytes(Self.realExport), as: UTF8.self)
        let header = try #require(text.range(of: #""header":\{[^}]*\},"#, options: .regularExpression))
        text.removeSubrange(header)
        let (path, directory) = try file(Array(text.utf8), "no-header.json")
        defer { try? FileManager.default.removeItem(at: directory) }
        expectRefused(try AtRestBinary.run(["stats", path]), "\(path): byte 0: a JSON document without \"header\"", "dump.unknown-format")
    }

    @Test func emptyObjectIsRefused() throws {
        let (path, directory) = try file(Array("{}\n".utf8), "empty-object.json")
        defer { try? FileManager.default.removeItem(at: directory) }
        expectRefused(try AtRestBinary.run(["stats", path]), "\(path): byte 0: a JSON document without \"header\"", "dump.unknown-format")
    }

    @Test func invalidUTF8InAMemberAtrestIgnoresIsRefusedAtTheByte() throws {
        let export = try Fixtures.bytes(Self.realExport)
        let damaged = Array(#"{"note":"ok"#.utf8) + [0xC0, 0xAF] + Array(#"","#.utf8) + export.dropFirst()
        let (path, directory) = try file(damaged, "bad-utf8.json")
        defer { try? FileManager.default.removeItem(at: directory) }
        expectRefused(try AtRestBinary.run(["stats", path]), "\(path): byte 11: invalid UTF-8 (byte 0xC0) inside a string", "dump.malformed-json")
    }

    @Test func invalidUTF8InABase64KeyIsRefusedAtTheByte() throws {
        var export = try Fixtures.bytes(Self.realExport)
        let marker = Array(#""key":""#.utf8)
        let start = try #require((0...(export.count - marker.count)).first { export[$0..<($0 + marker.count)].elementsEqual(marker) })
        let damaged = start + marker.count + 2  // the third character of the first key's base64
        export[damaged] = 0xFF
        let (path, directory) = try file(export, "bad-key.json")
        defer { try? FileManager.default.removeItem(at: directory) }
        expectRefused(try AtRestBinary.run(["stats", path]), "\(path): byte \(damaged): invalid UTF-8 (byte 0xFF)", "dump.malformed-json")
    }

    @Test func valueOverTheStringLimitIsRefusedAtItsOpeningQuote() throws {
        let head = Array(#"{"header":{"revision":2},"kvs":[{"key":"L2E=","value":""#.utf8)
        let body = [UInt8](repeating: UInt8(ascii: "Q"), count: 40 << 20)
        let (path, directory) = try file(head + body + Array(#""}],"count":1}"#.utf8), "long-value.json")
        defer { try? FileManager.default.removeItem(at: directory) }
        expectRefused(try AtRestBinary.run(["stats", path]), "\(path): byte \(head.count - 1): value: a string longer than 32 MiB", "dump.too-large")
    }

    @Test func keyOf100MiBIsRefusedWithoutReadingItAll() throws {
        let directory = try Fixtures.temporaryDirectory("bad-input")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("long-key.json").path
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        let head = Array(#"{"header":{"revision":2},"kvs":[{"key":""#.utf8)
        try handle.write(contentsOf: head)
        // 100 MiB of key bytes is 4/3 as much base64.
        let chunk = Data(repeating: UInt8(ascii: "A"), count: 4 << 20)
        for _ in 0..<(100 / 3 + 1) { try handle.write(contentsOf: chunk) }
        try handle.write(contentsOf: Array(#""}],"count":1}"#.utf8))
        try handle.close()
        expectRefused(try AtRestBinary.run(["stats", path]), "\(path): byte \(head.count - 1): key: a string longer than 32 MiB", "dump.too-large")
    }

    @Test func millionNestedArraysAreRefusedNotOverflowed() throws {
        let text = #"{"header":{"revision":2},"x":"# + String(repeating: "[", count: 1_000_000)
        let (path, directory) = try file(Array(text.utf8), "deep.json")
        defer { try? FileManager.default.removeItem(at: directory) }
        expectRefused(try AtRestBinary.run(["stats", path]), "\(path): byte ", "dump.malformed-json")
    }

    @Test func refusedExportLeavesNoIndex() throws {
        let (path, directory) = try file(Array(#"{"kvs":[{"key":"L2E=","value":"eA=="}],"count":1}"#.utf8), "no-header.json")
        defer { try? FileManager.default.removeItem(at: directory) }
        let index = directory.appendingPathComponent("index").path
        expectRefused(try AtRestBinary.run(["index", path, "--index", index]), "\(path): byte 0:", "dump.unknown-format")
        #expect(!FileManager.default.fileExists(atPath: index))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0 != "no-header.json" }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test(.enabled(if: EtcdServer.shouldRun, "etcd is not installed (set CI=true to make this a failure)"),
          .timeLimit(.minutes(2)))
    func realAnswerForAnEmptyRangeIsAccepted() throws {
        let server = try EtcdServer()
        defer { server.stop() }
        let exported = try server.etcdctlChecked(raw: ["get", "/nothing/here", "--prefix", "-w", "json"].map { Array($0.utf8) })
        #expect(!String(decoding: exported, as: UTF8.self).contains("\"kvs\""))
        let (path, directory) = try file(exported, "empty-range.json")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try AtRestBinary.run(["stats", path, "--output", "json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
    }

    @Test(.enabled(if: EtcdServer.shouldRun, "etcd is not installed (set CI=true to make this a failure)"),
          .timeLimit(.minutes(2)))
    func realExportOfAValueNearEtcdsRequestLimitIsAccepted() throws {
        let server = try EtcdServer()
        defer { server.stop() }
        // 1.2 MiB: under etcd's default --max-request-bytes (1.5 MiB), with non-ASCII key bytes.
        let value = (0..<(1_200 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try server.put(Array("/registry/configmaps/default/größe".utf8), value)
        let exported = try server.etcdctlChecked(raw: ["get", "", "--prefix", "-w", "json"].map { Array($0.utf8) })
        let (path, directory) = try file(exported, "big-value.json")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try AtRestBinary.run(["stats", path, "--output", "json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let counts = (report?["input"] as? [String: Any])?["counts"] as? [String: Any]
        #expect(counts?["liveKeys"] as? Int == 1)
    }

    // MARK: Encryption configurations

    @Test func configurationThatIsNotUTF8IsRefusedAtTheByteAndLine() throws {
        let bytes = Array("apiVersion: v1\nkind: EncryptionConfig\nresources:\n  - resources: [secr".utf8) + [0xE9] + Array("ts]\n    providers: [{identity: {}}]\n".utf8)
        let (path, directory) = try file(bytes, "latin1.yaml")
        defer { try? FileManager.default.removeItem(at: directory) }
        expectRefused(try AtRestBinary.run(["config", "check", path]), "\(path): line 4 (byte 69): not valid UTF-8", "config.error")
        let export = Fixtures.path(Self.realExport)
        expectRefused(try AtRestBinary.run(["audit", export, "--config", path]), "\(path): line 4 (byte 69): not valid UTF-8", "config.error")
    }

    @Test func deeplyNestedConfigurationIsRefusedWithItsLine() throws {
        let yaml = "apiVersion: v1\nkind: EncryptionConfig\nresources:\n" + String(repeating: "- ", count: 500_000) + "x\n"
        let (path, directory) = try file(Array(yaml.utf8), "deep.yaml")
        defer { try? FileManager.default.removeItem(at: directory) }
        expectRefused(try AtRestBinary.run(["config", "check", path]), "\(path):4: invalid YAML: nested deeper than 1000 levels", "config.error")
    }

    @Test func configurationWithAMillionKeysIsRefusedAtTheSizeLimit() throws {
        let yaml = "apiVersion: v1\nkind: EncryptionConfig\nresources:\n  - resources: [secrets]\n    providers:\n      - aescbc:\n          keys:\n"
            + (0..<1_000_000).map { "            - {name: k\($0), secret: c2VjcmV0IGlzIHNlY3VyZQ==}\n" }.joined()
        let (path, directory) = try file(Array(yaml.utf8), "many-keys.yaml")
        defer { try? FileManager.default.removeItem(at: directory) }
        expectRefused(try AtRestBinary.run(["config", "check", path]), "\(path): byte 1048576: larger than 1 MiB", "config.error")
    }
}
