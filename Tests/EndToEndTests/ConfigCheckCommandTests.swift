import AtRestTestSupport
import Foundation
import Testing

/// `atrest config check`, run as a user runs it.
@Suite struct ConfigCheckCommandTests {
    /// A copy of a fixture with mode 0600, so that the "readable by others" warning does not depend on the checkout.
    private func privateCopy(_ fixture: String) throws -> (path: String, directory: URL) {
        let directory = try Fixtures.temporaryDirectory("config-check")
        let path = directory.appendingPathComponent((fixture as NSString).lastPathComponent).path
        try Data(Fixtures.bytes("configs/" + fixture)).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        return (path, directory)
    }

    @Test func validConfigurationExitsZeroWithASummaryLine() throws {
        let (path, directory) = try privateCopy("valid/aesgcm-identity.yaml")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try AtRestBinary.run(["config", "check", path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "\(path): valid: 0 errors, 0 warnings (rules of Kubernetes 1.36)\n")
    }

    @Test func invalidConfigurationExitsTwoWithFileLineSeverityPathAndMessage() throws {
        let (path, directory) = try privateCopy("invalid/aesgcm-short-secret.yaml")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try AtRestBinary.run(["config", "check", path])
        #expect(result.status == 2)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == #"\#(path):9: error: resources[0].providers[0].aesgcm.keys[0].secret: Invalid value: "REDACTED": secret is not of the expected length, got 8, expected one of [16 24 32]"#)
        #expect(lines.last == "\(path): invalid: 1 error, 0 warnings (rules of Kubernetes 1.36)")
        #expect(!result.stdout.contains("MTIzNDU2Nzg="))
    }

    @Test func warningsPassUnlessStrict() throws {
        let (path, directory) = try privateCopy("warnings/aescbc.yaml")
        defer { try? FileManager.default.removeItem(at: directory) }
        let relaxed = try AtRestBinary.run(["config", "check", path])
        #expect(relaxed.status == 0, "\(relaxed.stderr)")
        #expect(relaxed.stdout.hasPrefix("\(path):6: warning: resources[0].providers[0].aescbc: aescbc is not recommended"))
        let strict = try AtRestBinary.run(["config", "check", "--strict", path])
        #expect(strict.status == 2)
    }

    @Test func jsonOutputIsVersionedWithSortedKeys() throws {
        let (path, directory) = try privateCopy("invalid/masked.yaml")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try AtRestBinary.run(["config", "check", path, "--output", "json"])
        #expect(result.status == 2)
        let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["apiVersion"] as? String == "atrest.io/v1")
        #expect(object["kind"] as? String == "ConfigCheck")
        #expect(object["valid"] as? Bool == false)
        let findings = try #require(object["findings"] as? [[String: Any]])
        #expect(findings.first?["fieldPath"] as? String == "resources[1].resources[0]")
        #expect(findings.first?["line"] as? Int == 10)
        let again = try AtRestBinary.run(["config", "check", path, "--output", "json"])
        #expect(again.stdout == result.stdout)
        let apiVersionAt = try #require(result.stdout.range(of: "\"apiVersion\""))
        let kindAt = try #require(result.stdout.range(of: "\"kind\""))
        #expect(apiVersionAt.lowerBound < kindAt.lowerBound)
    }

    @Test func unparsableFileIsAOneLineErrorWithStatusTwo() throws {
        let path = Fixtures.path("configs/invalid/not-yaml.yaml")
        let result = try AtRestBinary.run(["config", "check", path])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("atrest: \(path):"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }
}
