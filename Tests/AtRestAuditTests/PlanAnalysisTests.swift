import AtRestAudit
import AtRestEncryption
import AtRestTestSupport
import Foundation
import Testing

/// `atrest plan` in memory: the verdicts of entries under a current and a proposed
/// configuration, the rewrite commands, and the comparison of several hosts' configurations.
/// Encrypted values are the synthetic vectors (encrypted independently, with Python).
@Suite struct PlanAnalysisTests {
    typealias Entry = (key: [UInt8], value: [UInt8])

    /// The aesgcm vector: key "key1", AES-128, stored at its etcd key (the key is authenticated).
    static func gcmEntry() throws -> (entry: Entry, key: NamedKey) {
        let vectors = try #require(try JSONSerialization.jsonObject(with: Data(Fixtures.bytes("vectors/synthetic_vectors.json"))) as? [String: Any])
        let vector = try #require(vectors["aesgcm_key1_aes128"] as? [String: Any])
        let etcdKey = try #require(vectors["etcd_key"] as? String)
        let secret = try #require(Data(base64Encoded: vector["config_secret_b64"] as? String ?? ""))
        let value = try #require(vector["etcd_value_hex"] as? String)
        return ((Array(etcdKey.utf8), try hexBytes(value)), NamedKey(name: try #require(vector["key_name"] as? String), secret: SecretBytes(Array(secret))))
    }

    /// A protobuf-encoded object: what the apiserver stores through identity.
    static let protobuf: [UInt8] = [0x6b, 0x38, 0x73, 0x00, 0x0a, 0x02, 0x76, 0x31]

    static func plaintext(_ key: String) -> Entry { (Array(key.utf8), protobuf) }

    static func randomKey(_ name: String, fill: UInt8) -> NamedKey { NamedKey(name: name, secret: SecretBytes(Array(repeating: fill, count: 32))) }

    static func config(_ providers: [ProviderConfiguration], resources: [String] = ["secrets"]) -> EncryptionConfiguration {
        EncryptionConfiguration(rules: [ResourceRule(resources: resources, providers: providers)])
    }

    static func plan(_ entries: [Entry], from current: EncryptionConfiguration, to proposed: EncryptionConfiguration) -> PlanAnalysis {
        PlanAnalyzer(current: current, proposed: proposed).run(entries: entries)
    }

    static func transition(_ analysis: PlanAnalysis, _ from: Verdict, _ to: Verdict) -> TransitionSummary? {
        analysis.transitions.first { $0.transition == VerdictTransition(from: from, to: to) }
    }

    // MARK: Plans

    @Test func addingANewFirstKeyIsSafeAndMakesEntriesStale() throws {
        let (entry, key1) = try Self.gcmEntry()
        let analysis = Self.plan([entry], from: Self.config([.aesgcm([key1]), .identity]),
                                 to: Self.config([.aesgcm([Self.randomKey("key2", fill: 7), key1]), .identity]))
        #expect(analysis.isSafe)
        #expect(analysis.audited == 1)
        #expect(Self.transition(analysis, .current, .stale)?.entries == 1)
        #expect(Self.transition(analysis, .current, .stale)?.transition.effect == .needsRewrite)
        #expect(analysis.rewrite.entries == 1)
    }

    @Test func addingANewFirstKeyListsTheRewriteCommandForTheNamespace() throws {
        let (entry, key1) = try Self.gcmEntry()
        let analysis = Self.plan([entry, Self.plaintext("/registry/configmaps/default/c")],
                                 from: Self.config([.aesgcm([key1]), .identity]),
                                 to: Self.config([.aesgcm([Self.randomKey("key2", fill: 7), key1]), .identity]))
        #expect(analysis.rewrite.commands.map(\.command) == ["kubectl get secrets -n secret-encryption-test -o json | kubectl replace -f -"])
    }

    @Test func rewriteUsesAllNamespacesWhenEveryNamespaceHoldingTheResourceIsAffected() throws {
        let current = Self.config([.identity])
        let proposed = Self.config([.aesgcm([Self.randomKey("key1", fill: 1)]), .identity])
        let analysis = Self.plan([Self.plaintext("/registry/secrets/a/s"), Self.plaintext("/registry/secrets/b/s")], from: current, to: proposed)
        #expect(Self.transition(analysis, .current, .unencrypted)?.entries == 2)
        #expect(analysis.rewrite.commands.map(\.command) == ["kubectl get secrets -A -o json | kubectl replace -f -"])
    }

    @Test func rewriteOfAClusterScopedCustomResourceHasNoNamespaceFlag() {
        let current = Self.config([.identity], resources: ["*.*"])
        let proposed = Self.config([.secretbox([Self.randomKey("sb", fill: 2)]), .identity], resources: ["*.*"])
        let analysis = Self.plan([Self.plaintext("/registry/example.com/widgets/w1")], from: current, to: proposed)
        #expect(analysis.rewrite.commands.map(\.command) == ["kubectl get widgets.example.com -o json | kubectl replace -f -"])
    }

    @Test func rewriteOfABuiltinInAGroupNamesTheGroup() {
        let current = Self.config([.identity], resources: ["*.apps"])
        let proposed = Self.config([.aesgcm([Self.randomKey("a", fill: 3)]), .identity], resources: ["*.apps"])
        let analysis = Self.plan([Self.plaintext("/registry/deployments/default/web")], from: current, to: proposed)
        #expect(analysis.rewrite.commands.map(\.command) == ["kubectl get deployments.apps -n default -o json | kubectl replace -f -"])
    }

    @Test func removingIdentityWithUnencryptedDataIsUnsafe() {
        let key = Self.randomKey("key1", fill: 1)
        let analysis = Self.plan([Self.plaintext("/registry/secrets/default/s")],
                                 from: Self.config([.aesgcm([key]), .identity]), to: Self.config([.aesgcm([key])]))
        #expect(!analysis.isSafe)
        #expect(analysis.breaking.map(\.key) == ["/registry/secrets/default/s"])
        #expect(analysis.breaking.first?.transition == VerdictTransition(from: .unencrypted, to: .undecryptable))
        #expect(analysis.breakingByResource == ["secrets": 1])
    }

    @Test func removingAnOldKeyStillInUseIsUnsafe() throws {
        let (entry, key1) = try Self.gcmEntry()
        let key2 = Self.randomKey("key2", fill: 7)
        let analysis = Self.plan([entry], from: Self.config([.aesgcm([key2, key1])]), to: Self.config([.aesgcm([key2])]))
        #expect(!analysis.isSafe)
        #expect(analysis.breaking.first?.transition == VerdictTransition(from: .stale, to: .undecryptable))
        #expect(analysis.breaking.first?.failure == .noProviderMatchesPrefix)
    }

    @Test func removingAnOldKeyAfterTheRewriteIsSafe() throws {
        // After the rewrite every entry is stored with the writing key (the vector's key1).
        let (entry, key1) = try Self.gcmEntry()
        let analysis = Self.plan([entry], from: Self.config([.aesgcm([key1, Self.randomKey("key0", fill: 9)])]),
                                 to: Self.config([.aesgcm([key1])]))
        #expect(analysis.isSafe)
        #expect(analysis.transitions.isEmpty)
        #expect(analysis.unchanged == 1)
        #expect(analysis.rewrite.commands.isEmpty)
    }

    @Test func entriesUndecryptableUnderBothAreNotBreaking() {
        let analysis = Self.plan([Self.plaintext("/registry/secrets/default/s")],
                                 from: Self.config([.aesgcm([Self.randomKey("k", fill: 1)])]),
                                 to: Self.config([.aesgcm([Self.randomKey("k", fill: 1)])]))
        #expect(analysis.isSafe)
        #expect(analysis.alreadyUndecryptable == ["secrets": 1])
    }

    @Test func examplesStopAtTheLimit() {
        let entries = (0..<5).map { Self.plaintext("/registry/secrets/ns\($0)/s") }
        let analyzer = PlanAnalyzer(current: Self.config([.identity]), proposed: Self.config([.aesgcm([Self.randomKey("k", fill: 1)]), .identity]),
                                    exampleLimit: 2)
        let summary = analyzer.run(entries: entries).transitions.first
        #expect(summary?.entries == 5)
        #expect(summary?.examples.map(\.key) == ["/registry/secrets/ns0/s", "/registry/secrets/ns1/s"])
    }

    @Test func transitionsAreSortedWorstFirst() {
        let sorted = [VerdictTransition(from: .current, to: .stale), VerdictTransition(from: .stale, to: .undecryptable)].sorted()
        #expect(sorted.first?.effect == .breaks)
    }

    @Test func oddNamespacesAreShellQuoted() {
        let command = RewriteCommand(resource: "secrets", scope: .namespace("a'b c"), entries: 1)
        #expect(command.command == "kubectl get secrets -n 'a'\\''b c' -o json | kubectl replace -f -")
    }

    // MARK: Hosts

    static func hosts(_ a: [ProviderConfiguration], _ b: [ProviderConfiguration]) -> [HostConfiguration] {
        [HostConfiguration(name: "host-a", configuration: config(a)), HostConfiguration(name: "host-b", configuration: config(b))]
    }

    @Test func twoHostsWithTheSameConfigurationAreIdentical() {
        // Separate SecretBytes with equal bytes: compared by content, not identity.
        let comparison = HostComparison(hosts: Self.hosts([.aesgcm([Self.randomKey("key1", fill: 1)]), .identity],
                                                          [.aesgcm([Self.randomKey("key1", fill: 1)]), .identity]))
        #expect(comparison.identical)
        #expect(comparison.isSafe)
        #expect(comparison.findings.isEmpty)
    }

    @Test func hostMissingTheOtherHostsWriteKeyIsUnsafe() {
        let comparison = HostComparison(hosts: Self.hosts([.aesgcm([Self.randomKey("key2", fill: 2), Self.randomKey("key1", fill: 1)])],
                                                          [.aesgcm([Self.randomKey("key1", fill: 1)])]))
        #expect(!comparison.isSafe)
        let unsafe = comparison.findings.filter { $0.severity == .unsafe }
        #expect(unsafe.map(\.host) == ["host-a"])
        #expect(unsafe.first?.message.contains("host-b cannot read") == true)
        #expect(unsafe.first?.message.contains("does not list aesgcm key \"key2\"") == true)
    }

    @Test func hostWithAnExtraReadOnlyKeyIsOnlyANote() {
        let comparison = HostComparison(hosts: Self.hosts([.aesgcm([Self.randomKey("key1", fill: 1)])],
                                                          [.aesgcm([Self.randomKey("key1", fill: 1), Self.randomKey("old", fill: 3)])]))
        #expect(comparison.isSafe)
        #expect(!comparison.identical)
        #expect(comparison.findings.map(\.severity) == [.note])
        #expect(comparison.findings.first?.message.contains("host-b also lists aesgcm key \"old\" for reading") == true)
    }

    @Test func kmsProviderNameMismatchIsUnsafe() {
        let vault = KMSConfiguration(apiVersion: .v2, name: "vault", endpoint: "unix:///a.sock")
        let other = KMSConfiguration(apiVersion: .v2, name: "vault-2", endpoint: "unix:///a.sock")
        let comparison = HostComparison(hosts: Self.hosts([.kms(vault)], [.kms(other)]))
        #expect(!comparison.isSafe)
        #expect(comparison.findings.filter { $0.severity == .unsafe }.count == 2)
        #expect(comparison.findings.first?.message.contains("does not list kms provider") == true)
    }

    @Test func kmsAPIVersionMismatchIsUnsafe() {
        let v1 = KMSConfiguration(apiVersion: .v1, name: "vault", endpoint: "unix:///a.sock")
        let v2 = KMSConfiguration(apiVersion: .v2, name: "vault", endpoint: "unix:///a.sock")
        let comparison = HostComparison(hosts: Self.hosts([.kms(v2)], [.kms(v1)]))
        #expect(comparison.findings.contains { $0.severity == .unsafe && $0.message.contains("API version v1, not v2") })
    }

    @Test func sameKeyNameWithOtherSecretBytesIsUnsafeAndNeverShowsTheSecret() {
        let comparison = HostComparison(hosts: Self.hosts([.aesgcm([Self.randomKey("key1", fill: 0x41)])],
                                                          [.aesgcm([Self.randomKey("key1", fill: 0x42)])]))
        #expect(!comparison.isSafe)
        #expect(comparison.findings.contains { $0.message.contains("different secret bytes") })
        let text = comparison.findings.map(\.message).joined()
        #expect(!text.contains(String(repeating: "A", count: 8)) && !text.contains("QUFB"))
    }

    @Test func identityWriterNeedsIdentityOnTheOtherHost() {
        let comparison = HostComparison(hosts: Self.hosts([.identity, .aesgcm([Self.randomKey("key1", fill: 1)])],
                                                          [.aesgcm([Self.randomKey("key1", fill: 1)])]))
        #expect(comparison.findings.contains { $0.severity == .unsafe && $0.host == "host-a" && $0.message.contains("no identity provider") })
    }

    @Test func hostsWritingDifferentKeysTheyBothReadIsANote() {
        let k1 = Self.randomKey("key1", fill: 1), k2 = Self.randomKey("key2", fill: 2)
        let comparison = HostComparison(hosts: Self.hosts([.aesgcm([k1, k2])], [.aesgcm([k2, k1])]))
        #expect(comparison.isSafe)
        #expect(comparison.findings.contains { $0.message.contains("stale on the other") })
    }

    @Test func wildcardRulesAreComparedForTheResourcesOnlyTheyMatch() {
        let a = EncryptionConfiguration(rules: [ResourceRule(resources: ["*.*"], providers: [.aesgcm([Self.randomKey("all", fill: 1)])])])
        let b = EncryptionConfiguration(rules: [ResourceRule(resources: ["*.*"], providers: [.identity])])
        let comparison = HostComparison(hosts: [HostConfiguration(name: "a", configuration: a), HostConfiguration(name: "b", configuration: b)])
        #expect(comparison.resources == ["*.*"])
        #expect(comparison.findings.filter { $0.severity == .unsafe }.map(\.resource) == ["*.*", "*.*"])
    }

    @Test func entriesEveryHostReadsAreNotReported() throws {
        let (entry, key1) = try Self.gcmEntry()
        let comparison = HostComparison.run(hosts: Self.hosts([.aesgcm([key1])], [.aesgcm([Self.randomKey("key9", fill: 9), key1])]),
                                            entries: [entry, Self.plaintext("/registry/secrets/default/plain")])
        #expect(comparison.data?.audited == 2)
        #expect(comparison.data?.inconsistent.isEmpty == true)
        #expect(comparison.data?.unreadableEverywhere == ["secrets": 1])
    }

    @Test func entryReadableOnOnlyOneHostIsReported() throws {
        let (entry, key1) = try Self.gcmEntry()
        let comparison = HostComparison.run(hosts: Self.hosts([.aesgcm([key1])], [.aesgcm([Self.randomKey("key9", fill: 9)])]),
                                            entries: [entry])
        #expect(comparison.data?.inconsistent.map(\.key) == ["/registry/secrets/secret-encryption-test/test-secret"])
        #expect(comparison.data?.inconsistent.first?.unreadableBy.keys.sorted() == ["host-b"])
        #expect(comparison.data?.unreadableByHost == ["host-b": ["secrets": 1]])
        #expect(!comparison.isSafe)
    }
}
