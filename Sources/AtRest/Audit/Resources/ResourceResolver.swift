/// Resolves etcd keys to the objects they store, for one etcd prefix.
///
/// Layout (k8s `pkg/registry/generic/registry/store.go`): `<prefix>/<resourcePrefix>/<ns>/<name>`
/// for namespaced objects, `<prefix>/<resourcePrefix>/<name>` otherwise.
/// Custom resources and aggregated APIs store at `<prefix>/<group>/<plural>/...`
/// (`SimpleStorageFactory`, `pkg/server/options/etcd.go`): CRD groups always contain
/// a dot and built-in prefixes never do, so a dot in the first segment marks a group.
public struct ResourceResolver: Sendable {
    /// The etcd prefix with exactly one leading and no trailing `/` (`/registry`).
    public let prefix: [UInt8]

    private let builtins: [(segments: [String], entry: BuiltinResources.Entry)]
    private let exemptions: [(segments: [String], entry: BuiltinResources.Entry)]

    /// `etcdPrefix` as given to `--etcd-prefix` (`/registry`, `/kubernetes.io`);
    /// normalized like the apiserver's `path.Join("/", prefix)`.
    public init(etcdPrefix: String = "/registry") {
        let parts = etcdPrefix.split(separator: "/").map(String.init)
        prefix = Array(("/" + parts.joined(separator: "/")).utf8)
        // Longest prefix first, so `services/specs` wins over a hypothetical `services`.
        builtins = BuiltinResources.entries.map { (segments: $0.prefix.split(separator: "/").map(String.init), entry: $0) }
            .sorted { $0.segments.count > $1.segments.count }
        exemptions = BuiltinResources.exempt.map { (segments: $0.prefix.split(separator: "/").map(String.init), entry: $0) }
            .sorted { $0.segments.count > $1.segments.count }
    }

    /// Whether `key` lies under the prefix (`/registry/...`; `/registryx` does not).
    public func isUnderPrefix(_ key: some Collection<UInt8>) -> Bool {
        guard key.count > prefix.count + 1, key.starts(with: prefix) else { return false }
        return key.dropFirst(prefix.count).first == UInt8(ascii: "/")
    }

    /// What `key` stores; `nil` when it is outside the prefix.
    public func resolve(_ key: some Collection<UInt8>) -> KeyKind? {
        guard isUnderPrefix(key) else { return nil }
        let rest = key.dropFirst(prefix.count + 1)
        let segments = rest.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }

        for (prefixSegments, entry) in exemptions where segments.starts(with: prefixSegments) && segments.count > prefixSegments.count {
            let name = segments[prefixSegments.count...].joined(separator: "/")
            return .exempt(ResourceKey(groupResource: entry.groupResource, scope: .cluster, namespace: nil, name: name))
        }
        if segments == ["ranges", "serviceips"] || segments == ["ranges", "secondaryserviceips"] || segments == ["ranges", "servicenodeports"] {
            let entry = BuiltinResources.exempt.first { $0.prefix == segments.joined(separator: "/") }
            if let entry {
                return .exempt(ResourceKey(groupResource: entry.groupResource, scope: .cluster, namespace: nil, name: segments[1]))
            }
        }
        for (prefixSegments, entry) in builtins where segments.starts(with: prefixSegments) {
            if let key = objectKey(segments.dropFirst(prefixSegments.count), entry.groupResource, entry.scope) {
                return .object(key)
            }
        }
        // A custom resource or an aggregated API: `<group>/<plural>/[<ns>/]<name>`.
        if segments.count >= 3, segments[0].contains("."), !segments[1].isEmpty {
            let groupResource = GroupResource(group: segments[0], resource: segments[1])
            let tail = segments.dropFirst(2)
            let scope: ResourceScope = tail.count >= 2 ? .namespaced : .cluster
            if let key = objectKey(tail, groupResource, scope) { return .object(key) }
        }
        return .unrecognized
    }

    private func objectKey(_ tail: ArraySlice<String>, _ groupResource: GroupResource, _ scope: ResourceScope) -> ResourceKey? {
        switch scope {
        case .namespaced:
            guard tail.count == 2, let namespace = tail.first, let name = tail.last, !namespace.isEmpty, !name.isEmpty else { return nil }
            return ResourceKey(groupResource: groupResource, scope: .namespaced, namespace: namespace, name: name)
        case .cluster:
            guard tail.count == 1, let name = tail.first, !name.isEmpty else { return nil }
            return ResourceKey(groupResource: groupResource, scope: .cluster, namespace: nil, name: name)
        }
    }
}
