/// A Kubernetes minor release, `1.29`: the encryption-configuration rules change between minor releases
/// only, so a patch level given on the command line (`1.29.3`, `v1.29.3`) is accepted and ignored.
public struct KubernetesVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let major: Int
    public let minor: Int

    public init(_ major: Int, _ minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// The oldest release whose rules atrest models: custom resources are encrypted from 1.26 on
    /// (kubernetes/kubernetes#113015), and before that the set of resources that can be encrypted depends
    /// on which API groups are built in, which atrest does not track.
    public static let oldestSupported = KubernetesVersion(1, 26)
    /// The newest release whose rules atrest models, and the default.
    public static let newest = KubernetesVersion(1, 36)

    /// Every release atrest models, oldest first.
    public static var supported: [KubernetesVersion] {
        (oldestSupported.minor...newest.minor).map { KubernetesVersion(1, $0) }
    }

    /// `MAJOR.MINOR`, optionally with a leading `v` and a `.PATCH` (as `kubectl version` prints it).
    public init(parsing text: String) throws(KubernetesRulesError) {
        var body = Substring(text)
        if body.first == "v" { body = body.dropFirst() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        func number(_ part: Substring) -> Int? {
            guard !part.isEmpty, part.count <= 4, part.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int(part)
        }
        guard (2...3).contains(parts.count), let major = number(parts[0]), let minor = number(parts[1]),
              parts.count == 2 || number(parts[2]) != nil else {
            throw .malformedVersion(text)
        }
        let version = KubernetesVersion(major, minor)
        guard version >= Self.oldestSupported, version <= Self.newest else { throw .unsupportedVersion(version) }
        self = version
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.major, lhs.minor) < (rhs.major, rhs.minor) }

    /// `1.29`.
    public var description: String { "\(major).\(minor)" }
}
