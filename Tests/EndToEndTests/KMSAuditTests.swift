import AtRestTestSupport
import Foundation
import Testing

/// `--kms`: KMS values read through real plugins (`testdata/kms/kms_plugin.py`, gRPC on
/// unix sockets), as the apiserver reads them. The fixture (`make_kms_fixtures.py`)
/// carries its own expectations, worked out by the generator independently of atrest
/// (`expected.json`, `expected-rotated.json`).
@Suite struct KMSAuditTests {
    static let export = Fixtures.path("kms/export.json")
    static let rotated = Fixtures.path("kms/export-rotated.json")
    static let config = Fixtures.path("kms/config.yaml")
    /// KMS v1 is refused from 1.29 unless its gate is on; seeds are written from 1.29.
    static let rules = ["--kube-version", "1.29", "--feature-gates", "KMSv1=true"]

    /// A v2 and a v1 plugin, stopped when the value goes.
    struct Plugins {
        let v2: KMSPluginServer
        let v1: KMSPluginServer
        var endpoints: [String] {
            ["--kms", "--kms-endpoint", "kms-v2=\(v2.endpoint)", "--kms-endpoint", "kms-v1=\(v1.endpoint)"]
        }
        func stop() {
            v2.stop()
            v1.stop()
        }
    }

    static func plugins(v2: KMSPluginServer.Options = .init(), v1: KMSPluginServer.Options = .init(api: "v1")) throws -> Plugins {
        Plugins(v2: try KMSPluginServer(v2), v1: try KMSPluginServer(v1))
    }

