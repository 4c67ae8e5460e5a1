import Foundation
import Testing
import AtRestTestSupport

/// `atrest audit` end to end, against values encrypted by an independent encryptor.
///
/// `testdata/audit/make_fixtures.py` encrypts Kubernetes objects exactly as the
/// apiserver writes them (Python `cryptography` and PyNaCl, no atrest code) and
/// computes, with its own re-implementation of the apiserver's read loop, the verdict
/// every entry must get under `testdata/audit/config.yaml` (and its variants). These
/// tests put the entries into a real etcd, export it as etcdctl does (`-w json` and
/// `snapshot save`), run the built `atrest`, and compare every entry's verdict,
/// provider, key name and storage with the fixture's.
///
/// The other tests reuse `entries.json` as an etcdctl `-w json` document written here
/// (keys sorted, base64): not a real etcd export, but the same format.
@Suite struct AuditEndToEndTests {

    // MARK: Fixture

    struct Expected: Decodable, Sendable {
        var verdict: String
        /// nil: a `k8s:enc:` prefix of no documented provider (`k8s:enc:foo:v1:`).
        var provider: String?
        var keyName: String?
        var storage: String
    }

    struct Entry: Decodable, Sendable {
        /// base64, as in an etcdctl `-w json` export.
        var key: String
        var value: String
        var note: String
        var expected: Expected
        var expectedUnder: [String: Expected]

        var keyBytes: [UInt8] { [UInt8](Data(base64Encoded: key)!) }
        var valueBytes: [UInt8] { [UInt8](Data(base64Encoded: value)!) }
        var keyString: String { String(decoding: keyBytes, as: UTF8.self) }

        func expected(under config: String) -> Expected {
            config == "config.yaml" ? expected : expectedUnder[config]!
        }
    }

    static let documentedProviders: Set<String> = ["identity", "aescbc", "aesgcm", "secretbox", "kms"]
    static let documentedFields: Set<String> = ["key", "group", "resource", "namespace", "name", "storage", "provider",
                                                "keyName", "verdict", "reason", "kmsVersion", "kmsKeyID"]
    static let marker = "ATREST-PLAINTEXT-MARKER-5f0c1e"
    static let variants = ["config-no-identity.yaml", "config-rotated.yaml", "config-wildcard.yaml"]

    static func entries() throws -> [Entry] {
        let entries = try JSONDecoder().decode([Entry].self, from: Data(Fixtures.bytes("audit/entries.json")))
        return entries.sorted { $0.keyBytes.lexicographicallyPrecedes($1.keyBytes) }
    }

    static func config(_ name: String) -> String { Fixtures.path("audit/\(name)") }

    /// An etcdctl `get "" --prefix -w json` document for `entries`: keys sorted, base64.
    static func jsonExport(_ entries: [Entry]) -> [UInt8] {
        let sorted = entries.sorted { $0.keyBytes.lexicographicallyPrecedes($1.keyBytes) }
        let kvs = sorted.enumerated().map { index, entry in
            "{\"key\":\"\(entry.key)\",\"create_revision\":\(index + 2),\"mod_revision\":\(index + 2),\"version\":1,\"value\":\"\(entry.value)\"}"
        }
        let document = "{\"header\":{\"cluster_id\":14841639068965178418,\"member_id\":10276657743932975437,\"revision\":\(sorted.count + 1),\"raft_term\":2},"
            + "\"kvs\":[\(kvs.joined(separator: ","))],\"count\":\(sorted.count)}\n"
        return Array(document.utf8)
    }

    /// Writes `jsonExport(entries)` into a fresh directory; returns (directory, file).
    static func writeExport(_ entries: [Entry], label: String = "audit-e2e") throws -> (URL, String) {
        let dir = try Fixtures.temporaryDirectory(label)
        let path = dir.appendingPathComponent("export.json").path
        try Data(jsonExport(entries)).write(to: URL(fileURLWithPath: path))
        return (dir, path)
    }

    static func audit(_ input: String, config: String = "config.yaml", _ extra: [String] = []) throws -> AtRestBinary.Result {
        try AtRestBinary.run(["audit", "--feature-gates", "KMSv1=true", input, "--config", Self.config(config)] + extra)
    }

