import AtRestTestSupport
import Foundation
import Testing

/// Key material and decrypted or plaintext data are never printed unless asked for with an explicit
/// flag, whatever shape the input takes.
@Suite struct SecretLeakTests {
    /// A private configuration whose one aesgcm key entry is `entry` (flow style), in a fresh directory.
    private func configuration(keyEntry entry: String) throws -> (path: String, directory: URL) {
        let directory = try Fixtures.temporaryDirectory("config-typo")
        let path = directory.appendingPathComponent("typo.yaml").path
        let text = """
            apiVersion: apiserver.config.k8s.io/v1
            kind: EncryptionConfiguration
            resources:
              - resources: [secrets]
                providers:
                  - aesgcm:
                      keys:
                        - \(entry)
            """
        #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]))
        return (path, directory)
    }

    /// `{name: k1, secret:BASE64}` (no space after the colon) is one unknown field named `secret:BASE64`:
    /// the finding names the field without its value (D15).
    @Test func anUnknownFieldGluedToASecretIsNamedWithoutIt() throws {
        let secret = "U1VQRVJTRUNSRVRMRUFLRUQxMjM0NTY3ODkwMTI="
        let (path, directory) = try configuration(keyEntry: "{name: k1, secret:\(secret)}")
        defer { try? FileManager.default.removeItem(at: directory) }
        for command in [["config", "check", path], ["audit", Fixtures.path("etcd/export.json"), "--config", path]] {
            let result = try AtRestBinary.run(command)
            #expect(result.status == 2)
            let printed = result.stdout + result.stderr
            #expect(printed.contains(#"unknown field "resources[0].providers[0].aesgcm.keys[0].secret:<REDACTED>""#), "\(printed)")
            #expect(!printed.contains(secret) && !printed.contains("U1VQRVJTRUNSRVRM"), "\(printed)")
        }
    }

    /// A key pasted where a field name belongs is not printed either; a short misspelt field name is.
    @Test func anUnknownFieldOfAKeyEntryIsShownOnlyWhenItIsAShortName() throws {
        let secret = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="
        let (path, directory) = try configuration(keyEntry: "{name: k1, \(secret): x, sekret: y}")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try AtRestBinary.run(["config", "check", path])
        #expect(result.status == 2)
        #expect(!result.stdout.contains(secret) && !result.stdout.contains("c2VjcmV0c2VjcmV0"), "\(result.stdout)")
        #expect(result.stdout.contains(#"unknown field "resources[0].providers[0].aesgcm.keys[0].sekret""#), "\(result.stdout)")
    }
}

/// `inspect` of a Secret stored in plaintext: its bytes are its data (D18).
@Suite struct PlaintextSecretInspectTests {
    /// The bundled sample's `/registry/secrets/default/plain` is a Secret stored as plaintext protobuf.
    static let sample = Fixtures.path("sample/snapshot.db")
    static let key = "/registry/secrets/default/plain"

    /// The value's bytes, as `hexdump -C` would show them, for comparison.
    private func dumpLines() throws -> [String] {
        let raw = try AtRestBinary.run(["inspect", Self.sample, Self.key, "--raw", "--reveal"])
        try #require(raw.status == 0, "\(raw.stderr)")
        return raw.stdout.split(separator: "\n").map { String($0.prefix(60)) }.filter { $0.count == 60 }
    }

    @Test func itsBytesAreNotDumpedWithoutReveal() throws {
        let result = try AtRestBinary.run(["inspect", Self.sample, Self.key])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("(a Secret stored in plaintext: its bytes are its data, not shown; --reveal shows them)"))
        for line in try dumpLines() { #expect(!result.stdout.contains(line), "\(line)") }
    }

    @Test func revealDumpsItsBytes() throws {
        let result = try AtRestBinary.run(["inspect", Self.sample, Self.key, "--reveal"])
        #expect(result.status == 0, "\(result.stderr)")
        for line in try dumpLines() { #expect(result.stdout.contains(line), "\(line)") }
    }

    @Test func rawRefusesItWithoutReveal() throws {
        let result = try AtRestBinary.run(["inspect", Self.sample, Self.key, "--raw"])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "atrest: \(Self.key) is a Secret stored in plaintext: its bytes are its data; add --reveal to print them [usage]\n")
    }

    /// An encrypted Secret's bytes are ciphertext: dumped as before.
    @Test func anEncryptedSecretIsStillDumped() throws {
        let result = try AtRestBinary.run(["inspect", Self.sample, "/registry/secrets/default/gcm-key1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("00000000  6b 38 73 3a 65 6e 63 3a"), "\(result.stdout.prefix(600))")
    }
}
