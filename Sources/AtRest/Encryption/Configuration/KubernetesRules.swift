/// Which apiserver's rules a configuration is checked against: a release and the feature gates set on it
/// (`--kube-version`, `--feature-gates`). Each property names a rule that changed between releases, with the
/// release it changed in; docs/encryption-configuration.md cites the upstream source of each.
public struct KubernetesRules: Sendable, Hashable, CustomStringConvertible {
    public let version: KubernetesVersion
    /// The gates set explicitly; the others have their defaults in `version`.
    public let featureGates: FeatureGates

    /// The newest release's rules with its default gates: what atrest checks when not told otherwise.
    public static let newest = KubernetesRules(checked: .newest, featureGates: FeatureGates())

    /// Refuses, as the apiserver's flag parsing does, a gate the release does not have and a locked gate set
    /// to the other value.
    public init(version: KubernetesVersion = .newest, featureGates: FeatureGates = FeatureGates()) throws(KubernetesRulesError) {
        for (gate, value) in featureGates.values.sorted(by: { $0.key < $1.key }) {
            guard let specification = gate.specification(at: version) else { throw .gateNotInVersion(gate, version) }
            if specification.lockedToDefault && value != specification.defaultValue {
                throw .lockedGate(gate, value: value, lockedTo: specification.defaultValue)
            }
        }
        self.init(checked: version, featureGates: featureGates)
    }

    private init(checked version: KubernetesVersion, featureGates: FeatureGates) {
        self.version = version
        self.featureGates = featureGates
    }

    /// Whether `gate`'s feature is on: as set, else the release's default, else (no such gate in the release)
    /// whether the feature exists at all.
    public func isEnabled(_ gate: FeatureGate) -> Bool {
        guard let specification = gate.specification(at: version) else { return gate.ungatedValue(at: version) }
        return featureGates.values[gate] ?? specification.defaultValue
    }

    /// The gates the release has, with their values, for reports.
    public var effectiveFeatureGates: [FeatureGate: Bool] {
        var result: [FeatureGate: Bool] = [:]
        for gate in FeatureGate.allCases where gate.specification(at: version) != nil { result[gate] = isEnabled(gate) }
        return result
    }

    private func since(_ minor: Int) -> Bool { version >= KubernetesVersion(1, minor) }

    /// 1.27: `*.`, `*.<group>` and `*.*` match resources (`transformerFromOverrides`); before, a rule is looked up
    /// by its exact group and resource only, so a wildcard is taken as a resource named `*` and matches nothing.
    public var wildcards: Bool { since(27) }
    /// 1.27: `validateResourceOverlap` and `validateResourceNames` (capitals, `*`, non-REST resources,
    /// `events.k8s.io`, `extensions`, `<resource>.*`), and the masking check of config.go.
    public var validatesResourceNames: Bool { since(27) }
    /// 1.27: `cachesize` is defaulted for KMS v1 only, and refused on v2 ("cachesize is not supported in v2");
    /// before, it is defaulted to 1000 for every KMS provider and only 0 is refused.
    public var cacheSizeIsV1Only: Bool { since(27) }
    /// 1.28: KMS v1 is deprecated (the `KMSv1` gate; the apiserver logs a deprecation line when it uses it).
    public var kmsV1Deprecated: Bool { since(28) }
    /// 1.31: the file is decoded strictly (`serializer.EnableStrict`): an unknown field is an error; before,
    /// it is ignored.
    public var strictDecoding: Bool { since(31) }
    /// KMS v2 writes a seed and derives a key per object (`KMSv2KDF`): default from 1.29, always from 1.32.
    public var kmsV2WritesSeed: Bool { isEnabled(.kmsV2KDF) }

    /// `Kubernetes 1.29`, with the gates set: `Kubernetes 1.29 with --feature-gates=KMSv1=true`.
    public var description: String {
        featureGates.values.isEmpty ? "Kubernetes \(version)" : "Kubernetes \(version) with --feature-gates=\(featureGates)"
    }
}

/// A `--kube-version` or `--feature-gates` value atrest cannot use. Gate errors are worded as
/// k8s.io/component-base `featuregate/feature_gate.go` words them.
public enum KubernetesRulesError: Error, Sendable, Hashable, CustomStringConvertible {
    case malformedVersion(String)
    case unsupportedVersion(KubernetesVersion)
    case missingGateValue(String)
    case invalidGateValue(String, String)
    /// A gate atrest does not model (the apiserver may know it, but it does not change these rules).
    case unknownGate(String)
    case gateNotInVersion(FeatureGate, KubernetesVersion)
    case lockedGate(FeatureGate, value: Bool, lockedTo: Bool)

    public var description: String {
        let range = "\(KubernetesVersion.oldestSupported) to \(KubernetesVersion.newest)"
        switch self {
        case .malformedVersion(let text):
            return "--kube-version \(GoFormat.quote(text)): not a Kubernetes version; expected MAJOR.MINOR, e.g. 1.29"
        case .unsupportedVersion(let version) where version < KubernetesVersion.oldestSupported:
            return "--kube-version \(version): atrest checks the rules of Kubernetes \(range); releases before \(KubernetesVersion.oldestSupported) are not modelled (they could not encrypt custom resources)"
        case .unsupportedVersion(let version):
            return "--kube-version \(version): atrest checks the rules of Kubernetes \(range); it does not know the rules of \(version) yet"
        case .missingGateValue(let name):
            return "--feature-gates: missing bool value for \(name)"
        case .invalidGateValue(let name, let value):
            return "--feature-gates: invalid value of \(name)=\(value), err: strconv.ParseBool: parsing \(GoFormat.quote(value)): invalid syntax"
        case .unknownGate(let name):
            return "--feature-gates: unrecognized feature gate: \(name) (atrest knows the gates that change encryption configuration: \(FeatureGate.allCases.map(\.rawValue).sorted().joined(separator: ", ")))"
        case .gateNotInVersion(let gate, let version):
            return "--feature-gates: unrecognized feature gate: \(gate.rawValue) (Kubernetes \(version) has no such gate)"
        case .lockedGate(let gate, let value, let lockedTo):
            return "--feature-gates: cannot set feature gate \(gate.rawValue) to \(value), feature is locked to \(lockedTo)"
        }
    }
}
