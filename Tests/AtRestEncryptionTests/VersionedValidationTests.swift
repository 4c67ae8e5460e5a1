import AtRestEncryption
import Testing

/// The rules that changed between Kubernetes releases (docs/encryption-configuration.md, "Rules by release"):
/// each fixture checked under the release before and after the change, with the apiserver's wording.
@Suite struct VersionedValidationTests {
    static let kmsV1Refused = "KMSv1 is deprecated and will only receive security updates going forward. Use KMSv2 instead.  Set --feature-gates=KMSv1=true to use the deprecated KMSv1 feature."

    // MARK: KMS v1 (gate KMSv1: 1.28 deprecated, off by default from 1.29)

    @Test func kmsV1IsRefusedBy129WithTheApiserversWording() throws {
        #expect(try configErrors("versions/kms-v1.yaml", rules: kubernetes(29)) == ["resources[0].providers[0].kms.apiVersion: \(Self.kmsV1Refused)"])
    }

    @Test func kmsV1IsRefusedByTheNewestRulesByDefault() throws {
        let check = try checkConfig("versions/kms-v1.yaml")
        #expect(check.rules == .newest)
        #expect(check.hasErrors)
        #expect(check.configuration == nil)
    }

    @Test func kmsV1IsAcceptedBy129WithTheKmsV1Gate() throws {
        let check = try checkConfig("versions/kms-v1.yaml", rules: kubernetes(29, [.kmsV1: true]))
        #expect(!check.hasErrors)
        #expect(check.configuration != nil)
        #expect(check.findings.map(\.severity) == [.warning])
    }

    @Test func kmsV1IsAcceptedBy128WithTheDeprecationWarning() throws {
        #expect(try configErrors("versions/kms-v1.yaml", rules: kubernetes(28)) == [])
        #expect(try configWarnings("versions/kms-v1.yaml", rules: kubernetes(28)).first?.hasSuffix("KMSv1 is deprecated and will only receive security updates going forward. Use KMSv2 instead. (logged by the apiserver; from Kubernetes 1.29 KMS v1 is off unless --feature-gates=KMSv1=true)") == true)
    }

    @Test func kmsV1IsRefusedBy128WhenItsGateIsTurnedOff() throws {
        #expect(try configErrors("versions/kms-v1.yaml", rules: kubernetes(28, [.kmsV1: false])) == ["resources[0].providers[0].kms.apiVersion: \(Self.kmsV1Refused)"])
    }

    @Test func defaultedKmsV1IsRefusedAtItsKmsElement() throws {
        let check = try checkConfig("versions/kms-v1-defaults.yaml", rules: kubernetes(29))
        #expect(check.findings.filter { $0.severity == .error }.map(\.description) == ["resources[0].providers[0].kms: \(Self.kmsV1Refused)"])
        #expect(check.findings.first?.line == 6)
    }

    @Test func kmsV1Before128WarnsOfWhatTheUpgradeBrings() throws {
        #expect(try configWarnings("versions/kms-v1.yaml", rules: kubernetes(27)) == [
            "resources[0].providers[0].kms.apiVersion: KMS v1 is deprecated from Kubernetes 1.28 and off by default from 1.29 (feature gate KMSv1), when the apiserver refuses it; migrate to apiVersion v2 before upgrading",
        ])
    }

    @Test func kmsV1GateIsCheckedOnlyOnceTheFilePassesValidation() throws {
        #expect(try configErrors("invalid/kms-v1-zero-cachesize.yaml", rules: kubernetes(29)) == [
            "resources[0].providers[0].kms.cachesize: Invalid value: 0: cachesize should be a positive value, or negative to disable",
        ])
    }

    // MARK: KMS v2 (gate KMSv2: alpha, off, in 1.26)

    @Test func kmsV2IsRefusedBy126UnlessItsGateIsOn() throws {
        #expect(try configErrors("valid/kms-v2.yaml", rules: kubernetes(26)) == [
            #"resources[0].providers[0].kms.apiVersion: could not configure KMSv2 plugin "vault", KMSv2 feature is not enabled"#,
        ])
        #expect(try configErrors("valid/kms-v2.yaml", rules: kubernetes(26, [.kmsV2: true])) == [])
    }

    @Test func kmsV2CacheSizeIsAcceptedBefore127() throws {
        #expect(try configErrors("invalid/kms-v2-cachesize.yaml", rules: kubernetes(26, [.kmsV2: true])) == [])
        #expect(try configErrors("invalid/kms-v2-cachesize.yaml", rules: kubernetes(27)) == [
            "resources[0].providers[0].kms.cachesize: Invalid value: 100: cachesize is not supported in v2",
        ])
    }

    // MARK: Wildcards and resource names (1.27)

    @Test func wildcardIsRefusedBefore127BecauseItMatchesNothing() throws {
        #expect(try configErrors("versions/wildcard.yaml", rules: kubernetes(26)) == [
            #"resources[0].resources[0]: Invalid value: "*.*": wildcards match resources from Kubernetes 1.27 on; 1.26 looks rules up by exact resource name, so "*.*" matches nothing and this rule encrypts nothing"#,
        ])
        #expect(try configErrors("versions/wildcard.yaml", rules: kubernetes(27)) == [])
    }

    @Test func secretsUnderAWildcardAreNotEncryptedBefore127() throws {
        #expect(try configWarnings("versions/wildcard.yaml", rules: kubernetes(26)) == [
            "resources: secrets are not encrypted: no rule names secrets, *. or *.*, so the apiserver stores them in plaintext",
        ])
    }

    @Test func maskingIsNotCheckedBefore127() throws {
        #expect(try configErrors("invalid/masked.yaml", rules: kubernetes(26)) == [
            #"resources[0].resources[0]: Invalid value: "*.": wildcards match resources from Kubernetes 1.27 on; 1.26 looks rules up by exact resource name, so "*." matches nothing and this rule encrypts nothing"#,
        ])
    }

    @Test func resourceNameErrorsOf127AreWarningsIn126() throws {
        let check = try checkConfig("invalid/capital-letters.yaml", rules: kubernetes(26))
        #expect(!check.hasErrors)
        #expect(check.findings.first?.description == #"resources[0].resources[0]: Invalid value: "Secrets": resource name should not contain capital letters (an error from Kubernetes 1.27 on; 1.26 accepts it)"#)
        #expect(check.findings.first?.severity == .warning)
    }

    @Test func duplicateResourceIsAWarningIn126() throws {
        #expect(try configErrors("invalid/duplicate-resource.yaml", rules: kubernetes(26)) == [])
        #expect(try configWarnings("invalid/duplicate-resource.yaml", rules: kubernetes(26)).first == #"resources[0].resources: Invalid value: ["secrets","secrets."]: the same resource cannot be specified multiple times (an error from Kubernetes 1.27 on; 1.26 accepts it)"#)
    }

    // MARK: Strict decoding (1.31)

    @Test func unknownFieldIsIgnoredWithAWarningBefore131() throws {
        let check = try checkConfig("invalid/unknown-field.yaml", rules: kubernetes(30))
        #expect(!check.hasErrors)
        #expect(check.configuration != nil)
        #expect(check.findings.first?.description == #"resources[0].providers[0].kms.pandas: strict decoding error: unknown field "resources[0].providers[0].kms.pandas" (an error from Kubernetes 1.31 on; 1.30 ignores the field)"#)
        #expect(try configErrors("invalid/unknown-field.yaml", rules: kubernetes(31)).count == 1)
    }
}
