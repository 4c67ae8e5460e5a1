import AtRestTestSupport
import Foundation
import Testing

/// `--kube-version` and `--feature-gates` on `config check`, `audit` and `plan`, run as a user runs them:
/// the chosen release's rules, the apiserver's wording, and the rules named in every output.
@Suite struct KubeVersionTests {
    static let kmsV1Refused = "KMSv1 is deprecated and will only receive security updates going forward. Use KMSv2 instead.  Set --feature-gates=KMSv1=true to use the deprecated KMSv1 feature."
    static let wildcardRefused = #"Invalid value: "*.*": wildcards match resources from Kubernetes 1.27 on; 1.26 looks rules up by exact resource name, so "*.*" matches nothing and this rule encrypts nothing"#

    /// A copy of a fixture with mode 0600, so that the "readable by others" warning does not depend on the checkout.
    private func privateCopy(_ fixture: String) throws -> (path: String, directory: URL) {
        let directory = try Fixtures.temporaryDirectory("kube-version")
        let path = directory.appendingPathComponent((fixture as NSString).lastPathComponent).path
        try Data(Fixtures.bytes("configs/" + fixture)).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        return (path, directory)
    }

    private func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

    // MARK: config check

    @Test func kubeVersion129RefusesKmsV1WithTheApiserversWording() throws {
        let path = Fixtures.path("configs/versions/kms-v1.yaml")
        let result = try AtRestBinary.run(["config", "check", "--kube-version", "1.29", path])
        #expect(result.status == 2)
        #expect(lines(result.stdout) == [
            "\(path):7: error: resources[0].providers[0].kms.apiVersion: \(Self.kmsV1Refused)",
            "\(path): invalid: 1 error, 0 warnings (rules of Kubernetes 1.29)",
        ])
    }

    @Test func kubeVersion129AcceptsKmsV1WithTheKmsV1FeatureGate() throws {
        let path = Fixtures.path("configs/versions/kms-v1.yaml")
        for gates in [["--feature-gates", "KMSv1=true"], ["--feature-gates=KMSv1=true"]] {
            let result = try AtRestBinary.run(["config", "check", "--kube-version", "1.29"] + gates + [path])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(lines(result.stdout).last == "\(path): valid: 0 errors, 1 warning (rules of Kubernetes 1.29 with --feature-gates=KMSv1=true)")
        }
    }

    @Test func kubeVersion128AcceptsKmsV1WithADeprecationWarning() throws {
        let path = Fixtures.path("configs/versions/kms-v1.yaml")
        let result = try AtRestBinary.run(["config", "check", "--kube-version", "1.28", path])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("warning: resources[0].providers[0].kms.apiVersion: KMSv1 is deprecated and will only receive security updates going forward. Use KMSv2 instead."))
    }

    @Test func newestRulesAreTheDefaultAndRefuseKmsV1() throws {
        let path = Fixtures.path("configs/versions/kms-v1.yaml")
        let result = try AtRestBinary.run(["config", "check", path])
        #expect(result.status == 2)
        #expect(lines(result.stdout).last == "\(path): invalid: 1 error, 0 warnings (rules of Kubernetes 1.36)")
    }

    @Test func kubeVersion126RefusesWildcards() throws {
        let (path, directory) = try privateCopy("versions/wildcard.yaml")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try AtRestBinary.run(["config", "check", "--kube-version", "1.26", path])
        #expect(result.status == 2)
        #expect(lines(result.stdout).first == "\(path):4: error: resources[0].resources[0]: \(Self.wildcardRefused)")
        #expect(lines(result.stdout).last == "\(path): invalid: 1 error, 1 warning (rules of Kubernetes 1.26)")
        let later = try AtRestBinary.run(["config", "check", "--kube-version", "1.27", path])
        #expect(later.status == 0, "\(later.stdout)\(later.stderr)")
        #expect(later.stdout == "\(path): valid: 0 errors, 0 warnings (rules of Kubernetes 1.27)\n")
    }

    @Test func jsonNamesTheReleaseAndTheGatesOfTheRulesUsed() throws {
        let path = Fixtures.path("configs/versions/kms-v1.yaml")
        let result = try AtRestBinary.run(["config", "check", "--kube-version", "1.29", "--feature-gates", "KMSv1=true", "--output", "json", path])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["apiVersion"] as? String == "atrest.io/v1")
        let rules = try #require(object["rules"] as? [String: Any])
        #expect(rules["kubernetesVersion"] as? String == "1.29")
        #expect(rules["featureGates"] as? [String: Bool] == ["KMSv1": true, "KMSv2": true, "KMSv2KDF": true])
        let again = try AtRestBinary.run(["config", "check", "--kube-version", "1.29", "--feature-gates", "KMSv1=true", "--output", "json", path])
        #expect(again.stdout == result.stdout)
    }

    // MARK: Usage errors

    @Test func malformedKubeVersionIsAOneLineUsageErrorWithStatusTwo() throws {
        let result = try AtRestBinary.run(["config", "check", "--kube-version", "1.x", Fixtures.path("configs/versions/kms-v1.yaml")])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "atrest: --kube-version \"1.x\": not a Kubernetes version; expected MAJOR.MINOR, e.g. 1.29 [usage]\n")
    }

    @Test func kubeVersionOlderThanModelledIsRefused() throws {
        let result = try AtRestBinary.run(["config", "check", "--kube-version", "1.25", Fixtures.path("configs/versions/kms-v1.yaml")])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("atrest: --kube-version 1.25: atrest checks the rules of Kubernetes 1.26 to 1.36"))
        #expect(lines(result.stderr).count == 1)
    }

    @Test func featureGateWithoutAValueIsAOneLineUsageError() throws {
        let result = try AtRestBinary.run(["config", "check", "--feature-gates", "KMSv1", Fixtures.path("configs/versions/kms-v1.yaml")])
        #expect(result.status == 2)
        #expect(result.stderr == "atrest: --feature-gates: missing bool value for KMSv1 [usage]\n")
    }

    @Test func featureGateTheReleaseDoesNotHaveIsRefused() throws {
        let result = try AtRestBinary.run(["config", "check", "--kube-version", "1.27", "--feature-gates", "KMSv1=true", Fixtures.path("configs/versions/kms-v1.yaml")])
        #expect(result.status == 2)
        #expect(result.stderr == "atrest: --feature-gates: unrecognized feature gate: KMSv1 (Kubernetes 1.27 has no such gate) [usage]\n")
    }

    // MARK: audit and plan

    @Test func auditRefusesAConfigurationTheReleaseRefusesWithStatusTwo() throws {
        let result = try AtRestBinary.run(["audit", Fixtures.path("etcd/export.json"), "--config", Fixtures.path("configs/versions/kms-v1.yaml"),
                                           "--kube-version", "1.29"])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("invalid encryption configuration (rules of Kubernetes 1.29): resources[0].providers[0].kms.apiVersion: \(Self.kmsV1Refused)"))
        #expect(lines(result.stderr).count == 1)
    }

    @Test func auditWithTheGateRunsAndNamesTheRulesInTextAndJson() throws {
        let arguments = ["audit", Fixtures.path("etcd/export.json"), "--config", Fixtures.path("configs/versions/kms-v1.yaml"),
                         "--kube-version", "1.29", "--feature-gates", "KMSv1=true", "--exit-zero"]
        let text = try AtRestBinary.run(arguments)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(lines(text.stdout).first?.hasSuffix("(rules of Kubernetes 1.29 with --feature-gates=KMSv1=true)") == true)
        let json = try AtRestBinary.run(arguments + ["--output", "json"])
        let object = try #require(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let configuration = try #require(object["configuration"] as? [String: Any])
        let rules = try #require(configuration["rules"] as? [String: Any])
        #expect(rules["kubernetesVersion"] as? String == "1.29")
        #expect(rules["featureGates"] as? [String: Bool] == ["KMSv1": true, "KMSv2": true, "KMSv2KDF": true])
    }

    @Test func planRefusesAProposedWildcardUnder126() throws {
        let (proposed, directory) = try privateCopy("versions/wildcard.yaml")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try AtRestBinary.run(["plan", "--config", Fixtures.path("configs/valid/aesgcm-identity.yaml"), "--proposed", proposed,
                                           "--kube-version", "1.26", Fixtures.path("etcd/export.json")])
        #expect(result.status == 2)
        #expect(result.stderr.contains("resources[0].resources[0]: \(Self.wildcardRefused)"))
    }

    @Test func planJsonNamesTheRulesUsed() throws {
        let (proposed, directory) = try privateCopy("versions/wildcard.yaml")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try AtRestBinary.run(["plan", "--config", Fixtures.path("configs/valid/aesgcm-identity.yaml"), "--proposed", proposed,
                                           "--kube-version", "1.27", "--output", "json", Fixtures.path("etcd/export.json")])
        #expect(result.status == 0 || result.status == 1, "\(result.stderr)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let rules = try #require(object["rules"] as? [String: Any])
        #expect(rules["kubernetesVersion"] as? String == "1.27")
        #expect(rules["featureGates"] as? [String: Bool] == ["KMSv2": true])
    }
}