    static func run(_ arguments: [String]) throws -> AtRestBinary.Result {
        try AtRestBinary.run(arguments)
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// Verdict and reason per key, from `--output jsonl`.
    static func verdicts(_ input: String, _ extra: [String]) throws -> [String: (verdict: String, reason: String)] {
        let result = try run(["audit", input, "--config", config, "--output", "jsonl", "--exit-zero"] + rules + extra)
        #expect(result.status == 0, "\(result.stderr)")
        var verdicts: [String: (verdict: String, reason: String)] = [:]
        for line in result.stdout.split(separator: "\n") {
            let entry = try json(String(line))
            verdicts[entry["key"] as? String ?? ""] = (entry["verdict"] as? String ?? "", entry["reason"] as? String ?? "")
        }
        return verdicts
    }

    /// What the generator says the apiserver concludes, per key.
    static func expected(_ name: String) throws -> [String: (readable: Bool, stale: Bool)] {
        let list = try #require(try JSONSerialization.jsonObject(with: Data(Fixtures.bytes("kms/\(name)"))) as? [[String: Any]])
        var expected: [String: (readable: Bool, stale: Bool)] = [:]
        for item in list { expected[item["key"] as? String ?? ""] = (item["readable"] as? Bool ?? false, item["stale"] as? Bool ?? false) }
        return expected
    }

    static func agree(_ verdicts: [String: (verdict: String, reason: String)], _ expected: [String: (readable: Bool, stale: Bool)]) {
        #expect(Set(verdicts.keys) == Set(expected.keys))
        for (key, want) in expected {
            let got = verdicts[key]?.verdict ?? "missing"
            let readable = ["current", "stale", "unencrypted"].contains(got)
            #expect(readable == want.readable, "\(key): \(got)")
            if want.readable { #expect((got != "current") == want.stale, "\(key): \(got)") }
        }
    }

    /// The fixture's configuration with `timeout: 1s` for both providers, in `directory`.
    static func configWithOneSecondTimeouts(in directory: URL) throws -> String {
        let config = directory.appendingPathComponent("config.yaml").path
        let text = String(decoding: try Fixtures.bytes("kms/config.yaml"), as: UTF8.self).replacingOccurrences(of: "timeout: 3s", with: "timeout: 1s")
        #expect(FileManager.default.createFile(atPath: config, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]))
        return config
    }

    static func readiness(_ document: [String: Any], keyID: String) throws -> [String: Any] {
        let readiness = try #require(document["readiness"] as? [String: Any])
        let answers = try #require(readiness["kmsKeyIDRetirement"] as? [[String: Any]])
        return try #require(answers.first { $0["keyID"] as? String == keyID }, "no answer for key ID \(keyID)")
    }

    // MARK: Verdicts

    @Test func everyKMSEntryGetsTheVerdictTheApiserverWould() throws {
        let plugins = try Self.plugins()
        defer { plugins.stop() }
        Self.agree(try Self.verdicts(Self.export, plugins.endpoints), try Self.expected("expected.json"))
    }

    @Test func aKeyIDThePluginNoLongerHasIsUndecryptableWithThePluginsReason() throws {
        let plugins = try Self.plugins()
        defer { plugins.stop() }
        let entry = try #require(try Self.verdicts(Self.export, plugins.endpoints)["/registry/secrets/default/retired-k0"])
        #expect(entry.verdict == "undecryptable")
        #expect(entry.reason.contains("key ID \"k0\""), "\(entry.reason)")
        #expect(entry.reason.contains("NOT_FOUND: unknown key ID \"k0\""), "\(entry.reason)")
    }

    @Test func aTamperedValueAndAMovedValueFailAESGCM() throws {
        let plugins = try Self.plugins()
        defer { plugins.stop() }
        let verdicts = try Self.verdicts(Self.export, plugins.endpoints)
        for name in ["tampered", "moved"] {
            let entry = try #require(verdicts["/registry/secrets/default/\(name)"])
            #expect(entry.verdict == "undecryptable", "\(name)")
            #expect(entry.reason.contains("does not open the data: authentication failed"), "\(name): \(entry.reason)")
        }
    }

    @Test func staleByKeyIDBySourceTypeAndByProviderPosition() throws {
        let plugins = try Self.plugins()
        defer { plugins.stop() }
        let verdicts = try Self.verdicts(Self.export, plugins.endpoints)
        let byKeyID = try #require(verdicts["/registry/secrets/default/seed-k2"])
        #expect(byKeyID.verdict == "stale")
        #expect(byKeyID.reason.contains("the plugin writes with \"k1\""), "\(byKeyID.reason)")
        let byType = try #require(verdicts["/registry/secrets/default/dek-k1"])
        #expect(byType.verdict == "stale")
        #expect(byType.reason.contains("its DEK source is AES_GCM_KEY"), "\(byType.reason)")
        let byPosition = try #require(verdicts["/registry/configmaps/default/v1-gcm"])
        #expect(byPosition.verdict == "stale")
        #expect(byPosition.reason.contains("not by the first provider and key (kms provider \"kms-v2\")"), "\(byPosition.reason)")
    }

    @Test func kmsV1DataWrittenWithAESCBCIsReadAndStale() throws {
        let plugins = try Self.plugins()
        defer { plugins.stop() }
        let entry = try #require(try Self.verdicts(Self.export, plugins.endpoints)["/registry/configmaps/default/v1-cbc"])
        #expect(entry.verdict == "stale")
        #expect(entry.reason.contains("AES-CBC"), "\(entry.reason)")
    }

    @Test func underKubernetes128RulesSeedsAreStaleAndDEKsCurrent() throws {
        // 1.28's KMSv2KDF is off by default: the apiserver writes AES_GCM_KEY.
        let plugins = try Self.plugins()
        defer { plugins.stop() }
        let result = try Self.run(["audit", Self.export, "--config", Self.config, "--kube-version", "1.28", "--output", "jsonl", "--exit-zero"] + plugins.endpoints)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try result.stdout.split(separator: "\n").map { try Self.json(String($0)) }
        let verdict = { (name: String) in lines.first { $0["key"] as? String == "/registry/secrets/default/\(name)" }?["verdict"] as? String }
        #expect(verdict("dek-k1") == "current")
        #expect(verdict("seed-k1-a") == "stale")
    }

    // MARK: Calls

    @Test func oneDecryptPerDistinctDEKSourceAndNeverEncrypt() throws {
        let plugins = try Self.plugins()
        defer { plugins.stop() }
        _ = try Self.verdicts(Self.export, plugins.endpoints)
        let v2 = try plugins.v2.calls()
        #expect(v2.first?.method == "Status")
        // k1: the shared seed, seed-k1-other, dek-k1, annotated-k1; k2 and k0 one each.
        #expect(v2.filter { $0.method == "Decrypt" }.count == 6, "\(v2)")
        #expect(v2.filter { $0.method == "Decrypt" && $0.keyID == "k1" }.count == 4)
        let v1 = try plugins.v1.calls()
        #expect(v1.map(\.method) == ["Version", "Decrypt"], "\(v1)")
        #expect(!(v2 + v1).contains { $0.method == "Encrypt" })
    }

    @Test func theReportCountsCallsAndSourcesPerKeyID() throws {
        let plugins = try Self.plugins()
        defer { plugins.stop() }
        let result = try Self.run(["audit", Self.export, "--config", Self.config, "--output", "json", "--exit-zero"] + Self.rules + plugins.endpoints)
        #expect(result.status == 0, "\(result.stderr)")
        let kms = try #require(try Self.json(result.stdout)["kms"] as? [String: Any])
        let calls = try #require(kms["calls"] as? [[String: Any]])
        let k1 = try #require(calls.first { $0["provider"] as? String == "kms-v2" && $0["keyID"] as? String == "k1" })
        #expect(k1["distinctSources"] as? Int == 4)
        #expect(k1["decryptCalls"] as? Int == 4)
        let k0 = try #require(calls.first { $0["keyID"] as? String == "k0" })
        #expect(k0["refused"] as? Int == 1)
        let providers = try #require(kms["providers"] as? [[String: Any]])
        #expect(providers.first { $0["name"] as? String == "kms-v2" }?["currentKeyID"] as? String == "k1")
    }

    @Test func theOutputIsTheSameWhateverTheNumberOfJobs() throws {
        let plugins = try Self.plugins()
        defer { plugins.stop() }
        let outputs = try [1, 2].map { jobs in
            try Self.run(["audit", Self.export, "--config", Self.config, "--output", "json", "--exit-zero", "--jobs", "\(jobs)"] + Self.rules + plugins.endpoints)
        }
        #expect(outputs[0].status == 0, "\(outputs[0].stderr)")
        // The endpoints differ from run to run only in the plugins' temporary paths, which are the same here.
        #expect(outputs[0].stdout == outputs[1].stdout)
    }

    // MARK: Readiness

    @Test func aKeyIDStillInUseCannotBeRetiredAndOnlyUndecryptableOnesCan() throws {
        let plugins = try Self.plugins()
        defer { plugins.stop() }
        let result = try Self.run(["audit", Self.export, "--config", Self.config, "--output", "json", "--exit-zero"] + Self.rules + plugins.endpoints)
        let document = try Self.json(result.stdout)
        let k1 = try Self.readiness(document, keyID: "k1")
        #expect(k1["current"] as? Bool == true)
        #expect(k1["safe"] as? Bool == false)
        let k2 = try Self.readiness(document, keyID: "k2")
        #expect(k2["entriesStillUsingIt"] as? Int == 1)
        #expect(k2["safe"] as? Bool == false)
        let k0 = try Self.readiness(document, keyID: "k0")
        #expect(k0["entriesStillUsingIt"] as? Int == 0)
        #expect(k0["undecryptableUnderIt"] as? Int == 1)
        #expect(k0["safe"] as? Bool == true)
    }

    @Test func afterTheKEKRotatesEveryK1ValueIsStaleAndK1CannotBeRetired() throws {
        var v2 = KMSPluginServer.Options()
        v2.currentKeyID = "k2"
        let plugins = try Self.plugins(v2: v2)
        defer { plugins.stop() }
        let result = try Self.run(["audit", Self.export, "--config", Self.config, "--exit-zero"] + Self.rules + plugins.endpoints)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("KMS key ID \"k1\" of provider \"kms-v2\" can NOT be retired yet: 6 entries would become unreadable"), "\(result.stdout)")
        #expect(result.stdout.contains("KMS key ID \"k2\" of provider \"kms-v2\" can NOT be retired: it is the plugin's current key ID"))
    }

    @Test func afterTheRewriteTheOldKeyIDCanBeRetired() throws {
        var v2 = KMSPluginServer.Options()
        v2.currentKeyID = "k2"
        let plugins = try Self.plugins(v2: v2)
        defer { plugins.stop() }
        Self.agree(try Self.verdicts(Self.rotated, plugins.endpoints), try Self.expected("expected-rotated.json"))
        let result = try Self.run(["audit", Self.rotated, "--config", Self.config] + Self.rules + plugins.endpoints)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("KMS key ID \"k2\" of provider \"kms-v2\" can NOT be retired: it is the plugin's current key ID"))
        #expect(!result.stdout.contains("\"k1\""), "nothing is stored under k1 any more: \(result.stdout)")
        #expect(result.stdout.contains("KMS provider \"kms-v2\": every value is stored under the current key ID \"k2\": any earlier key ID can be retired"))
    }

