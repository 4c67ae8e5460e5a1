import AtRestTestSupport
import Foundation
import Testing

/// An OpenShift-shaped key space: Kubernetes types under `/kubernetes.io`, the
/// OpenShift and OAuth API servers' types under `/openshift.io`, each prefix with
/// the configuration of the servers that write it, audited per prefix.
@Suite struct OpenShiftPrefixTests {
    struct Cluster {
        var export: String
        var kubeConfig: String
        var openshiftConfig: String
    }

    /// aescbc binds no authenticated data, so the synthetic vector's value is valid under any key.
    func cluster(in dir: URL) throws -> Cluster {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("vectors/synthetic_vectors.json")))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let cbc = try #require(root["aescbc_key1_aes128"] as? [String: Any])
        let sealed = try hexBytes(try #require(cbc["etcd_value_hex"] as? String))
        let secret = try #require(cbc["config_secret_b64"] as? String)
        let plain = try hexBytes(try #require(root["plaintext_hex"] as? String))
        let entries: [(String, [UInt8])] = [
            ("/kubernetes.io/configmaps/default/cm", plain),
            ("/kubernetes.io/secrets/default/s1", sealed),
            ("/openshift.io/oauth/accesstokens/sha256~token", sealed),
            ("/openshift.io/oauth/authorizetokens/sha256~code", plain),
            ("/openshift.io/routes/default/web", plain),
        ]
        var kvs: [String] = []
        for (index, entry) in entries.enumerated() {
            kvs.append(#"{"key":"\#(Data(entry.0.utf8).base64EncodedString())","create_revision":\#(index + 2),"mod_revision":\#(index + 2),"version":1,"value":"\#(Data(entry.1).base64EncodedString())"}"#)
        }
        let export = dir.appendingPathComponent("export.json").path
        let json = #"{"header":{"cluster_id":1,"member_id":2,"revision":\#(entries.count + 1),"raft_term":2},"kvs":[\#(kvs.joined(separator: ","))],"count":\#(entries.count)}"#
        try Data(json.utf8).write(to: URL(fileURLWithPath: export))
        func config(_ name: String, _ resources: [String]) throws -> String {
            let path = dir.appendingPathComponent(name).path
            let yaml = """
                apiVersion: apiserver.config.k8s.io/v1
                kind: EncryptionConfiguration
                resources:
                - resources: [\(resources.joined(separator: ", "))]
                  providers:
                  - aescbc:
                      keys:
                      - name: key1
                        secret: \(secret)
                  - identity: {}
                """
            _ = FileManager.default.createFile(atPath: path, contents: Data(yaml.utf8), attributes: [.posixPermissions: 0o600])
            return path
        }
        return Cluster(export: export,
                       kubeConfig: try config("kube-apiserver.yaml", ["secrets", "configmaps"]),
                       openshiftConfig: try config("openshift-apiservers.yaml",
                                                   ["routes.route.openshift.io", "oauthaccesstokens.oauth.openshift.io", "oauthauthorizetokens.oauth.openshift.io"]))
    }

    func verdictsByResource(_ audit: [String: Any]) -> [String: [String: Int]] {
        var out: [String: [String: Int]] = [:]
        for resource in audit["resources"] as? [[String: Any]] ?? [] {
            if let name = resource["resource"] as? String { out[name] = resource["verdicts"] as? [String: Int] }
        }
        return out
    }

    @Test func eachPrefixIsAuditedUnderItsOwnConfiguration() throws {
        let dir = try Fixtures.temporaryDirectory("openshift")
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = try cluster(in: dir)
        let result = try AtRestBinary.run(["audit", c.export, "--etcd-prefix", "/kubernetes.io", "--config", c.kubeConfig,
                                           "--etcd-prefix", "/openshift.io", "--config", c.openshiftConfig, "--output", "json"])
        #expect(result.status == 1, "\(result.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(document["kind"] as? String == "AuditList")
        let audits = try #require(document["audits"] as? [[String: Any]])
        #expect(audits.map { $0["etcdPrefix"] as? String } == ["/kubernetes.io", "/openshift.io"])
        let kube = verdictsByResource(audits[0])
        #expect(kube["secrets"]?["current"] == 1)
        #expect(kube["configmaps"]?["unencrypted"] == 1)
        #expect(kube.count == 2)
        let openshift = verdictsByResource(audits[1])
        #expect(openshift["oauthaccesstokens.oauth.openshift.io"]?["current"] == 1)
        #expect(openshift["oauthauthorizetokens.oauth.openshift.io"]?["unencrypted"] == 1)
        #expect(openshift["routes.route.openshift.io"]?["unencrypted"] == 1)
        #expect(openshift.count == 3)
        #expect((audits[1]["totals"] as? [String: Any])?["outsidePrefix"] as? Int == 2)
    }

    @Test func textReportsEachPrefixInTurn() throws {
        let dir = try Fixtures.temporaryDirectory("openshift")
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = try cluster(in: dir)
        let result = try AtRestBinary.run(["audit", c.export, "--etcd-prefix", "/kubernetes.io", "--config", c.kubeConfig,
                                           "--etcd-prefix", "/openshift.io", "--config", c.openshiftConfig])
        #expect(result.status == 1, "\(result.stderr)")
        let kube = try #require(result.stdout.range(of: "entries under /kubernetes.io against"))
        let openshift = try #require(result.stdout.range(of: "entries under /openshift.io against"))
        #expect(kube.lowerBound < openshift.lowerBound)
        #expect(result.stdout.contains("routes.route.openshift.io"))
    }

    @Test func oneConfigurationCanServeEveryPrefix() throws {
        let dir = try Fixtures.temporaryDirectory("openshift")
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = try cluster(in: dir)
        let result = try AtRestBinary.run(["audit", c.export, "--etcd-prefix", "/kubernetes.io", "--etcd-prefix", "/openshift.io",
                                           "--config", c.openshiftConfig, "--output", "json"])
        #expect(result.status == 1, "\(result.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let audits = try #require(document["audits"] as? [[String: Any]])
        // The OpenShift configuration does not name secrets: identity writes them, and the aescbc one is stale there.
        #expect(verdictsByResource(audits[0])["secrets"]?["current"] == nil)
    }

    @Test func configurationsMustPairWithPrefixes() throws {
        let dir = try Fixtures.temporaryDirectory("openshift")
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = try cluster(in: dir)
        let result = try AtRestBinary.run(["audit", c.export, "--etcd-prefix", "/kubernetes.io", "--etcd-prefix", "/openshift.io",
                                           "--etcd-prefix", "/registry", "--config", c.kubeConfig, "--config", c.openshiftConfig])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--config"), "\(result.stderr)")
    }

    @Test func aPrefixWithNothingUnderItExitsThree() throws {
        let dir = try Fixtures.temporaryDirectory("openshift")
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = try cluster(in: dir)
        let result = try AtRestBinary.run(["audit", c.export, "--etcd-prefix", "/kubernetes.io", "--etcd-prefix", "/registry",
                                           "--config", c.kubeConfig])
        #expect(result.status == 3)
        #expect(result.stderr.contains("no key under /registry"), "\(result.stderr)")
    }
}
