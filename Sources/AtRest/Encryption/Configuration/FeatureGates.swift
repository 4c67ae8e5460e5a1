/// The apiserver feature gates that change what an encryption configuration may contain or how it writes.
/// Their lifecycles are k8s.io/apiserver `pkg/features/kube_features.go` at each release tag.
public enum FeatureGate: String, Sendable, Hashable, CaseIterable, Comparable {
    /// KMS v1 providers. Added deprecated (default on) in 1.28, off by default from 1.29.
    case kmsV1 = "KMSv1"
    /// KMS v2 providers. Alpha (off) in 1.26, beta (on) in 1.27 and 1.28, GA and locked on 1.29 to 1.31,
    /// removed in 1.32 (always on).
    case kmsV2 = "KMSv2"
    /// KMS v2 writes a seed and derives a key per object. Beta (off) in 1.28, GA and locked on 1.29 to 1.31,
    /// removed in 1.32 (always on).
    case kmsV2KDF = "KMSv2KDF"

    /// A gate's default and whether it can be changed, in one release.
    public struct Specification: Sendable, Hashable {
        public var defaultValue: Bool
        public var lockedToDefault: Bool
    }

    /// The gate in `version`, or `nil` when that release has no such gate (the apiserver then refuses
    /// `--feature-gates` naming it).
    public func specification(at version: KubernetesVersion) -> Specification? {
        switch self {
        case .kmsV1:
            if version < KubernetesVersion(1, 28) { return nil }
            return Specification(defaultValue: version < KubernetesVersion(1, 29), lockedToDefault: false)
        case .kmsV2:
            if version >= KubernetesVersion(1, 32) { return nil }
            if version >= KubernetesVersion(1, 29) { return Specification(defaultValue: true, lockedToDefault: true) }
            return Specification(defaultValue: version >= KubernetesVersion(1, 27), lockedToDefault: false)
        case .kmsV2KDF:
            if version < KubernetesVersion(1, 28) || version >= KubernetesVersion(1, 32) { return nil }
            if version >= KubernetesVersion(1, 29) { return Specification(defaultValue: true, lockedToDefault: true) }
            return Specification(defaultValue: false, lockedToDefault: false)
        }
    }

    /// Whether the feature is on in a release that has no gate for it: before the gate existed, or after it
    /// was removed.
    func ungatedValue(at version: KubernetesVersion) -> Bool {
        switch self {
        case .kmsV1: true  // always available before 1.28
        case .kmsV2: true  // removed in 1.32 as GA
        case .kmsV2KDF: version >= KubernetesVersion(1, 32)  // before 1.28 KMS v2 wrote without a seed
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The `--feature-gates` value as the apiserver's flag takes it: comma-separated `Name=bool` pairs
/// (k8s.io/component-base `featuregate/feature_gate.go`, `Set`): empty items are skipped, names and values are
/// trimmed, values are Go's `strconv.ParseBool`, and a name given twice keeps its last value.
public struct FeatureGates: Sendable, Hashable, CustomStringConvertible {
    /// The gates set explicitly.
    public private(set) var values: [FeatureGate: Bool]

    public init(_ values: [FeatureGate: Bool] = [:]) {
        self.values = values
    }

    /// Parses one or more `--feature-gates` values (a repeated flag adds to the earlier ones, as pflag's map flags do).
    public init(parsing texts: [String]) throws(KubernetesRulesError) {
        var values: [FeatureGate: Bool] = [:]
        for text in texts {
            for item in text.split(separator: ",", omittingEmptySubsequences: false) where !item.isEmpty {
                let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = pair[0].trimmingSpaces
                guard pair.count == 2 else { throw .missingGateValue(name) }
                let text = pair[1].trimmingSpaces
                guard let value = Self.parseBool(text) else { throw .invalidGateValue(name, text) }
                guard let gate = FeatureGate(rawValue: name) else { throw .unknownGate(name) }
                values[gate] = value
            }
        }
        self.values = values
    }

    /// Go's `strconv.ParseBool`.
    static func parseBool(_ text: String) -> Bool? {
        switch text {
        case "1", "t", "T", "TRUE", "true", "True": true
        case "0", "f", "F", "FALSE", "false", "False": false
        default: nil
        }
    }

    /// `KMSv1=true,KMSv2KDF=false`, sorted by name; empty when nothing is set.
    public var description: String {
        values.sorted { $0.key < $1.key }.map { "\($0.key.rawValue)=\($0.value)" }.joined(separator: ",")
    }
}

extension Substring {
    /// Go's `strings.TrimSpace` for the ASCII white space a command line can hold.
    fileprivate var trimmingSpaces: String {
        let spaces: Set<Character> = [" ", "\t", "\n", "\r", "\u{0B}", "\u{0C}"]
        var slice = self[...]
        while let first = slice.first, spaces.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, spaces.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
