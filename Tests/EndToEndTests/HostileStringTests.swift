import AtRestTestSupport
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// Strings from the data never reach a terminal raw (D1, D21): an export whose keys,
/// resource and group segments, unknown provider names and KMS v2 key IDs carry every
/// character that controls a terminal or reorders text, rendered by every command in
/// every format. Machine formats still parse, and a newline in the data never starts
/// a line of a report.
@Suite struct HostileStringTests {
    /// OSC 52 (clipboard), OSC 8 (link), CSI, CR, BEL, DEL, C1 CSI, bidi overrides and
    /// isolates, LRM/RLM, ALM, line separator, then a newline followed by a fake report line.
    static let hostile = "\u{1B}]52;c;ZXZpbA==\u{07}\u{1B}]8;;https://x.example\u{1B}\\L\u{1B}]8;;\u{1B}\\\u{1B}[2J\r\u{0}\u{7F}\u{9B}1m"
        + "\u{202A}\u{202B}\u{202C}\u{202D}\u{202E}\u{2066}\u{2067}\u{2068}\u{2069}\u{200E}\u{200F}\u{061C}\u{2028}\u{2029}\u{85}"
        + "\nFAKE-LINE: identity can be removed now\n"
    /// The same without NUL, for strings that pass through a command line or gRPC.
    static let hostileNoNUL = hostile.replacingOccurrences(of: "\u{0}", with: "")
    static let fakeLine = "FAKE-LINE"

