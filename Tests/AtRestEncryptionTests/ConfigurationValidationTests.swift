import AtRestEncryption
import AtRestTestSupport
import Foundation
import Testing

/// Each rule of `ValidateEncryptionConfiguration` (k8s.io/apiserver validation_encryption.go), the masking
/// check of config.go, and atrest's warnings; one fixture per rule, exact upstream texts.
@Suite struct ConfigurationValidationTests {
    @Test func configurationWithoutRulesNeedsAtLeastOne() throws {
        let check = try checkConfig("invalid/no-rules.yaml")
        #expect(check.findings.filter { $0.severity == .error }.map(\.description) == ["resources: Required value: at least one resources is required"])
        #expect(check.findings.first?.line == 3)
    }

    @Test func ruleWithoutResourcesNeedsAtLeastOne() throws {
        #expect(try configErrors("invalid/empty-resources.yaml") == ["resources[0].resources: Required value: at least one resources[0].resources is required"])
    }

    @Test func ruleWithoutProvidersNeedsAtLeastOne() throws {
        #expect(try configErrors("invalid/empty-providers.yaml") == ["resources[0].providers: Required value: at least one resources[0].providers is required"])
    }

    @Test func nullIdentityIsNoProviderAtAll() throws {
        #expect(try configErrors("invalid/null-identity.yaml") == [
            #"resources[0].providers[0]: Invalid value: {"AESGCM":null,"AESCBC":null,"Secretbox":null,"Identity":null,"KMS":null}: provider does not contain any of the expected providers: KMS, AESGCM, AESCBC, Secretbox, Identity"#,
        ])
    }

    @Test func twoProvidersInOneElementAreRefusedWithoutPrintingTheKey() throws {
        let check = try checkConfig("invalid/two-providers.yaml")
        #expect(check.findings.filter { $0.severity == .error }.map(\.description) == [
            #"resources[0].providers[0]: Invalid value: {"AESGCM":"REDACTED","AESCBC":null,"Secretbox":null,"Identity":{},"KMS":null}: more than one provider specified in a single element, should split into different list elements"#,
        ])
        #expect(check.findings.first?.line == 6)
    }

    @Test func providerWithoutKeysNeedsAtLeastOne() throws {
        #expect(try configErrors("invalid/no-keys.yaml") == ["resources[0].providers[0].aesgcm.keys: Required value: at least one keys is required"])
    }

    @Test func keyWithoutNameIsRefused() throws {
        #expect(try configErrors("invalid/key-without-name.yaml") == ["resources[0].providers[0].aesgcm.keys[0].name: Required value: name is a mandatory field for a key"])
    }

    @Test func keyWithoutSecretIsRefused() throws {
        #expect(try configErrors("invalid/key-without-secret.yaml") == ["resources[0].providers[0].aesgcm.keys[0].secret: Required value: secret is a mandatory field for a key"])
    }

    @Test func secretThatIsNotBase64IsRefusedAsRedacted() throws {
        #expect(try configErrors("invalid/secret-not-base64.yaml") == [#"resources[0].providers[0].aescbc.keys[0].secret: Invalid value: "REDACTED": secrets must be base64 encoded"#])
    }

    @Test func aesgcmSecretOf8BytesIsRefusedWithLengthsAndLine() throws {
        let check = try checkConfig("invalid/aesgcm-short-secret.yaml")
        let finding = try #require(check.findings.first)
        #expect(finding.description == #"resources[0].providers[0].aesgcm.keys[0].secret: Invalid value: "REDACTED": secret is not of the expected length, got 8, expected one of [16 24 32]"#)
        #expect(finding.fieldPath == "resources[0].providers[0].aesgcm.keys[0].secret")
        #expect(finding.severity == .error)
        #expect(finding.line == 9)
    }

    @Test func secretboxSecretMustBe32Bytes() throws {
        #expect(try configErrors("invalid/secretbox-16-bytes.yaml") == [#"resources[0].providers[0].secretbox.keys[0].secret: Invalid value: "REDACTED": secret is not of the expected length, got 16, expected one of [32]"#])
    }

    @Test func kmsWithoutNameIsRefused() throws {
        #expect(try configErrors("invalid/kms-without-name.yaml") == ["resources[0].providers[0].kms.name: Required value: name is a mandatory field for a provider"])
    }

    @Test func kmsV2NameWithColonIsRefused() throws {
        #expect(try configErrors("invalid/kms-v2-colon.yaml") == [#"resources[0].providers[0].kms.name: Invalid value: "a:b": invalid KMS provider name a:b, must not contain ':'"#])
    }

    @Test func kmsV2NamesMustBeUniqueAcrossRules() throws {
        #expect(try configErrors("invalid/kms-v2-duplicate-name.yaml") == [#"resources[1].providers[0].kms.name: Invalid value: "vault": duplicate KMS provider name vault, names must be unique"#])
    }

    @Test func kmsWithoutEndpointIsRefused() throws {
        #expect(try configErrors("invalid/kms-without-endpoint.yaml") == [#"resources[0].providers[0].kms.endpoint: Invalid value: "": endpoint is a mandatory field for a kms"#])
    }

    @Test func kmsEndpointMustBeUnix() throws {
        #expect(try configErrors("invalid/kms-tcp-endpoint.yaml") == [#"resources[0].providers[0].kms.endpoint: Invalid value: "tcp://10.0.0.1:9000": unsupported scheme "tcp" for KMS provider, only unix is supported"#])
    }

    @Test func kmsV1CacheSizeZeroIsRefused() throws {
        #expect(try configErrors("invalid/kms-v1-zero-cachesize.yaml") == ["resources[0].providers[0].kms.cachesize: Invalid value: 0: cachesize should be a positive value, or negative to disable"])
    }

    @Test func kmsV2CacheSizeIsRefused() throws {
        #expect(try configErrors("invalid/kms-v2-cachesize.yaml") == ["resources[0].providers[0].kms.cachesize: Invalid value: 100: cachesize is not supported in v2"])
    }

    @Test func kmsZeroTimeoutIsRefused() throws {
        #expect(try configErrors("invalid/kms-zero-timeout.yaml") == [#"resources[0].providers[0].kms.timeout: Invalid value: "0s": timeout should be a positive value"#])
    }

    @Test func kmsApiVersionV3IsRefusedWithTheUpstreamWording() throws {
        #expect(try configErrors("invalid/kms-apiversion-v3.yaml") == [#"resources[0].providers[0].kms.apiVersion: Invalid value: "v3": unsupported apiVersion apiVersion for KMS provider, only v1 and v2 are supported"#])
    }

    @Test func resourceWithCapitalsIsRefused() throws {
        #expect(try configErrors("invalid/capital-letters.yaml") == [#"resources[0].resources[0]: Invalid value: "Secrets": resource name should not contain capital letters"#])
    }

    @Test func bareStarIsRefused() throws {
        #expect(try configErrors("invalid/star.yaml") == [#"resources[0].resources[0]: Invalid value: "*": use '*.' to encrypt all the resources from core API group or *.* to encrypt all resources"#])
    }

    @Test func resourcesWithoutRESTAPIAreRefused() throws {
        #expect(try configErrors("invalid/non-rest-resource.yaml") == [#"resources[0].resources[0]: Invalid value: "serviceipallocations": resources which do not have REST API/s cannot be encrypted"#])
    }

    @Test func eventsK8sIoGroupIsRefused() throws {
        #expect(try configErrors("invalid/events-group.yaml") == [#"resources[0].resources[0]: Invalid value: "*.events.k8s.io": '*.events.k8s.io' objects are stored using the 'events' API group in etcd. Use 'events' instead in the config file"#])
    }

    @Test func extensionsGroupIsRefused() throws {
        #expect(try configErrors("invalid/extensions-group.yaml") == [#"resources[0].resources[0]: Invalid value: "deployments.extensions": 'extensions' group has been removed and cannot be used for encryption"#])
    }

    @Test func resourceAcrossGroupsIsRefused() throws {
        #expect(try configErrors("invalid/across-groups.yaml") == [#"resources[0].resources[0]: Invalid value: "secrets.*": encrypting the same resource across groups is not supported"#])
    }

    @Test func secretsAndSecretsDotAreTheSameResource() throws {
        #expect(try configErrors("invalid/duplicate-resource.yaml") == [#"resources[0].resources: Invalid value: ["secrets","secrets."]: the same resource cannot be specified multiple times"#])
    }

    @Test func groupWildcardWithAResourceOfThatGroupOverlaps() throws {
        #expect(try configErrors("invalid/overlap.yaml") == [#"resources[0].resources: Invalid value: ["*.apps","deployments.apps"]: using overlapping resources such as 'secrets' and '*.' in the same resource list is not allowed as they will be masked"#])
    }

    @Test func resourceAfterAnEarlierWildcardRuleIsMasked() throws {
        let check = try checkConfig("invalid/masked.yaml")
        let finding = try #require(check.findings.first { $0.severity == .error })
        #expect(finding.description == #"resources[1].resources[0]: resource "secrets" is masked by earlier rule "*.""#)
        #expect(finding.line == 10)
    }

    @Test func wildcardAfterAnExemptionIsValid() throws {
        let check = try checkConfig("valid/wildcard-exemption.yaml")
        #expect(check.findings.isEmpty)
    }

    @Test func kmsV1DuplicateNamesAreRefusedOnlyWithAutomaticReload() throws {
        let yaml = """
            apiVersion: apiserver.config.k8s.io/v1
            kind: EncryptionConfiguration
            resources:
              - resources: [secrets]
                providers: [{kms: {name: old, endpoint: "unix:///a.sock"}}]
              - resources: [configmaps]
                providers: [{kms: {name: old, endpoint: "unix:///a.sock"}}]
            """
        let rules = try kubernetes(36, [.kmsV1: true])
        let without = try EncryptionConfigurationLoader.check(bytes: Array(yaml.utf8), sourcePath: "x", rules: rules)
        #expect(!without.hasErrors)
        let with = try EncryptionConfigurationLoader.check(bytes: Array(yaml.utf8), sourcePath: "x", automaticReload: true, rules: rules)
        #expect(with.findings.filter { $0.severity == .error }.map(\.description) == [#"resources[1].providers[0].kms.name: Invalid value: "old": duplicate KMS provider name old, names must be unique"#])
    }

    // MARK: Warnings

    @Test func identityFirstBeforeAnEncryptingProviderWarns() throws {
        #expect(try configWarnings("warnings/identity-first.yaml") == [
            "resources[0].providers[0].identity: identity is the first provider, so writes are stored in plaintext although this rule also lists aesgcm; put the encrypting provider first to encrypt",
            "resources: secrets are not encrypted: the first provider of the rules matching them is identity",
        ])
    }

    @Test func aescbcWarns() throws {
        #expect(try configWarnings("warnings/aescbc.yaml") == [
            "resources[0].providers[0].aescbc: aescbc is not recommended: CBC is vulnerable to padding oracle attacks; prefer kms apiVersion v2, or secretbox/aesgcm",
        ])
    }

    @Test func duplicateKeyNamesInOneProviderWarn() throws {
        let check = try checkConfig("warnings/duplicate-key-names.yaml")
        #expect(!check.hasErrors)
        #expect(check.findings.map(\.description) == [
            #"resources[0].providers[0].aesgcm.keys[1].name: duplicate key name "key1" (also keys[0]): values name their key, so reads try both keys in order and the first that decrypts wins; give each key its own name"#,
        ])
        #expect(check.findings.first?.line == 10)
    }

    @Test func kmsV1WithItsGateOnWarnsWithTheApiserversDeprecationLine() throws {
        #expect(try configWarnings("versions/kms-v1.yaml", rules: kubernetes(36, [.kmsV1: true])) == [
            "resources[0].providers[0].kms.apiVersion: KMSv1 is deprecated and will only receive security updates going forward. Use KMSv2 instead. (logged by the apiserver; from Kubernetes 1.29 KMS v1 is off unless --feature-gates=KMSv1=true)",
        ])
    }

    @Test func secretsNotCoveredByAnyRuleWarn() throws {
        #expect(try configWarnings("warnings/secrets-not-covered.yaml") == [
            "resources: secrets are not encrypted: no rule names secrets, *. or *.*, so the apiserver stores them in plaintext",
        ])
    }

    @Test func keyFileReadableByOthersWarnsButOwnerOnlyDoesNot() throws {
        let directory = try Fixtures.temporaryDirectory("config-mode")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("config.yaml").path
        try Data(Fixtures.bytes("configs/valid/secretbox.yaml")).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        let open = try EncryptionConfigurationLoader.check(contentsOf: path)
        #expect(open.findings.map(\.description) == ["the file holds encryption keys and is accessible to group or others (mode 644); restrict it to its owner (chmod 600)"])
        #expect(open.findings.first?.severity == .warning)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        #expect(try EncryptionConfigurationLoader.check(contentsOf: path).findings.isEmpty)
    }
}
