import AtRestTestSupport
import Foundation
import Testing

/// `atrest inspect`, run as a user runs it, on the real etcd fixtures
/// (`testdata/etcd`, see its README for the key space) and on the audit fixture
/// (`testdata/audit`: values encrypted by an independent encryptor, every object's
/// data holding `ATREST-PLAINTEXT-MARKER-5f0c1e`).
@Suite struct InspectCommandTests {
    static let export = Fixtures.path("etcd/export.json")
    static let snapshot = Fixtures.path("etcd/snapshot.db")
    static let marker = "ATREST-PLAINTEXT-MARKER-5f0c1e"

    static func inspect(_ arguments: [String]) throws -> AtRestBinary.Result {
        try AtRestBinary.run(["inspect", "--feature-gates", "KMSv1=true"] + arguments)
    }

    /// The hex dump line (not a continuation line) beside which `label` is printed.
    static func dumpLine(labelled label: String, in output: String) -> String? {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard var index = lines.firstIndex(where: { $0.contains("<- \(label)") }) else { return nil }
        while index > 0 && lines[index].hasPrefix(" ") { index -= 1 }
        return lines[index]
    }

    /// The audit fixture as an etcdctl `-w json` export, and `config.yaml` copied with
    /// mode 0600 (the loader warns about key files others can read).
    static func auditFixture() throws -> (directory: URL, export: String, config: String) {
        let directory = try Fixtures.temporaryDirectory("inspect-audit")
        let entries = try HexDumpTests.auditEntries()
        let export = directory.appendingPathComponent("export.json")
        try Data(HexDumpTests.jsonExport(entries)).write(to: export)
        let config = directory.appendingPathComponent("config.yaml")
        try Data(Fixtures.bytes("audit/config.yaml")).write(to: config)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: config.path)
        return (directory, export.path, config.path)
    }

    // MARK: Annotated view

    @Test func labelsTheRegionsOfAnAESGCMValue() throws {
        let result = try Self.inspect([Self.export, "/registry/secrets/kube-system/s2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("stored    aesgcm, key \"key2\""))
        #expect(Self.dumpLine(labelled: "provider prefix k8s:enc:aesgcm:v1:", in: result.stdout)?.hasPrefix("00000000  6b 38 73 3a") == true)
        #expect(Self.dumpLine(labelled: "key name \"key2\" + ':' (5 bytes @ 0x12)", in: result.stdout)?.hasPrefix("00000010") == true)
        // 18-byte prefix + "key2:" = 23: the nonce starts at 0x17, on the second line.
        #expect(Self.dumpLine(labelled: "nonce (12 bytes @ 0x17)", in: result.stdout)?.hasPrefix("00000010") == true)
        #expect(result.stdout.contains("<- ciphertext ("))
        #expect(result.stdout.contains("<- tag (16 bytes @"))
        #expect(result.stdout.contains("\nlegend\n"))
    }

    @Test func labelsTheIVAndCiphertextOfAnAESCBCValue() throws {
        let result = try Self.inspect([Self.export, "/registry/secrets/default/s1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("<- provider prefix k8s:enc:aescbc:v1: (18 bytes @ 0x0)"))
        #expect(result.stdout.contains("<- key name \"key1\" + ':' (5 bytes @ 0x12)"))
        #expect(result.stdout.contains("<- IV (16 bytes @ 0x17)"))
        // The fixture stores 32 bytes after the key name: the IV and one block.
        #expect(result.stdout.contains("<- ciphertext (16 bytes @ 0x27)"))
    }

    @Test func labelsTheNonceTagAndBoxOfASecretboxValueTagFirst() throws {
        let result = try Self.inspect([Self.export, "/registry/secrets/default/s3"])
        #expect(result.status == 0, "\(result.stderr)")
        // "k8s:enc:secretbox:v1:" (21) + "k3:" (3) = 24: nonce at 0x18, Poly1305 tag right after it, then the ciphertext.
        #expect(result.stdout.contains("<- nonce (24 bytes @ 0x18)"))
        #expect(result.stdout.contains("<- Poly1305 tag (16 bytes @ 0x30)"))
        // The fixture's box is the bare tag (an empty plaintext): the value ends right after it.
        #expect(result.stdout.contains("\n00000040\n"))
    }

    @Test func labelsTheDEKLengthAndWrappedDEKOfAKMSv1Value() throws {
        let result = try Self.inspect([Self.export, "/registry/configmaps/default/cm1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("stored    kms v1, provider \"my-kms\""))
        #expect(result.stdout.contains("<- DEK length (BE16) = 32 (2 bytes @ 0x16)"))
        #expect(result.stdout.contains("<- encrypted DEK (32 bytes @ 0x18)"))
    }

    @Test func labelsTheEncryptedObjectFieldsOfAKMSv2Value() throws {
        let result = try Self.inspect([Self.export, "/registry/secrets/default/kms2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("stored    kms v2, provider \"kms-v2\""))
        #expect(result.stdout.contains("<- encryptedData (field 1,"))
        #expect(result.stdout.contains("<- keyID \"key-id-1\" (field 2)"))
        #expect(result.stdout.contains("<- encryptedDEKSource (field 3,"))
        #expect(result.stdout.contains("<- encryptedDEKSourceType = HKDF_SHA256_XNONCE_AES_GCM_SEED (field 5)"))
        // Type 1 needs info(32) + nonce(12) + tag(16) in encryptedData; the fixture's fake one is shorter, and that is said.
        #expect(result.stdout.contains("note: encryptedData is shorter than info(32) + nonce(12) + tag(16)"))
    }

    @Test func labelsTheRuntimeUnknownFieldsOfProtobufPlaintext() throws {
        let fixture = try Self.auditFixture()
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        // A plaintext Secret is dumped only with --reveal.
        let result = try Self.inspect([fixture.export, "/registry/secrets/default/plain", "--reveal"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("stored    plaintext, Kubernetes protobuf"))
        #expect(result.stdout.contains("<- magic k8s\\x00 (4 bytes @ 0x0)"))
        #expect(result.stdout.contains("<- typeMeta (field 1)"))
        #expect(result.stdout.contains("<-   apiVersion \"v1\""))
        #expect(result.stdout.contains("<-   kind \"Secret\""))
        #expect(result.stdout.contains("<- raw (field 2,"))
        #expect(result.stdout.contains("<-   metadata (ObjectMeta, field 1)"))
        #expect(result.stdout.contains("<-   object field 2"))
        #expect(result.stdout.contains("<- contentType (field 4)"))
    }

    @Test func showsMetadataAndTheLeaseAsEtcdctlLeaseListPrintsIt() throws {
        let result = try Self.inspect([Self.export, "/registry/masterleases/10.0.0.1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("create revision  23"))
        #expect(result.stdout.contains("lease            7587861231683425117 (694d7f968772d35d)"))
        #expect(result.stdout.contains("never encrypted"))
    }

    @Test func showsTheResourceTheKeyStores() throws {
        let result = try Self.inspect([Self.export, "/registry/secrets/kube-system/s2"])
        #expect(result.stdout.contains("group/resource   (core)/secrets"))
        #expect(result.stdout.contains("namespace        kube-system"))
        #expect(result.stdout.contains("name             s2"))
    }

    @Test func acceptsNonUTF8KeysAsHexAndPrintsThemEscaped() throws {
        // "/registry/odd/" + ff fe
        let hex = Array("/registry/odd/".utf8).map { String(format: "%02x", $0) }.joined() + "fffe"
        let result = try Self.inspect([Self.export, "--key-hex", hex])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("key       /registry/odd/\\xff\\xfe"))
    }

    // MARK: Several keys, prefix, missing keys, errors

    @Test func inspectsEveryKeyUnderAPrefixUpToTheLimit() throws {
        let result = try Self.inspect([Self.export, "--prefix", "/registry/secrets/", "--limit", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.components(separatedBy: "\nkey       ").count - 1 + (result.stdout.hasPrefix("key       ") ? 1 : 0) == 2)
        #expect(result.stdout.contains("more keys under /registry/secrets/ (--limit 2)"))
    }

    @Test func aKeyNotInTheInputExitsOneAfterShowingTheOthers() throws {
        let result = try Self.inspect([Self.export, "/registry/secrets/default/nope", "/registry/secrets/kube-system/s2"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("/registry/secrets/default/nope: not in the input"))
        #expect(result.stdout.contains("key       /registry/secrets/kube-system/s2"))
    }

    @Test func rawWithMoreThanOneKeyIsAUsageError() throws {
        let result = try Self.inspect([Self.export, "/registry/secrets/default/s1", "/registry/secrets/kube-system/s2", "--raw"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--raw prints one value"))
    }

    @Test func malformedKeyHexIsAUsageError() throws {
        let result = try Self.inspect([Self.export, "--key-hex", "+f"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--key-hex +f: not hex bytes"))
    }

    @Test func worksOnAnIndexDirectoryToo() throws {
        let directory = try Fixtures.temporaryDirectory("inspect-index")
        defer { try? FileManager.default.removeItem(at: directory) }
        let index = directory.appendingPathComponent("index").path
        #expect(try AtRestBinary.run(["index", Self.export, "--index", index]).status == 0)
        let fromIndex = try Self.inspect(["--index", index, "/registry/secrets/kube-system/s2"])
        let fromFile = try Self.inspect([Self.export, "/registry/secrets/kube-system/s2"])
        #expect(fromIndex.status == 0, "\(fromIndex.stderr)")
        #expect(fromIndex.stdout == fromFile.stdout)
    }

    @Test func aCorruptInputExitsTwo() throws {
        let directory = try Fixtures.temporaryDirectory("inspect-corrupt")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("corrupt.json")
        try Data("{\"header\":{\"revision\":3},\"kvs\":[{\"key\":\"L2E=\",\"value\":\"!!notbase64".utf8).write(to: file)
        let result = try Self.inspect([file.path, "/a"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("atrest: "))
        #expect(result.stdout.isEmpty)
    }

    // MARK: History

    @Test func showsAnOlderRevisionFromASnapshotAndListsTheKeysHistory() throws {
        let result = try Self.inspect([Self.snapshot, "/registry/secrets/default/s1", "--revision", "3"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("revision  3 from the history (live revision 15)"))
        #expect(result.stdout.contains("stored    plaintext, Kubernetes protobuf"))
        #expect(result.stdout.contains("history   3 revisions of this key in the input"))
        #expect(result.stdout.contains("  * 3 "))
        let rows = result.stdout.split(separator: "\n").filter { $0.hasPrefix("  * ") || $0.hasPrefix("    ") }
            .map { $0.split(separator: " ").map(String.init) }
        #expect(rows.contains(["*", "3", "put", "64", "plaintext", "protobuf"]))
        #expect(rows.contains(["6", "put", "68", "plaintext", "protobuf"]))
        #expect(rows.contains(["15", "put", "55", "aescbc", "key1"]))
    }

    @Test func aRevisionThatIsNotOneOfTheKeysExitsTwoListingItsRevisions() throws {
        let result = try Self.inspect([Self.snapshot, "/registry/secrets/default/s1", "--revision", "4"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--revision 4 is not a revision of /registry/secrets/default/s1; its revisions: 3, 6, 15"))
        #expect(result.stdout.isEmpty)
    }

    @Test func aRevisionOnAnInputWithoutHistoryExitsTwo() throws {
        let result = try Self.inspect([Self.export, "/registry/secrets/default/s1", "--revision", "3"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("has no history"))
    }

    @Test func aRevisionThatDeletedTheKeyExitsTwo() throws {
        let result = try Self.inspect([Self.snapshot, "/registry/secrets/default/gone", "--revision", "13"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--revision 13 deleted /registry/secrets/default/gone: a tombstone stores no value"))
    }

    @Test func aDeletedKeyShowsItsHistoryFromASnapshot() throws {
        let result = try Self.inspect([Self.snapshot, "/registry/secrets/default/gone"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("not live: deleted at revision 13"))
        #expect(result.stdout.contains("(tombstone)"))
    }

    // MARK: Configuration, verdict, decryption

    @Test func withAConfigurationShowsTheRulesProvidersAndTheVerdict() throws {
        let fixture = try Self.auditFixture()
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let result = try Self.inspect([fixture.export, "/registry/secrets/default/gcm-key2", "--config", fixture.config])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("providers for secrets, in order (the first writes):"))
        #expect(result.stdout.contains("1. aesgcm keys \"key1\", \"key2\", \"key3\""))
        #expect(result.stdout.contains("6. identity"))
        #expect(result.stdout.contains("verdict   stale: read by aesgcm key \"key2\""))
    }

    @Test func decryptShowsTheEnvelopeAndRedactsTheData() throws {
        let fixture = try Self.auditFixture()
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let result = try Self.inspect([fixture.export, "/registry/secrets/default/gcm-key1", "--config", fixture.config, "--decrypt"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("decrypted with aesgcm key \"key1\" (provider 1, key 1)"))
        #expect(result.stdout.contains("apiVersion    v1"))
        #expect(result.stdout.contains("kind          Secret"))
        #expect(result.stdout.contains("name          gcm-key1"))
        #expect(result.stdout.contains("namespace     default"))
        #expect(result.stdout.contains("(redacted; --reveal shows it)"))
        #expect(!result.stdout.contains(Self.marker))
        #expect(!result.stderr.contains(Self.marker))
    }

    @Test func decryptWithRevealPrintsTheData() throws {
        let fixture = try Self.auditFixture()
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let result = try Self.inspect([fixture.export, "/registry/secrets/default/gcm-key1", "--config", fixture.config, "--decrypt", "--reveal"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains(Self.marker))
        #expect(result.stdout.contains("decrypted value (hexdump -C):"))
    }

    @Test func decryptOfJSONCustomResourceRedactsItsSpec() throws {
        let fixture = try Self.auditFixture()
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let result = try Self.inspect([fixture.export, "/registry/example.com/widgets/default/w1", "--config", fixture.config, "--decrypt"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("encoding      json"))
        #expect(result.stdout.contains("kind          Widget"))
        #expect(result.stdout.contains("spec:"))
        #expect(!result.stdout.contains(Self.marker))
    }

    @Test func decryptWarnsWhenTheObjectWasWrittenUnderAnotherKey() throws {
        let fixture = try Self.auditFixture()
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let result = try Self.inspect([fixture.export, "/registry/secrets/default/sb-moved", "--config", fixture.config, "--decrypt"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("the value was written under another key"))
    }

    @Test func decryptOfAKMSValueSaysItCannotBeDecryptedOffline() throws {
        let fixture = try Self.auditFixture()
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let result = try Self.inspect([fixture.export, "/registry/secrets/default/kms-v2", "--config", fixture.config, "--decrypt"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("its plugin is not asked, so atrest cannot decrypt it (--kms asks it)"))
        #expect(result.stdout.contains("keyID "))
        #expect(result.stdout.contains("DEK source type"))
        #expect(result.stdout.contains("sha256(wrapped DEK)"))
        #expect(!result.stdout.contains(Self.marker))
    }

    @Test func decryptOfAnUndecryptableValueSaysWhyPerProvider() throws {
        let fixture = try Self.auditFixture()
        defer { try? FileManager.default.removeItem(at: fixture.directory) }
        let result = try Self.inspect([fixture.export, "/registry/secrets/default/gcm-moved", "--config", fixture.config, "--decrypt"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("verdict   undecryptable"))
        #expect(result.stdout.contains("cannot be read with this configuration:"))
        #expect(result.stdout.contains("authentication failed"))
    }

    @Test func decryptWithoutAConfigurationIsAUsageError() throws {
        let result = try Self.inspect([Self.export, "/registry/secrets/default/s1", "--decrypt"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--decrypt needs --config"))
    }
}