    // MARK: Without a plugin

    @Test func withoutKMSTheValuesStayUnverifiable() throws {
        let verdicts = try Self.verdicts(Self.export, [])
        let entry = try #require(verdicts["/registry/secrets/default/seed-k1-a"])
        #expect(entry.verdict == "unverifiable")
        #expect(entry.reason.contains("--kms asks it"), "\(entry.reason)")
    }

    @Test func aGivenKeyIDTellsStalenessOfflineWithoutDialling() throws {
        let verdicts = try Self.verdicts(Self.export, ["--kms-key-id", "kms-v2=k1"])
        let k2 = try #require(verdicts["/registry/secrets/default/seed-k2"])
        #expect(k2.verdict == "unverifiable")
        #expect(k2.reason.contains("stored under key ID \"k2\", not the current \"k1\": stale once readable"), "\(k2.reason)")
        let result = try Self.run(["audit", Self.export, "--config", Self.config, "--output", "json", "--exit-zero", "--kms-key-id", "kms-v2=k1"] + Self.rules)
        let answer = try Self.readiness(try Self.json(result.stdout), keyID: "k2")
        #expect(answer["verified"] as? Bool == false)
        #expect(answer["entriesStillUsingIt"] as? Int == 1)
    }

    // MARK: Failures exit 2

