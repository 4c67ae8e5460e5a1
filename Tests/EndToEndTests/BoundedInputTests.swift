import AtRestTestSupport
import Foundation
import Testing

/// What a hostile input or plugin can make atrest hold, print or send is bounded, and going past a
/// bound is a clear one-line error (exit 2), never a slow run, a huge output or a wrong verdict.
/// The defects of the security review these cover are named in each test.
@Suite struct BoundedInputTests {
    /// Expects exit status 2 and exactly one line on standard error, ending with `[identifier]`.
    private func expectRefused(_ result: AtRestBinary.Result, _ identifier: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 2, "exit \(result.status); stderr: \(result.stderr.prefix(2000))", sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == 1, "stderr: \(result.stderr.prefix(2000))", sourceLocation: sourceLocation)
        #expect(lines.first?.hasSuffix("[\(identifier)]") == true, "stderr: \(result.stderr.prefix(2000))", sourceLocation: sourceLocation)
    }

    private func privateFile(_ text: String, _ name: String, in directory: URL) throws -> String {
        let path = directory.appendingPathComponent(name).path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]))
        return path
    }

    // MARK: kine (D11)

    /// A kine row whose value is over what an etcdctl JSON export may carry (24 MiB) is refused before any
    /// row is read, naming the row: SQLite is never asked to hand over the value.
    @Test func aKineValueOverTheExportCapIsRefusedNamingItsRow() throws {
        let directory = try Fixtures.temporaryDirectory("kine-big")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("state.db").path
        let script = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.execute("CREATE TABLE kine (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, created INTEGER, deleted INTEGER, "
                       "create_revision INTEGER, prev_revision INTEGER, lease INTEGER, value BLOB, old_value BLOB)")
            db.execute("INSERT INTO kine VALUES (1, 'compact_rev_key', 1, 0, 0, 0, 0, '', '')")
            db.execute("INSERT INTO kine VALUES (2, '/registry/secrets/default/small', 1, 0, 2, 1, 0, x'6b38730000', NULL)")
            db.execute("INSERT INTO kine VALUES (3, '/registry/secrets/default/big', 1, 0, 3, 2, 0, zeroblob(25 * 1024 * 1024), NULL)")
            db.commit()
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, database]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        for command in [["stats", database], ["audit", database, "--config", Fixtures.path("configs/valid/aesgcm-identity.yaml")]] {
            let result = try AtRestBinary.run(command)
            expectRefused(result, "dump.too-large")
            #expect(result.stderr.hasPrefix("atrest: \(database): kine row 3: its value is 26214400 bytes, over the 24 MiB"), "\(result.stderr)")
        }
    }

    // MARK: Configuration (D16)

    /// A few aliases of one long anchored name stay far below the node cap, yet expand to megabytes that
    /// every finding would quote again: the walk stops at 4 MiB of expanded text, with one short line.
    @Test func aliasesOfALongAnchoredScalarStopAtTheExpandedSizeCap() throws {
        let directory = try Fixtures.temporaryDirectory("config-amplify")
        defer { try? FileManager.default.removeItem(at: directory) }
        let name = String(repeating: "X", count: 500_000)
        let aliases = Array(repeating: "*s", count: 40).joined(separator: ", ")
        let path = try privateFile("""
            apiVersion: apiserver.config.k8s.io/v1
            kind: EncryptionConfiguration
            resources:
              - resources: [&s \(name), \(aliases)]
                providers:
                  - identity: {}
            """, "amplify.yaml", in: directory)
        let result = try AtRestBinary.run(["config", "check", path])
        #expect(result.status == 2)
        #expect(result.stdout.utf8.count + result.stderr.utf8.count < 4096, "\(result.stdout.utf8.count) + \(result.stderr.utf8.count) bytes")
        #expect(result.stderr.contains("more than 4 MiB of YAML text after expanding aliases"), "\(result.stderr.prefix(500))")
    }

    /// A finding quotes at most 256 characters of a value and says how long it was.
    @Test func aFindingQuotesALongValueCutWithItsLength() throws {
        let directory = try Fixtures.temporaryDirectory("config-long-name")
        defer { try? FileManager.default.removeItem(at: directory) }
        let name = String(repeating: "Y", count: 100_000)
        let path = try privateFile("""
            apiVersion: apiserver.config.k8s.io/v1
            kind: EncryptionConfiguration
            resources:
              - resources: ["*.*", "\(name)"]
                providers:
                  - identity: {}
            """, "long.yaml", in: directory)
        let result = try AtRestBinary.run(["config", "check", path])
        #expect(result.status == 2)
        #expect(result.stdout.contains("\"" + String(repeating: "Y", count: 256) + "\"...(100000 bytes)"), "\(result.stdout.prefix(1000))")
        #expect(result.stdout.utf8.count < 4096, "\(result.stdout.utf8.count) bytes")
    }

    // MARK: KMS plugins (D12, D19, D21)

    static let kmsExport = Fixtures.path("kms/export.json")
    static let kmsConfig = Fixtures.path("kms/config.yaml")
    static let kmsRules = ["--kube-version", "1.29", "--feature-gates", "KMSv1=true"]

    /// Audits the KMS fixture through a v2 plugin that misbehaves as `misbehave` says, and an honest v1 one.
    private func auditThroughHostileV2Plugin(_ misbehave: String) throws -> AtRestBinary.Result {
        var options = KMSPluginServer.Options()
        options.misbehave = misbehave
        let v2 = try KMSPluginServer(options)
        let v1 = try KMSPluginServer(.init(api: "v1"))
        defer { v2.stop(); v1.stop() }
        return try AtRestBinary.run(["audit", Self.kmsExport, "--config", Self.kmsConfig, "--kms", "--kms-endpoint", "kms-v2=\(v2.endpoint)",
                                     "--kms-endpoint", "kms-v1=\(v1.endpoint)"] + Self.kmsRules)
    }

    /// A plugin that answers `Decrypt` with 8 MiB where a 32-byte DEK belongs is cut off at the answer's
    /// length prefix (64 KiB at most is read) and stops the run: its values get no verdict.
    @Test func aDecryptAnswerLargerThanAnyDEKStopsTheRunUnbuffered() throws {
        let result = try auditThroughHostileV2Plugin("huge-plaintext")
        expectRefused(result, "kms.unreachable")
        #expect(result.stderr.contains("the plugin sent a 8388613-byte answer"), "\(result.stderr)")
        #expect(result.stderr.contains("atrest reads at most 64 KiB"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    /// A gRPC status message of 1 MiB is over swift-nio-http2's header limit: the connection is closed at
    /// once and the error says why, instead of waiting out the provider's timeout as "no answer".
    @Test func aHugeStatusMessageEndsTheCallAtOnceWithItsReason() throws {
        let started = Date()
        let result = try auditThroughHostileV2Plugin("huge-error")
        expectRefused(result, "kms.unreachable")
        #expect(result.stderr.contains("response headers over the 16 KiB atrest reads"), "\(result.stderr)")
        #expect(!result.stderr.contains("no answer within"), "\(result.stderr)")
        // The fixture's providers time out after 3 s.
        #expect(Date().timeIntervalSince(started) < 2.5)
    }

    /// An input that needs more `Decrypt` calls than `--kms-max-calls` is refused before the first one:
    /// the plugins' logs hold their health checks and nothing else.
    @Test(arguments: [false, true])
    func anInputNeedingMoreCallsThanTheCapIsRefusedBeforeAnyCall(throughAnIndex: Bool) throws {
        let v2 = try KMSPluginServer()
        let v1 = try KMSPluginServer(.init(api: "v1"))
        defer { v2.stop(); v1.stop() }
        let directory = try Fixtures.temporaryDirectory("kms-max-calls")
        defer { try? FileManager.default.removeItem(at: directory) }
        var input = [Self.kmsExport]
        if throughAnIndex {
            let index = directory.appendingPathComponent("idx").path
            let built = try AtRestBinary.run(["index", Self.kmsExport, "--index", index])
            try #require(built.status == 0, "\(built.stderr)")
            input = ["--index", index]
        }
        let result = try AtRestBinary.run(["audit"] + input + ["--config", Self.kmsConfig, "--kms", "--kms-endpoint", "kms-v2=\(v2.endpoint)",
                                                              "--kms-endpoint", "kms-v1=\(v1.endpoint)", "--kms-max-calls", "2"] + Self.kmsRules)
        expectRefused(result, "kms.too-many-calls")
        #expect(result.stderr.contains("distinct KMS DEK sources, so reading it takes as many Decrypt calls, over --kms-max-calls 2; no call was sent"),
                "\(result.stderr)")
        #expect(try v2.calls().map(\.method) == ["Status"])
        #expect(try v1.calls().map(\.method) == ["Version"])
    }

    /// The count is exact: a cap of exactly what the input needs lets the audit run, and it sends that
    /// many calls.
    @Test func aCapOfExactlyTheNeededCallsLetsTheAuditRun() throws {
        let v2 = try KMSPluginServer()
        let v1 = try KMSPluginServer(.init(api: "v1"))
        defer { v2.stop(); v1.stop() }
        let endpoints = ["--kms", "--kms-endpoint", "kms-v2=\(v2.endpoint)", "--kms-endpoint", "kms-v1=\(v1.endpoint)"]
        let unbounded = try AtRestBinary.run(["audit", Self.kmsExport, "--config", Self.kmsConfig, "--exit-zero"] + endpoints + Self.kmsRules)
        try #require(unbounded.status == 0, "\(unbounded.stderr)")
        let needed = try v2.calls().filter { $0.method == "Decrypt" }.count + v1.calls().filter { $0.method == "Decrypt" }.count
        try #require(needed > 1)
        let refused = try AtRestBinary.run(["audit", Self.kmsExport, "--config", Self.kmsConfig, "--kms-max-calls", "\(needed - 1)"] + endpoints + Self.kmsRules)
        expectRefused(refused, "kms.too-many-calls")
        #expect(refused.stderr.contains("holds \(needed) distinct KMS DEK sources"), "\(refused.stderr)")
        let exact = try AtRestBinary.run(["audit", Self.kmsExport, "--config", Self.kmsConfig, "--exit-zero", "--kms-max-calls", "\(needed)"]
                                         + endpoints + Self.kmsRules)
        #expect(exact.status == 0, "\(exact.stderr)")
        #expect(exact.stdout == unbounded.stdout)
    }
}
