/// What a storage migration must still rewrite once the proposed configuration is in place,
/// and the commands that do it.
///
/// The Kubernetes documentation ("Encrypting Confidential Data at Rest", "Ensure all relevant
/// data are encrypted") rewrites objects with `kubectl get ... -o json | kubectl replace -f -`:
/// the apiserver re-encrypts a stale value on update even when nothing changed
/// (`pkg/storage/etcd3/store.go`, `GuaranteedUpdate` skips a no-op update only when the
/// stored value is not stale). Commands are per namespace so that a migration can be done,
/// and re-audited, piece by piece; `-A` is used when every namespace holding the resource
/// needs it.
public struct RewritePlan: Sendable, Hashable {
    /// Entries to rewrite, in all.
    public var entries: Int
    /// Per resource and namespace, sorted.
    public var groups: [RewriteGroup]
    /// One command per resource (`-A` or cluster-scoped) or per resource and namespace, sorted.
    public var commands: [RewriteCommand]

    public init(entries: Int, groups: [RewriteGroup], commands: [RewriteCommand]) {
        self.entries = entries
        self.groups = groups
        self.commands = commands
    }

    /// Builds the plan from the counts gathered in one pass.
    /// - Parameters:
    ///   - counts: entries to rewrite per resource/namespace, per verdict under the proposed configuration.
    ///   - namespacesHolding: every namespace in which each resource has entries at all, to decide on `-A`.
    init(counts: [AuditSummary.ResourceNamespace: [Verdict: Int]], namespacesHolding: [String: Set<String>]) {
        groups = counts.keys.sorted().map { key in
            let verdicts = counts[key] ?? [:]
            return RewriteGroup(resource: key.resource, namespace: key.namespace, entries: verdicts.values.reduce(0, +), verdicts: verdicts)
        }
        entries = groups.reduce(0) { $0 + $1.entries }
        var commands: [RewriteCommand] = []
        let byResource = Dictionary(grouping: groups, by: \.resource)
        for resource in byResource.keys.sorted() {
            let resourceGroups = byResource[resource] ?? []
            let cluster = resourceGroups.filter { $0.namespace == nil }
            if !cluster.isEmpty {
                commands.append(RewriteCommand(resource: resource, scope: .cluster, entries: cluster.reduce(0) { $0 + $1.entries }))
            }
            let namespaced = resourceGroups.filter { $0.namespace != nil }
            guard !namespaced.isEmpty else { continue }
            let affected = Set(namespaced.compactMap(\.namespace))
            let holding = namespacesHolding[resource] ?? affected
            if affected.count > 1 && affected == holding {
                commands.append(RewriteCommand(resource: resource, scope: .allNamespaces, entries: namespaced.reduce(0) { $0 + $1.entries }))
            } else {
                for group in namespaced {
                    commands.append(RewriteCommand(resource: resource, scope: .namespace(group.namespace ?? ""), entries: group.entries))
                }
            }
        }
        self.commands = commands
    }
}

/// Entries of one resource in one namespace (`nil`: cluster-scoped) that a rewrite must touch.
public struct RewriteGroup: Sendable, Hashable {
    /// As kubectl names it: `secrets`, `deployments.apps`, `widgets.example.com`.
    public var resource: String
    public var namespace: String?
    public var entries: Int
    /// Per verdict under the proposed configuration (`stale`, `unencrypted`, and `unverifiable`
    /// for values stored by a KMS provider that no longer writes).
    public var verdicts: [Verdict: Int]
}

/// One `kubectl get ... -o json | kubectl replace -f -` command.
public struct RewriteCommand: Sendable, Hashable, Comparable {
    /// Which objects the command reads and replaces.
    public enum Scope: Sendable, Hashable {
        /// A cluster-scoped resource: no namespace flag.
        case cluster
        /// Every namespace (`-A`): every namespace holding the resource needs the rewrite.
        case allNamespaces
        /// One namespace (`-n NS`).
        case namespace(String)
    }

    public var resource: String
    public var scope: Scope
    /// Entries it rewrites (objects the export holds; the cluster may hold more by now).
    public var entries: Int

    public init(resource: String, scope: Scope, entries: Int) {
        self.resource = resource
        self.scope = scope
        self.entries = entries
    }

    /// `nil` unless the command is for one namespace.
    public var namespace: String? {
        if case .namespace(let namespace) = scope { return namespace }
        return nil
    }

    /// The shell command. Resource and namespace come from etcd keys, which an export can
    /// make arbitrary, so anything but a plain DNS-style name is single-quoted.
    public var command: String {
        var words = ["kubectl", "get", Self.shellWord(resource)]
        switch scope {
        case .cluster: break
        case .allNamespaces: words.append("-A")
        case .namespace(let namespace): words += ["-n", Self.shellWord(namespace)]
        }
        return words.joined(separator: " ") + " -o json | kubectl replace -f -"
    }

    static func shellWord(_ word: String) -> String {
        let plain = !word.isEmpty && word.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "." || scalar == "-"
        }
        if plain { return word }
        // POSIX single quotes: nothing inside is special except `'` itself, written as '\''.
        return "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }

    private var sortKey: (String, Int, String) {
        switch scope {
        case .cluster: (resource, 0, "")
        case .allNamespaces: (resource, 1, "")
        case .namespace(let namespace): (resource, 2, namespace)
        }
    }

    public static func < (a: RewriteCommand, b: RewriteCommand) -> Bool { a.sortKey < b.sortKey }
}