    @Test func aMissingSocketIsAnErrorNamingTheProviderAndTheEndpoint() throws {
        let directory = try Fixtures.temporaryDirectory("kms-missing")
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = "unix://" + directory.appendingPathComponent("none.sock").path
        let v1 = try KMSPluginServer(.init(api: "v1"))
        defer { v1.stop() }
        let result = try Self.run(["audit", Self.export, "--config", Self.config, "--kms", "--kms-endpoint", "kms-v2=\(missing)",
                                   "--kms-endpoint", "kms-v1=\(v1.endpoint)"] + Self.rules)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("KMS provider \"kms-v2\" at \(missing): cannot connect"), "\(result.stderr)")
    }

    @Test func anUnhealthyPluginIsAnError() throws {
        var v2 = KMSPluginServer.Options()
        v2.healthz = "kek unreachable"
        let plugins = try Self.plugins(v2: v2)
        defer { plugins.stop() }
        let result = try Self.run(["audit", Self.export, "--config", Self.config] + Self.rules + plugins.endpoints)
        #expect(result.status == 2)
        #expect(result.stderr.contains("is not healthy: got unexpected healthz status: kek unreachable"), "\(result.stderr)")
    }

    @Test func aPluginOfAnotherAPIVersionIsAnError() throws {
        var v2 = KMSPluginServer.Options()
        v2.statusVersion = "v1beta1"
        let plugins = try Self.plugins(v2: v2)
        defer { plugins.stop() }
        let result = try Self.run(["audit", Self.export, "--config", Self.config] + Self.rules + plugins.endpoints)
        #expect(result.status == 2)
        #expect(result.stderr.contains("expected KMSv2 API version v2, got v1beta1"), "\(result.stderr)")
    }

    @Test func aPluginSlowerThanTheConfiguredTimeoutIsAnError() throws {
        let directory = try Fixtures.temporaryDirectory("kms-slow")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try Self.configWithOneSecondTimeouts(in: directory)
        var v2 = KMSPluginServer.Options()
        v2.delay = 4
        let plugins = try Self.plugins(v2: v2)
        defer { plugins.stop() }
        let started = Date()
        let result = try Self.run(["audit", Self.export, "--config", config] + Self.rules + plugins.endpoints)
        #expect(result.status == 2)
        #expect(result.stderr.contains("KMS provider \"kms-v2\" at \(plugins.v2.endpoint): no answer within 1 s"), "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 4)
    }

    @Test func aPluginThatStopsAnsweringMidRunStopsTheAudit() throws {
        let directory = try Fixtures.temporaryDirectory("kms-stalls")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try Self.configWithOneSecondTimeouts(in: directory)
        var v2 = KMSPluginServer.Options()
        v2.decryptDelay = 3
        let plugins = try Self.plugins(v2: v2)
        defer { plugins.stop() }
        // Status answers at once; the first Decrypt does not answer in time.
        let result = try Self.run(["audit", Self.export, "--config", config, "--output", "json"] + Self.rules + plugins.endpoints)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty, "no report for a run that stopped")
        #expect(result.stderr.contains("KMS provider \"kms-v2\" at \(plugins.v2.endpoint): no answer within 1 s (the provider's timeout); the run stopped"),
                "\(result.stderr)")
        #expect(result.stderr.hasSuffix("[kms.unreachable]\n"), "\(result.stderr)")
        // After the first timeout nothing more is asked.
        #expect(try plugins.v2.calls().filter { $0.method == "Decrypt" }.count == 1)
    }

    @Test func aKeyIDThatDisagreesWithThePluginIsAnError() throws {
        let plugins = try Self.plugins()
        defer { plugins.stop() }
        let result = try Self.run(["audit", Self.export, "--config", Self.config, "--kms-key-id", "kms-v2=k2"] + Self.rules + plugins.endpoints)
        #expect(result.status == 2)
        #expect(result.stderr.contains("--kms-key-id says \"k2\", but the plugin's Status says its current key ID is \"k1\""), "\(result.stderr)")
    }

    @Test func aProviderNameTheConfigurationDoesNotHaveIsAnError() throws {
        let result = try Self.run(["audit", Self.export, "--config", Self.config, "--kms-key-id", "vault=k1"] + Self.rules)
        #expect(result.status == 2)
        #expect(result.stderr.contains("no KMS provider is named \"vault\" in the configuration; its KMS providers are \"kms-v1\", \"kms-v2\""), "\(result.stderr)")
    }

    // MARK: inspect and plan

    @Test func inspectDecryptsThroughThePluginAndRedacts() throws {
        let plugins = try Self.plugins()
        defer { plugins.stop() }
        let result = try Self.run(["inspect", Self.export, "/registry/secrets/default/seed-k1-a", "--config", Self.config, "--decrypt"]
                                  + Self.rules + plugins.endpoints)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("verdict   current: read by kms provider \"kms-v2\" through its plugin (key ID \"k1\")"), "\(result.stdout)")
        #expect(result.stdout.contains("decrypted with the DEK from KMS provider \"kms-v2\"'s plugin"))
        #expect(result.stdout.contains("(redacted; --reveal shows it)"))
    }

    @Test func planSaysRemovingTheV1ProviderBreaksItsValues() throws {
        let directory = try Fixtures.temporaryDirectory("kms-plan")
        defer { try? FileManager.default.removeItem(at: directory) }
        let proposed = directory.appendingPathComponent("proposed.yaml").path
        var lines = String(decoding: try Fixtures.bytes("kms/config.yaml"), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.contains("apiVersion: v1") && !$0.contains("apiserver") })
        lines.removeSubrange((start - 1)...(start + 4))  // the kms v1 provider: `- kms:` and its five fields
        #expect(!lines.joined(separator: "\n").contains("kms-v1"))
        #expect(FileManager.default.createFile(atPath: proposed, contents: Data(lines.joined(separator: "\n").utf8), attributes: [.posixPermissions: 0o600]))
        let plugins = try Self.plugins()
        defer { plugins.stop() }
        let result = try Self.run(["plan", "--config", Self.config, "--proposed", proposed, Self.export, "--output", "json"] + Self.rules + plugins.endpoints)
        #expect(result.status == 1, "\(result.stderr)")
        let breaking = try #require((try Self.json(result.stdout)["breaking"] as? [String: Any])?["list"] as? [[String: Any]])
        #expect(Set(breaking.compactMap { $0["key"] as? String }) == ["/registry/configmaps/default/v1-cbc", "/registry/configmaps/default/v1-gcm"])
    }
}

