import AtRestEncryption
import AtRestTestSupport
import Testing

/// `providers(forGroup:resource:)` against the apiserver's `transformerFromOverrides` (config.go):
/// exact, then `*.<group>`, then `*.*`, else bare identity; exact lists from several rules concatenated.
@Suite struct RuleLookupTests {
    /// valid/lookup.yaml: secrets → aesgcm "first"; *.apps → secretbox; secrets. + configmaps → aesgcm "second";
    /// *. → kms v2 "core"; *.* → identity.
    private func lookup(_ group: String, _ resource: String) throws -> [String] {
        let configuration = try #require(try checkConfig("valid/lookup.yaml").configuration)
        return configuration.providers(forGroup: group, resource: resource).map { provider in
            switch provider {
            case .kms(let kms): "kms:\(kms.name)"
            case .identity: "identity"
            default: "\(provider.typeName):\(provider.keys.map(\.name).joined(separator: ","))"
            }
        }
    }

    @Test func exactResourceInSeveralRulesConcatenatesTheirProvidersInRuleOrder() throws {
        #expect(try lookup("", "secrets") == ["aesgcm:first", "aesgcm:second"])
    }

    @Test func exactMatchWinsOverTheCoreGroupWildcard() throws {
        #expect(try lookup("", "configmaps") == ["aesgcm:second"])
    }

    @Test func coreGroupWildcardCoversOtherCoreResources() throws {
        #expect(try lookup("", "pods") == ["kms:core"])
    }

    @Test func groupWildcardCoversItsGroup() throws {
        #expect(try lookup("apps", "deployments") == ["secretbox:apps"])
    }

    @Test func anyGroupWildcardCoversTheRest() throws {
        #expect(try lookup("widgets.example.com", "gizmos") == ["identity"])
    }

    @Test func noMatchingRuleMeansIdentity() throws {
        let configuration = try #require(try checkConfig("valid/secretbox.yaml").configuration)
        #expect(configuration.providers(forGroup: "", resource: "configmaps").map(\.typeName) == ["identity"])
        #expect(configuration.providers(forGroup: "", resource: "secrets").map(\.typeName) == ["secretbox"])
    }

    @Test func exemptionBeforeAnyGroupWildcardKeepsEventsPlaintext() throws {
        let configuration = try #require(try checkConfig("valid/wildcard-exemption.yaml").configuration)
        #expect(configuration.providers(forGroup: "", resource: "events").map(\.typeName) == ["identity"])
        #expect(configuration.providers(forGroup: "", resource: "secrets").map(\.typeName) == ["aesgcm"])
    }

    @Test func inMemoryConfigurationUsesTheSameLookup() {
        let configuration = EncryptionConfiguration(rules: [
            ResourceRule(resources: ["deployments.apps"], providers: [.identity]),
            ResourceRule(resources: ["*.*"], providers: [.kms(KMSConfiguration(apiVersion: .v2, name: "k", endpoint: "unix:///k.sock"))]),
        ])
        #expect(configuration.providers(forGroup: "apps", resource: "deployments").map(\.typeName) == ["identity"])
        #expect(configuration.providers(forGroup: "apps", resource: "statefulsets").map(\.typeName) == ["kms"])
    }
}
