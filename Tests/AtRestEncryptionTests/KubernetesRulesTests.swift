import AtRestEncryption
import Testing

/// `--kube-version` and `--feature-gates` as values: parsing, the releases atrest models, and each gate's
/// lifecycle (k8s.io/apiserver `pkg/features/kube_features.go` at each release tag).
@Suite struct KubernetesRulesTests {
    private func versionError(_ text: String) -> String? {
        do {
            _ = try KubernetesVersion(parsing: text)
            return nil
        } catch {
            return error.description
        }
    }

    private func rulesError(_ minor: Int, _ gates: String) -> String? {
        do {
            _ = try KubernetesRules(version: KubernetesVersion(1, minor), featureGates: FeatureGates(parsing: [gates]))
            return nil
        } catch {
            return error.description
        }
    }

    @Test func versionParsesMajorDotMinor() throws {
        #expect(try KubernetesVersion(parsing: "1.29") == KubernetesVersion(1, 29))
    }

    @Test func versionAcceptsALeadingVAndIgnoresThePatchLevel() throws {
        #expect(try KubernetesVersion(parsing: "v1.29.3") == KubernetesVersion(1, 29))
    }

    @Test(arguments: ["1.x", "129", "1.29.", "", "1..29", "one.two", "1.29.3.4", "+1.29"])
    func malformedVersionIsRefused(_ text: String) {
        #expect(versionError(text) == "--kube-version \"\(text)\": not a Kubernetes version; expected MAJOR.MINOR, e.g. 1.29")
    }

    @Test func versionOlderThanTheOldestModelledIsRefusedSayingWhy() {
        #expect(versionError("1.25") == "--kube-version 1.25: atrest checks the rules of Kubernetes 1.26 to 1.36; releases before 1.26 are not modelled (they could not encrypt custom resources)")
    }

    @Test func versionNewerThanTheNewestModelledIsRefused() {
        #expect(versionError("1.37") == "--kube-version 1.37: atrest checks the rules of Kubernetes 1.26 to 1.36; it does not know the rules of 1.37 yet")
        #expect(versionError("2.0") != nil)
    }

    @Test func defaultRulesAreThoseOfTheNewestRelease() {
        #expect(KubernetesRules.newest.version == KubernetesVersion.newest)
        #expect(KubernetesRules.newest.description == "Kubernetes 1.36")
    }

    @Test func featureGatesAreCommaSeparatedPairsWithGoBooleansAndSpaces() throws {
        let gates = try FeatureGates(parsing: [" KMSv1=true , KMSv2KDF=F,,"])
        #expect(gates.values == [.kmsV1: true, .kmsV2KDF: false])
        #expect(gates.description == "KMSv1=true,KMSv2KDF=false")
    }

    @Test func repeatedFeatureGatesAddUpAndTheLastValueWins() throws {
        #expect(try FeatureGates(parsing: ["KMSv1=false", "KMSv1=1"]).values == [.kmsV1: true])
    }

    @Test func featureGateWithoutAValueIsRefused() {
        #expect(rulesError(29, "KMSv1") == "--feature-gates: missing bool value for KMSv1")
    }

    @Test func featureGateWithANonBooleanValueIsRefusedAsGoParsesIt() {
        #expect(rulesError(29, "KMSv1=yes") == #"--feature-gates: invalid value of KMSv1=yes, err: strconv.ParseBool: parsing "yes": invalid syntax"#)
    }

    @Test func featureGateAtrestDoesNotModelIsRefused() {
        #expect(rulesError(29, "Pandas=true") == "--feature-gates: unrecognized feature gate: Pandas (atrest knows the gates that change encryption configuration: KMSv1, KMSv2, KMSv2KDF)")
    }

    @Test func kmsV1GateDoesNotExistBefore128() {
        #expect(rulesError(27, "KMSv1=true") == "--feature-gates: unrecognized feature gate: KMSv1 (Kubernetes 1.27 has no such gate)")
    }

    @Test func kmsV2GateIsRemovedIn132() {
        #expect(rulesError(32, "KMSv2=true") == "--feature-gates: unrecognized feature gate: KMSv2 (Kubernetes 1.32 has no such gate)")
    }

    @Test func lockedKmsV2GateCannotBeTurnedOffIn129() {
        #expect(rulesError(29, "KMSv2=false") == "--feature-gates: cannot set feature gate KMSv2 to false, feature is locked to true")
        #expect(rulesError(29, "KMSv2=true") == nil)
    }

    @Test func kmsV1IsOnByDefaultIn128AndOffFrom129() throws {
        #expect(try kubernetes(27).isEnabled(.kmsV1))
        #expect(try kubernetes(28).isEnabled(.kmsV1))
        #expect(try !kubernetes(29).isEnabled(.kmsV1))
        #expect(try kubernetes(29, [.kmsV1: true]).isEnabled(.kmsV1))
        #expect(try !kubernetes(28, [.kmsV1: false]).isEnabled(.kmsV1))
    }

    @Test func kmsV2IsOffByDefaultIn126AndOnFrom127() throws {
        #expect(try !kubernetes(26).isEnabled(.kmsV2))
        #expect(try kubernetes(26, [.kmsV2: true]).isEnabled(.kmsV2))
        #expect(try kubernetes(27).isEnabled(.kmsV2))
        #expect(try kubernetes(36).isEnabled(.kmsV2))
    }

    @Test func kmsV2WritesASeedBy128OnlyWithItsGateAndAlwaysFrom129() throws {
        #expect(try !kubernetes(27).kmsV2WritesSeed)
        #expect(try !kubernetes(28).kmsV2WritesSeed)
        #expect(try kubernetes(28, [.kmsV2KDF: true]).kmsV2WritesSeed)
        #expect(try kubernetes(29).kmsV2WritesSeed)
        #expect(try kubernetes(32).kmsV2WritesSeed)
    }

    @Test func effectiveGatesListOnlyTheGatesTheReleaseHas() throws {
        #expect(try kubernetes(27).effectiveFeatureGates == [.kmsV2: true])
        #expect(try kubernetes(29, [.kmsV1: true]).effectiveFeatureGates == [.kmsV1: true, .kmsV2: true, .kmsV2KDF: true])
        #expect(try kubernetes(36).effectiveFeatureGates == [.kmsV1: false])
    }

    @Test func rulesNameTheReleaseAndTheGatesSet() throws {
        #expect(try kubernetes(29, [.kmsV1: true]).description == "Kubernetes 1.29 with --feature-gates=KMSv1=true")
    }
}