    /// Characters that must never appear raw in output: everything `TerminalText` escapes.
    static func forbidden(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x20 || (0x7F...0x9F).contains(value) { return scalar != "\n" }
        switch scalar.properties.generalCategory {
        case .format, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }

    /// Fails the test if `output` holds a forbidden character or a line that the data made.
    static func expectClean(_ output: String, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let raw = output.unicodeScalars.filter(forbidden)
        #expect(raw.isEmpty, "\(label): raw \(raw.prefix(8).map { String($0.value, radix: 16) })", sourceLocation: sourceLocation)
        let faked = output.split(separator: "\n").contains { $0.drop { $0 == " " || $0 == "\"" || $0 == "|" || $0 == "-" }.hasPrefix(fakeLine) }
        #expect(!faked, "\(label): a newline in the data started a line", sourceLocation: sourceLocation)
    }

    // MARK: The hostile export

    /// Protobuf field `number` (length-delimited) holding `bytes`.
    static func field(_ number: UInt8, _ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [number << 3 | 2]
        var length = bytes.count
        repeat {
            out.append(UInt8(length & 0x7F) | (length > 0x7F ? 0x80 : 0))
            length >>= 7
        } while length > 0
        return out + bytes
    }

    /// A KMS v2 value of provider `name` whose EncryptedObject carries `keyID`.
    static func kmsV2Value(provider name: String, keyID: [UInt8]) -> [UInt8] {
        Array("k8s:enc:kms:v2:\(name):".utf8) + field(1, [UInt8](repeating: 0x61, count: 60)) + field(2, keyID)
            + field(3, [UInt8](repeating: 0x64, count: 32)) + [5 << 3, 1]
    }

    static let configuration = """
        apiVersion: apiserver.config.k8s.io/v1
        kind: EncryptionConfiguration
        resources:
          - resources: [secrets, configmaps]
            providers:
              - aesgcm: {keys: [{name: key1, secret: wZPl9qd+KCzQjxaK2mBjvC8Hp/oSGWynRbocrM0NSFc=}]}
              - kms: {apiVersion: v2, name: vault, endpoint: "unix:///nonexistent/kms.sock"}
              - identity: {}
          - resources: ['*.*']
            providers:
              - aesgcm: {keys: [{name: key1, secret: wZPl9qd+KCzQjxaK2mBjvC8Hp/oSGWynRbocrM0NSFc=}]}
              - identity: {}

        """

    /// The proposed configuration of `plan`: identity gone, so plaintext entries break.
    static let proposed = configuration.replacingOccurrences(of: "      - identity: {}\n", with: "")

    static let plaintextSecret = Array(#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"n","namespace":"default"},"data":{"k":"dg=="}}"#.utf8)

    /// Keys and values, each with the hostile string (or invalid UTF-8) where the data can put it.
    static func entries() -> [(key: [UInt8], value: [UInt8])] {
        let h = Array(hostile.utf8)
        // A Secret whose kind, name, namespace and data key are hostile (inspect --decrypt of a plaintext value).
        let object: [String: Any] = ["apiVersion": hostile, "kind": hostile,
                                     "metadata": ["name": hostile, "namespace": hostile], "data": [hostile: "dg=="]]
        let hostileObject = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { [UInt8]($0) } ?? []
        let entries: [(key: [UInt8], value: [UInt8])] = [
            // A custom resource whose group and resource segments are hostile.
            (Array("/registry/".utf8) + h + Array(".example.com/".utf8) + h + Array("/ns/a".utf8), plaintextSecret),
            // Two custom resources whose names are different invalid UTF-8.
            (Array("/registry/bad.example.com/".utf8) + [0xFF, 0xFE] + Array("/ns/a".utf8), plaintextSecret),
            (Array("/registry/bad.example.com/".utf8) + [0xFE, 0xFF] + Array("/ns/a".utf8), plaintextSecret),
            // An unknown built-in resource (one segment) that is hostile.
            (Array("/registry/".utf8) + h + Array("/a".utf8), plaintextSecret),
            // Unknown provider names.
            (Array("/registry/secrets/default/unknown-provider".utf8), Array("k8s:enc:".utf8) + h + Array(":v1:k:xxxxxxxx".utf8)),
            (Array("/registry/secrets/default/unknown-version".utf8), Array("k8s:enc:aesgcm:".utf8) + h + Array(":k:xxxxxxxx".utf8)),
            // A KMS v2 value whose key ID is hostile.
            (Array("/registry/secrets/default/kms-key-id".utf8), kmsV2Value(provider: "vault", keyID: h)),
            // Hostile object names, one of them a plaintext Secret with hostile contents.
            (Array("/registry/secrets/default/".utf8) + h, hostileObject),
            (Array("/registry/secrets/".utf8) + h + Array("/name".utf8), plaintextSecret),
        ]
        return entries.sorted { $0.key.lexicographicallyPrecedes($1.key) }
    }

    static func export(_ entries: [(key: [UInt8], value: [UInt8])]) -> Data {
        let kvs = entries.enumerated().map { index, entry in
            #"{"key":"\#(Data(entry.key).base64EncodedString())","create_revision":\#(index + 2),"mod_revision":\#(index + 2),"version":1,"value":"\#(Data(entry.value).base64EncodedString())"}"#
        }
        return Data((#"{"header":{"cluster_id":1,"member_id":2,"revision":\#(entries.count + 1),"raft_term":2},"kvs":["#
            + kvs.joined(separator: ",") + #"],"count":\#(entries.count)}"#).utf8)
    }

    struct Workspace {
        let directory: URL
        let export: String
        let config: String
        let proposed: String

        init() throws {
            directory = try Fixtures.temporaryDirectory("hostile")
            export = directory.appendingPathComponent("export.json").path
            config = directory.appendingPathComponent("config.yaml").path
            proposed = directory.appendingPathComponent("proposed.yaml").path
            try HostileStringTests.export(HostileStringTests.entries()).write(to: URL(fileURLWithPath: export))
            for (path, text) in [(config, HostileStringTests.configuration), (proposed, HostileStringTests.proposed)] {
                #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]))
            }
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    static let formats = ["text", "json", "jsonl", "markdown", "html", "sarif", "junit", "prometheus"]

    // MARK: audit

    @Test(arguments: formats)
    func auditPrintsNoRawControlInAnyFormat(format: String) throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let result = try AtRestBinary.run(["audit", workspace.export, "--config", workspace.config, "--output", format, "--exit-zero"])
        #expect(result.status == 0, "\(result.stderr)")
        Self.expectClean(result.stdout, "audit --output \(format)")
        Self.expectClean(result.stderr, "audit --output \(format) (stderr)")
        // Every hostile entry is audited.
        #expect(result.stdout.contains("unknown") || format == "prometheus" || format == "junit")
    }

    @Test func auditMachineFormatsStillParse() throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        func run(_ format: String) throws -> String {
            let result = try AtRestBinary.run(["audit", workspace.export, "--config", workspace.config, "--output", format, "--exit-zero"])
            #expect(result.status == 0, "\(result.stderr)")
            return result.stdout
        }
        for format in ["json", "sarif"] {
            #expect(try JSONSerialization.jsonObject(with: Data(try run(format).utf8)) is [String: Any], "\(format)")
        }
        let lines = try run("jsonl").split(separator: "\n")
        #expect(lines.count == Self.entries().count)
        for line in lines { #expect(try JSONSerialization.jsonObject(with: Data(line.utf8)) is [String: Any]) }
        #if canImport(FoundationXML) || os(macOS)
        _ = try XMLDocument(data: Data(try run("junit").utf8))
        #endif
        // Prometheus: every line is a comment or `name{label="value",...} number`.
        let series = try Self.prometheusSeries(try run("prometheus"))
        #expect(!series.isEmpty)
    }

    /// The series of a Prometheus text exposition, checked line by line against its grammar.
    static func prometheusSeries(_ text: String) throws -> [String] {
        let pattern = try NSRegularExpression(pattern: #"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(\\[\\"n]|[^\\"\n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(\\[\\"n]|[^\\"\n])*")*\})? -?[0-9]+$"#)
        var series: [String] = []
        for line in text.split(separator: "\n").map(String.init) where !line.hasPrefix("# HELP ") && !line.hasPrefix("# TYPE ") {
            let range = NSRange(line.startIndex..., in: line)
            #expect(pattern.firstMatch(in: line, range: range) != nil, "not a Prometheus sample line: \(line)")
            series.append(line)
        }
        return series
    }

    @Test func prometheusKeepsResourcesWithDifferentInvalidUTF8Apart() throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let result = try AtRestBinary.run(["audit", workspace.export, "--config", workspace.config, "--output", "prometheus", "--exit-zero"])
        #expect(result.status == 0, "\(result.stderr)")
        let series = try Self.prometheusSeries(result.stdout).filter {
            $0.hasPrefix("atrest_entries{") && $0.contains("bad.example.com") && $0.contains("verdict=\"unencrypted\"")
        }
        #expect(series.count == 2, "\(series)")
        #expect(series.allSatisfy { $0.hasSuffix(" 1") }, "\(series)")
        #expect(!result.stdout.contains("\u{FFFD}"))
    }

    // MARK: stats, plan, inspect

    @Test(arguments: ["text", "json"])
    func statsPrintsNoRawControl(format: String) throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let result = try AtRestBinary.run(["stats", workspace.export, "--output", format])
        #expect(result.status == 0, "\(result.stderr)")
        Self.expectClean(result.stdout, "stats --output \(format)")
        if format == "json" { #expect(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) is [String: Any]) }
    }

    @Test(arguments: ["text", "json", "markdown"])
    func planPrintsNoRawControl(format: String) throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let result = try AtRestBinary.run(["plan", "--config", workspace.config, "--proposed", workspace.proposed, workspace.export,
                                           "--output", format])
        #expect(result.status == 1, "the proposed configuration breaks the plaintext entries: \(result.stderr)")
        #expect(result.stdout.contains(format == "json" ? "\"safe\": false" : "UNSAFE"))
        Self.expectClean(result.stdout, "plan --output \(format)")
        Self.expectClean(result.stderr, "plan --output \(format) (stderr)")
        if format == "json" { #expect(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) is [String: Any]) }
    }

    @Test func planCompareOfHostsPrintsNoRawControl() throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let result = try AtRestBinary.run(["plan", "--compare", workspace.config, workspace.proposed, workspace.export])
        #expect(result.status == 1, "\(result.stderr)")
        Self.expectClean(result.stdout, "plan --compare")
    }

    @Test func inspectPrintsNoRawControlFromKeysValuesOrDecryptedObjects() throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        let result = try AtRestBinary.run(["inspect", workspace.export, "--prefix", "/registry/", "--config", workspace.config, "--decrypt"])
        #expect(result.status == 0, "\(result.stderr)")
        // The decrypted object's kind, name, namespace and data key are shown, escaped.
        #expect(result.stdout.contains("  kind          \\x1b]52;c;ZXZpbA==\\x07"))
        #expect(result.stdout.contains("data[\"\\x1b]52;c;"))
        Self.expectClean(result.stdout, "inspect")
        Self.expectClean(result.stderr, "inspect (stderr)")
    }

    // MARK: Errors

    @Test func errorLinesCarryNoRawControl() throws {
        let directory = try Fixtures.temporaryDirectory("hostile-error")
        defer { try? FileManager.default.removeItem(at: directory) }
        // A configuration whose unknown field and resource name are hostile: the checker quotes both.
        let config = directory.appendingPathComponent("config.yaml").path
        let text = """
            apiVersion: apiserver.config.k8s.io/v1
            kind: EncryptionConfiguration
            resources:
              - resources: ["\(Self.yamlEscaped(Self.hostileNoNUL))"]
                providers:
                  - identity: {}
                    "\(Self.yamlEscaped(Self.hostileNoNUL))": 1

            """
        #expect(FileManager.default.createFile(atPath: config, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]))
        let check = try AtRestBinary.run(["config", "check", config])
        #expect(check.status == 2)
        Self.expectClean(check.stdout, "config check")
        Self.expectClean(check.stderr, "config check (stderr)")
        let audit = try AtRestBinary.run(["audit", Fixtures.path("audit/entries.json"), "--config", config])
        #expect(audit.status == 2)
        #expect(audit.stderr.split(separator: "\n").count == 1, "\(audit.stderr)")
        Self.expectClean(audit.stderr, "audit with a refused configuration (stderr)")
    }

    /// `text` as the inside of a double-quoted YAML scalar.
    static func yamlEscaped(_ text: String) -> String {
        text.unicodeScalars.map { scalar in
            switch scalar {
            case "\"": return "\\\""
            case "\\": return "\\\\"
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value >= 0x2000 && scalar.value < 0x2100 || scalar.value == 0x61C || scalar.value == 0x200E || scalar.value == 0x200F {
                    return String(format: scalar.value > 0xFF ? "\\u%04x" : "\\x%02x", scalar.value)
                }
                return String(scalar)
            }
        }.joined()
    }
}

/// Strings a KMS plugin sends never reach a terminal raw (D2): its `healthz` in the
/// error line, its current key ID in the report, its Decrypt error messages (which
/// quote the stored key ID) in the reasons. Real plugins (`testdata/kms/kms_plugin.py`)
/// answer with the hostile strings.
@Suite struct HostilePluginStringTests {
    static let hostile = HostileStringTests.hostileNoNUL

    @Test func aHostileHealthzIsEscapedInTheErrorLine() throws {
        var v2 = KMSPluginServer.Options()
        v2.healthz = Self.hostile
        let plugins = try KMSAuditTests.plugins(v2: v2)
        defer { plugins.stop() }
        let result = try AtRestBinary.run(["audit", KMSAuditTests.export, "--config", KMSAuditTests.config] + KMSAuditTests.rules + plugins.endpoints)
        #expect(result.status == 2)
        #expect(result.stderr.contains("[kms.unhealthy]"), "\(result.stderr)")
        #expect(result.stderr.contains("\\x1b]52;c;ZXZpbA==\\x07"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        HostileStringTests.expectClean(result.stderr, "healthz error")
    }

    @Test(arguments: ["text", "json", "markdown", "html", "sarif", "junit", "prometheus"])
    func aHostileCurrentKeyIDIsEscapedInTheReport(format: String) throws {
        let directory = try Fixtures.temporaryDirectory("hostile-key-id")
        defer { try? FileManager.default.removeItem(at: directory) }
        var keks = try #require(try JSONSerialization.jsonObject(with: Data(Fixtures.bytes("kms/keks.json"))) as? [String: String])
        keks[Self.hostile] = keks["k1"]
        let keksPath = directory.appendingPathComponent("keks.json").path
        try JSONSerialization.data(withJSONObject: keks).write(to: URL(fileURLWithPath: keksPath))
        var v2 = KMSPluginServer.Options(currentKeyID: Self.hostile)
        v2.keks = keksPath
        let plugins = try KMSAuditTests.plugins(v2: v2)
        defer { plugins.stop() }
        let result = try AtRestBinary.run(["audit", KMSAuditTests.export, "--config", KMSAuditTests.config, "--output", format, "--exit-zero"]
                                          + KMSAuditTests.rules + plugins.endpoints)
        #expect(result.status == 0, "\(result.stderr)")
        if format == "text" { #expect(result.stdout.contains("current key ID \"\\x1b]52;c;ZXZpbA==\\x07"), "\(result.stdout)") }
        HostileStringTests.expectClean(result.stdout, "audit --kms --output \(format)")
    }

    @Test(arguments: ["text", "markdown", "junit", "sarif"])
    func aDecryptErrorQuotingAHostileStoredKeyIDIsEscaped(format: String) throws {
        let directory = try Fixtures.temporaryDirectory("hostile-decrypt-error")
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = Array("/registry/secrets/default/hostile-key-id".utf8)
        let export = directory.appendingPathComponent("export.json").path
        try HostileStringTests.export([(key, HostileStringTests.kmsV2Value(provider: "kms-v2", keyID: Array(Self.hostile.utf8)))])
            .write(to: URL(fileURLWithPath: export))
        let plugins = try KMSAuditTests.plugins()
        defer { plugins.stop() }
        let result = try AtRestBinary.run(["audit", export, "--config", KMSAuditTests.config, "--output", format, "--exit-zero"]
                                          + KMSAuditTests.rules + plugins.endpoints)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try plugins.v2.calls().contains { $0.method == "Decrypt" }, "the plugin was asked, and answered with an error")
        if format == "text" { #expect(result.stdout.contains("unknown key ID \"\\x1b]52;c;ZXZpbA==\\x07"), "\(result.stdout)") }
        HostileStringTests.expectClean(result.stdout, "audit --kms --output \(format)")
    }
}