/// `--kms` with `--history`: earlier revisions of a real etcd are read through the plugin too.
@Suite struct KMSHistoryTests {
    /// The stored value of `key` in one of the fixture's exports.
    static func value(_ export: String, _ key: String) throws -> [UInt8] {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(Fixtures.bytes("kms/\(export)"))) as? [String: Any])
        let kvs = try #require(document["kvs"] as? [[String: Any]])
        let encodedKey = Data(key.utf8).base64EncodedString()
        let entry = try #require(kvs.first { $0["key"] as? String == encodedKey })
        return [UInt8](try #require(Data(base64Encoded: entry["value"] as? String ?? "")))
    }

    @Test(.enabled(if: EtcdServer.shouldRun)) func anEarlierRevisionUnderTheOldKeyIDIsAnOldKeyCopy() throws {
        let key = "/registry/secrets/default/seed-k1-a"
        let server = try EtcdServer()
        defer { server.stop() }
        try server.put(key, try Self.value("export.json", key))          // written under k1
        try server.put(key, try Self.value("export-rotated.json", key))  // rewritten under k2
        let snapshot = server.directory.appendingPathComponent("snapshot.db").path
        try server.snapshotSave(to: snapshot)
        var options = KMSPluginServer.Options()
        options.currentKeyID = "k2"
        let v2 = try KMSPluginServer(options)
        defer { v2.stop() }
        let v1 = try KMSPluginServer(.init(api: "v1"))
        defer { v1.stop() }
        let result = try AtRestBinary.run(["audit", snapshot, "--config", KMSAuditTests.config, "--history", "--output", "json",
                                           "--kms", "--kms-endpoint", "kms-v2=\(v2.endpoint)", "--kms-endpoint", "kms-v1=\(v1.endpoint)"]
                                          + KMSAuditTests.rules)
        #expect(result.status == 0, "\(result.stderr)")
        let document = try KMSAuditTests.json(result.stdout)
        let history = try #require(document["history"] as? [String: Any])
        #expect(history["oldKeyCopies"] as? Int == 1, "\(history)")
        #expect(history["plaintextCopies"] as? Int == 0)
        let keys = try #require(history["keys"] as? [[String: Any]])
        #expect(keys.map { $0["key"] as? String } == [key])
        // The live value's seed (k2) and the earlier revision's (k1): one Decrypt each.
        #expect(try v2.calls().filter { $0.method == "Decrypt" }.map(\.keyID) .sorted { ($0 ?? "") < ($1 ?? "") } == ["k1", "k2"])
    }
}
