import AtRestEncryption

/// Whether objects of a resource live in a namespace.
public enum ResourceScope: String, Sendable, Hashable, Codable {
    case namespaced, cluster
}

/// What an etcd key under the prefix is, according to the apiserver's key layout.
public enum KeyKind: Sendable, Hashable {
    /// A REST object: it passes through the resource's transformer.
    case object(ResourceKey)
    /// A key the apiserver writes without any transformer (`masterleases`,
    /// `peerserverleases`, `ranges/*`): never encrypted, whatever the configuration.
    case exempt(ResourceKey)
    /// Under the prefix but not a layout atrest knows (a single segment, say).
    case unrecognized
}

/// An etcd key resolved to the object it stores.
public struct ResourceKey: Sendable, Hashable {
    public var groupResource: GroupResource
    public var scope: ResourceScope
    /// `nil` for cluster-scoped objects.
    public var namespace: String?
    public var name: String

    public init(groupResource: GroupResource, scope: ResourceScope, namespace: String?, name: String) {
        self.groupResource = groupResource
        self.scope = scope
        self.namespace = namespace
        self.name = name
    }
}