    /// JSONL lines as objects, in output order.
    static func lines(_ stdout: String) throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
            guard let dictionary = object as? [String: Any] else { throw Failure("not a JSON object: \(line)") }
            return dictionary
        }
    }

    struct Failure: Error, CustomStringConvertible { var description: String; init(_ d: String) { description = d } }

    static func string(_ object: [String: Any], _ field: String) -> String? { object[field] as? String }

    /// Every entry has exactly one line, and its verdict, provider, key name and storage are the expected ones.
    static func expectVerdicts(_ stdout: String, _ entries: [Entry], config: String, label: String,
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
        let lines = try lines(stdout)
        let byKey = Dictionary(lines.map { (string($0, "key") ?? "", $0) }, uniquingKeysWith: { first, _ in first })
        #expect(lines.count == entries.count, "\(label): \(lines.count) lines for \(entries.count) entries", sourceLocation: sourceLocation)
        #expect(byKey.count == lines.count, "\(label): a key appears twice", sourceLocation: sourceLocation)
        for entry in entries {
            let want = entry.expected(under: config)
            guard let line = byKey[entry.keyString] else {
                Issue.record("\(label): no line for \(entry.keyString)", sourceLocation: sourceLocation)
                continue
            }
            let context = "\(label): \(entry.keyString) (\(entry.note)); reason: \(string(line, "reason") ?? "-")"
            #expect(string(line, "verdict") == want.verdict, "\(context)", sourceLocation: sourceLocation)
            #expect(string(line, "storage") == want.storage, "\(context)", sourceLocation: sourceLocation)
            #expect(string(line, "keyName") == want.keyName, "\(context)", sourceLocation: sourceLocation)
            if let provider = want.provider {
                #expect(string(line, "provider") == provider, "\(context)", sourceLocation: sourceLocation)
            } else {
                // An unknown `k8s:enc:` provider: named somehow, but never as a documented provider.
                let got = string(line, "provider") ?? ""
                #expect(!got.isEmpty && !documentedProviders.contains(got), "\(context): provider \(got)", sourceLocation: sourceLocation)
            }
            #expect(!(string(line, "reason") ?? "").isEmpty, "\(context): empty reason", sourceLocation: sourceLocation)
            #expect(Set(line.keys).isSubset(of: documentedFields), "\(context): fields \(line.keys.sorted())", sourceLocation: sourceLocation)
            if want.provider == "kms" {
                #expect(string(line, "kmsVersion") != nil, "\(context): no kmsVersion", sourceLocation: sourceLocation)
            } else {
                #expect(line["kmsVersion"] == nil && line["kmsKeyID"] == nil, "\(context)", sourceLocation: sourceLocation)
            }
        }
    }

    static func expectSortedByKey(_ stdout: String, label: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let keys = try lines(stdout).map { Array((string($0, "key") ?? "").utf8) }
        let sorted = keys.sorted { $0.lexicographicallyPrecedes($1) }
        #expect(keys == sorted, "\(label): JSONL not sorted by key", sourceLocation: sourceLocation)
    }

    // MARK: Live etcd

    @Test(.enabled(if: EtcdServer.shouldRun, "etcd is not installed (set CI=true to make this a failure)"),
          .timeLimit(.minutes(5)))
    func everyEntryGetsItsVerdictFromARealEtcdExport() throws {
        let entries = try Self.entries()
        #expect(entries.count >= 30)
        let server = try EtcdServer()
        defer { server.stop() }
        let dir = try Fixtures.temporaryDirectory("audit-e2e-live")
        defer { try? FileManager.default.removeItem(at: dir) }

        for entry in entries {
            try server.put(entry.keyBytes, entry.valueBytes)
        }
        let json = dir.appendingPathComponent("export.json").path
        let exported = try server.etcdctlChecked(raw: ["get", "", "--prefix", "-w", "json"].map { Array($0.utf8) })
        try Data(exported).write(to: URL(fileURLWithPath: json))
        // etcd holds exactly the fixture's bytes.
        let document = try JSONSerialization.jsonObject(with: Data(exported)) as? [String: Any]
        let kvs = document?["kvs"] as? [[String: Any]] ?? []
        #expect(Dictionary(uniqueKeysWithValues: kvs.map { ($0["key"] as? String ?? "", $0["value"] as? String ?? "") })
                == Dictionary(uniqueKeysWithValues: entries.map { ($0.key, $0.value) }))
        let snapshot = dir.appendingPathComponent("snapshot.db").path
        try server.snapshotSave(to: snapshot)

        for (label, input) in [("etcdctl -w json", json), ("etcdctl snapshot save", snapshot)] {
            let first = try Self.audit(input, ["--output", "jsonl"])
            #expect(first.status == 1, "\(label): exit \(first.status), findings expected; stderr: \(first.stderr)")
            try Self.expectVerdicts(first.stdout, entries, config: "config.yaml", label: label)
            try Self.expectSortedByKey(first.stdout, label: label)
            let second = try Self.audit(input, ["--output", "jsonl"])
            #expect(second.status == first.status)
            #expect(second.stdout == first.stdout, "\(label): two runs differ")

            // KMS details.
            let byKey = Dictionary(try Self.lines(first.stdout).map { (Self.string($0, "key") ?? "", $0) }, uniquingKeysWith: { a, _ in a })
            let v2 = byKey["/registry/secrets/default/kms-v2"]
            #expect(v2.flatMap { Self.string($0, "kmsVersion") } == "v2")
            #expect(v2.flatMap { Self.string($0, "kmsKeyID") } == "vault-key-7")
            #expect(byKey["/registry/secrets/default/kms-v1"].flatMap { Self.string($0, "kmsVersion") } == "v1")
            let cr = byKey["/registry/example.com/widgets/default/w1"]
            #expect(cr.flatMap { Self.string($0, "group") } == "example.com")
            #expect(cr.flatMap { Self.string($0, "resource") } == "widgets")
            #expect(cr.flatMap { Self.string($0, "namespace") } == "default")
            #expect(cr.flatMap { Self.string($0, "name") } == "w1")
            let deployment = byKey["/registry/deployments/default/web"]
            #expect(deployment.flatMap { Self.string($0, "group") } == "apps")
            #expect(deployment.flatMap { Self.string($0, "resource") } == "deployments")
        }
        // Both exports give the same audit.
        let fromJSON = try Self.audit(json, ["--output", "jsonl"])
        let fromSnapshot = try Self.audit(snapshot, ["--output", "jsonl"])
        #expect(fromJSON.stdout == fromSnapshot.stdout)
    }

    // MARK: Configuration variants

    @Test(arguments: AuditEndToEndTests.variants)
    func variantConfiguration(_ config: String) throws {
        let entries = try Self.entries()
        let (dir, export) = try Self.writeExport(entries)
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try Self.audit(export, config: config, ["--output", "jsonl"])
        #expect(result.status == 1, "stderr: \(result.stderr)")
        try Self.expectVerdicts(result.stdout, entries, config: config, label: config)
        try Self.expectSortedByKey(result.stdout, label: config)
    }

    @Test func retiredKeyMakesItsEntriesUndecryptable() throws {
        let entries = try Self.entries()
        let (dir, export) = try Self.writeExport(entries)
        defer { try? FileManager.default.removeItem(at: dir) }
        let main = try Self.lines(Self.audit(export, ["--output", "jsonl"]).stdout)
        let rotated = try Self.lines(Self.audit(export, config: "config-rotated.yaml", ["--output", "jsonl"]).stdout)
        let key2 = { (lines: [[String: Any]]) in
            lines.filter { Self.string($0, "provider") == "aesgcm" && Self.string($0, "keyName") == "key2" }
        }
        #expect(key2(main).count == 2)
        #expect(key2(main).allSatisfy { Self.string($0, "verdict") == "stale" })
        #expect(key2(rotated).count == 2)
        for line in key2(rotated) {
            #expect(Self.string(line, "verdict") == "undecryptable", "\(line)")
            #expect((Self.string(line, "reason") ?? "").contains("no provider"), "\(line)")
        }
        // Nothing else changes verdict.
        let others = { (lines: [[String: Any]]) in
            lines.filter { Self.string($0, "keyName") != "key2" }.map { "\(Self.string($0, "key") ?? "") \(Self.string($0, "verdict") ?? "")" }
        }
        #expect(others(main) == others(rotated))
    }

    @Test func plaintextUnderARuleWithoutIdentityIsUndecryptable() throws {
        let entries = try Self.entries()
        let (dir, export) = try Self.writeExport(entries)
        defer { try? FileManager.default.removeItem(at: dir) }
        let lines = try Self.lines(Self.audit(export, config: "config-no-identity.yaml", ["--output", "jsonl"]).stdout)
        let plaintext = Set(entries.filter { $0.expected.verdict == "unencrypted" }.map(\.keyString))
        #expect(plaintext.count >= 4)
        for line in lines where plaintext.contains(Self.string(line, "key") ?? "") {
            #expect(Self.string(line, "verdict") == "undecryptable", "\(line)")
        }
        #expect(!lines.contains { Self.string($0, "verdict") == "unencrypted" })
    }

    // MARK: Exit status

    @Test func exitZeroSilencesFindingsButNotOutput() throws {
        let (dir, export) = try Self.writeExport(try Self.entries())
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = try Self.audit(export)
        #expect(plain.status == 1)
        let zero = try Self.audit(export, ["--exit-zero"])
        #expect(zero.status == 0, "stderr: \(zero.stderr)")
        #expect(zero.stdout == plain.stdout)
        #expect(try Self.audit(export, ["--exit-zero", "--fail-on", "stale"]).status == 0)
    }

    @Test func failOnReplacesTheDefaultVerdicts() throws {
        let entries = try Self.entries()
        func status(_ subset: [Entry], _ extra: [String]) throws -> Int32 {
            let (dir, export) = try Self.writeExport(subset)
            defer { try? FileManager.default.removeItem(at: dir) }
            let result = try Self.audit(export, extra)
            return result.status
        }
        // Everything: stale entries exist.
        #expect(try status(entries, ["--fail-on", "stale"]) == 1)
        #expect(try status(entries, ["--fail-on", "unverifiable", "exempt"]) == 1)
        // Only current, stale and exempt entries: no default finding.
        let quiet = entries.filter { ["current", "stale", "exempt"].contains($0.expected.verdict) }
        #expect(quiet.contains { $0.expected.verdict == "stale" })
        #expect(try status(quiet, []) == 0)
        #expect(try status(quiet, ["--fail-on", "stale"]) == 1)
        #expect(try status(quiet, ["--fail-on", "unverifiable"]) == 0)
        #expect(try status(quiet, ["--fail-on", "undecryptable", "stale"]) == 1)
        // Current and unencrypted only: a finding by default, none when --fail-on names only stale.
        let unencrypted = entries.filter { ["current", "unencrypted"].contains($0.expected.verdict) }
        #expect(try status(unencrypted, []) == 1)
        #expect(try status(unencrypted, ["--fail-on", "stale"]) == 0)
        #expect(try status(unencrypted, ["--fail-on", "unencrypted"]) == 1)
    }

    @Test func nothingUnderThePrefixExitsThree() throws {
        let (dir, export) = try Self.writeExport(try Self.entries())
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try Self.audit(export, ["--etcd-prefix", "/nothing", "--output", "jsonl"])
        #expect(result.status == 3, "stderr: \(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("nothing audited"))
    }

    @Test func badConfigurationExitsTwo() throws {
        let (dir, export) = try Self.writeExport(try Self.entries())
        defer { try? FileManager.default.removeItem(at: dir) }
        let notYAML = dir.appendingPathComponent("not-yaml.yaml").path
        try Data("resources: [secrets\n  providers: {{{\n".utf8).write(to: URL(fileURLWithPath: notYAML))
        let shortKey = dir.appendingPathComponent("short-key.yaml").path
        try Data("""
            apiVersion: apiserver.config.k8s.io/v1
            kind: EncryptionConfiguration
            resources:
              - resources: [secrets]
                providers:
                  - aesgcm:
                      keys:
                        - name: key1
                          secret: c2hvcnQ=

            """.utf8).write(to: URL(fileURLWithPath: shortKey))
        let missing = dir.appendingPathComponent("missing.yaml").path
        for config in [missing, notYAML, shortKey] {
            let result = try AtRestBinary.run(["audit", "--feature-gates", "KMSv1=true", export, "--config", config, "--output", "jsonl"])
            #expect(result.status == 2, "\(config): exit \(result.status); stderr: \(result.stderr)")
            #expect(result.stdout.isEmpty, "\(config)")
            #expect(!result.stderr.isEmpty, "\(config)")
        }
        let noInput = try Self.audit(dir.appendingPathComponent("missing-export.json").path)
        #expect(noInput.status == 2, "stderr: \(noInput.stderr)")
    }

    // MARK: Reports

    @Test func jsonReportHasReadiness() throws {
        let entries = try Self.entries()
        let (dir, export) = try Self.writeExport(entries)
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try Self.audit(export, ["--output", "json"])
        #expect(result.status == 1)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(document["apiVersion"] as? String == "atrest.io/v1")
        #expect(document["kind"] as? String == "Audit")
        let totals = document["totals"] as? [String: Any]
        #expect(totals?["audited"] as? Int == entries.count)
        let verdicts = totals?["verdicts"] as? [String: Int] ?? [:]
        var expectedCounts: [String: Int] = [:]
        for entry in entries { expectedCounts[entry.expected.verdict, default: 0] += 1 }
        #expect(verdicts == expectedCounts)

        let readiness = try #require(document["readiness"] as? [String: Any])
        let identity = try #require(readiness["identityRemoval"] as? [String: Any])
        #expect(identity["safe"] as? Bool == false, "there are unencrypted entries")
        let unencrypted = entries.filter { $0.expected.verdict == "unencrypted" }
        #expect((identity["wouldBecomeUnreadable"] as? Int ?? 0) >= unencrypted.count)
        let byResource = identity["byResource"] as? [String: Int] ?? [:]
        for resource in ["secrets", "configmaps", "deployments.apps", "pods", "widgets.example.com"] {
            #expect((byResource[resource] ?? 0) >= 1, "\(resource) has an unencrypted entry: \(byResource)")
        }
        let keys = readiness["keyRemoval"] as? [[String: Any]] ?? []
        func safe(_ provider: String, _ name: String) -> Bool? {
            keys.first { $0["provider"] as? String == provider && $0["keyName"] as? String == name }?["safe"] as? Bool
        }
        #expect(safe("aesgcm", "key3") == true, "key3 reads nothing: \(keys)")
        for (provider, name) in [("aesgcm", "key2"), ("aescbc", "cbc1"), ("secretbox", "sb1"), ("aesgcm", "key"), ("aescbc", "apps-cbc")] {
            #expect(safe(provider, name) == false, "\(provider) \(name) still reads entries: \(keys)")
        }
        // Writing keys are not removal candidates.
        for (provider, name) in [("aesgcm", "key1"), ("aesgcm", "key:v2"), ("secretbox", "apps1"), ("aescbc", "all1")] {
            #expect(safe(provider, name) == nil, "\(provider) \(name) writes")
        }
        let undecryptable = (document["undecryptable"] as? [[String: Any]] ?? []).compactMap { $0["key"] as? String }
        #expect(undecryptable == entries.filter { $0.expected.verdict == "undecryptable" }.map(\.keyString))
    }

    @Test func textReportListsEveryUndecryptableEntryWithItsReason() throws {
        let entries = try Self.entries()
        let (dir, export) = try Self.writeExport(entries)
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try Self.audit(export)
        #expect(text.status == 1)
        let reasons = Dictionary(try Self.lines(Self.audit(export, ["--output", "jsonl"]).stdout)
            .map { (Self.string($0, "key") ?? "", Self.string($0, "reason") ?? "") }, uniquingKeysWith: { a, _ in a })
        let undecryptable = entries.filter { $0.expected.verdict == "undecryptable" }
        #expect(undecryptable.count >= 8)
        let lines = Set(text.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        for entry in undecryptable {
            let reason = reasons[entry.keyString] ?? ""
            #expect(!reason.isEmpty)
            #expect(lines.contains("\(entry.keyString): \(reason)"), "\(entry.keyString) not listed with its reason")
        }
        #expect(text.stdout.contains("identity can NOT be removed"))
        // Readable entries are not listed as findings.
        for entry in entries where entry.expected.verdict == "current" {
            #expect(!lines.contains { $0.hasPrefix(entry.keyString + ":") })
        }
    }

    @Test func noPlaintextOrKeyMaterialInAnyOutput() throws {
        let entries = try Self.entries()
        let (dir, export) = try Self.writeExport(entries)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Every secret of every configuration, base64 (as in the file) and as hex and raw text.
        var secrets: Set<String> = []
        for config in ["config.yaml"] + Self.variants {
            let text = String(decoding: try Fixtures.bytes("audit/\(config)"), as: UTF8.self)
            for line in text.split(separator: "\n") where line.contains("secret:") {
                let secret = line.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)
                secrets.insert(secret)
                let bytes = [UInt8](try #require(Data(base64Encoded: secret)))
                secrets.insert(bytes.map { String(format: "%02x", $0) }.joined())
                secrets.insert(bytes.map { String(format: "%02X", $0) }.joined())
            }
        }
        #expect(secrets.count >= 30)
        // The decrypted objects all carry the marker; so does the plaintext stored in etcd.
        #expect(entries.contains { String(decoding: $0.valueBytes, as: UTF8.self).contains(Self.marker) })
        for config in ["config.yaml"] + Self.variants {
            for output in ["text", "json", "jsonl"] {
                let result = try Self.audit(export, config: config, ["--output", output])
                #expect(result.status == 1)
                for stream in [result.stdout, result.stderr] {
                    #expect(!stream.contains(Self.marker), "\(config) --output \(output) prints object data")
                    #expect(!stream.contains("marker"), "\(config) --output \(output) prints object data")
                    for secret in secrets {
                        #expect(!stream.contains(secret), "\(config) --output \(output) prints key material")
                    }
                }
            }
        }
    }
}
