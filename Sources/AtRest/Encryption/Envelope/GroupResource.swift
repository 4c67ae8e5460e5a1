/// A Kubernetes group and resource, as an EncryptionConfiguration names it:
/// `secrets` (core group), `deployments.apps`, `widgets.example.com`.
public struct GroupResource: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The API group; empty for the core group.
    public var group: String
    /// The lower-case plural resource name.
    public var resource: String

    public init(group: String, resource: String) {
        self.group = group
        self.resource = resource
    }

    /// Parses a resource string of a configuration as `schema.ParseGroupResource` does
    /// (k8s.io/apimachinery `pkg/runtime/schema/group_version.go`): split at the first `.`;
    /// no `.` means the core group, so `secrets.` and `secrets` are one resource.
    public init(parsing string: String) {
        guard let dot = string.firstIndex(of: ".") else {
            self.init(group: "", resource: string)
            return
        }
        self.init(group: String(string[string.index(after: dot)...]), resource: String(string[..<dot]))
    }

    /// `resource.group`, or `resource` for the core group (the apiserver's `GroupResource.String()`).
    public var description: String { group.isEmpty ? resource : "\(resource).\(group)" }

    public static func < (a: GroupResource, b: GroupResource) -> Bool { a.description < b.description }
}

