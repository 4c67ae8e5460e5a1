import AtRestDump
import Foundation

/// Resolves etcd keys to the objects they store, for one etcd prefix.
///
/// Layout (k8s `pkg/registry/generic/registry/store.go`): `<prefix>/<resourcePrefix>/<ns>/<name>`
/// for namespaced objects, `<prefix>/<resourcePrefix>/<name>` otherwise.
/// Custom resources and aggregated APIs store at `<prefix>/<group>/<plural>/...`
/// (`SimpleStorageFactory`, `pkg/server/options/etcd.go`): CRD groups always contain
/// a dot and built-in prefixes never do, so a dot in the first segment marks a group.
///
/// Resolution works on the key's bytes: segments are byte ranges, built-in prefixes
/// are found by binary search, and only the namespace and name become Strings
/// (most fit Swift's inline small-string form). Millions of keys go through here.
public struct ResourceResolver: Sendable {
    /// The etcd prefix with exactly one leading and no trailing `/` (`/registry`).
    public let prefix: [UInt8]
    /// Whether the prefix is `/openshift.io`: keys resolve in the layout of OpenShift's
    /// own API servers (`OpenShiftResources`), not the Kubernetes one.
    public let isOpenShift: Bool

    /// One-segment built-in prefixes (`secrets`), sorted by bytes for binary search.
    private let singleSegment: [(segment: [UInt8], entry: BuiltinResources.Entry)]
    /// Two-segment built-in prefixes (`services/specs`): tried first, longest wins.
    private let twoSegments: [(first: [UInt8], second: [UInt8], entry: BuiltinResources.Entry)]
    /// Keys the apiserver writes without a transformer: `<prefix>/<name...>`.
    private let exemptions: [(prefix: [UInt8], entry: BuiltinResources.Entry)]
    /// The IP and port allocators' ranges, stored at exactly `ranges/<which>` (named `<which>`).
    private let allocatorRanges: [(path: [UInt8], name: String, entry: BuiltinResources.Entry)]

    /// `etcdPrefix` as given to `--etcd-prefix` (`/registry`, `/kubernetes.io`);
    /// normalized like the apiserver's `path.Join("/", prefix)`.
    public init(etcdPrefix: String = "/registry") {
        let parts = etcdPrefix.split(separator: "/").map(String.init)
        let normalized = "/" + parts.joined(separator: "/")
        prefix = Array(normalized.utf8)
        // OpenShift's own API servers store under /openshift.io, in their own layout.
        isOpenShift = normalized == OpenShiftResources.etcdPrefix
        var single: [(segment: [UInt8], entry: BuiltinResources.Entry)] = []
        var double: [(first: [UInt8], second: [UInt8], entry: BuiltinResources.Entry)] = []
        for entry in isOpenShift ? OpenShiftResources.entries : BuiltinResources.entries {
            let segments = entry.prefix.split(separator: "/").map { Array($0.utf8) }
            switch segments.count {
            case 1: single.append((segments[0], entry))
            case 2: double.append((segments[0], segments[1], entry))
            default: preconditionFailure("built-in prefixes have one or two segments: \(entry.prefix)")
            }
        }
        singleSegment = single.sorted { $0.segment.lexicographicallyPrecedes($1.segment) }
        twoSegments = double
        let exempt = isOpenShift ? [] : BuiltinResources.exempt
        exemptions = exempt.map { (Array(($0.prefix + "/").utf8), $0) }
        allocatorRanges = exempt.filter { $0.prefix.contains("/") }
            .map { (Array($0.prefix.utf8), String($0.prefix.split(separator: "/").last ?? ""), $0) }
    }

    /// Whether `key` lies under the prefix (`/registry/...`; `/registryx` does not).
    public func isUnderPrefix(_ key: some Collection<UInt8>) -> Bool {
        guard key.count > prefix.count + 1, key.starts(with: prefix) else { return false }
        return key.dropFirst(prefix.count).first == UInt8(ascii: "/")
    }

    /// What `key` stores; `nil` when it is outside the prefix.
    public func resolve(_ key: some Collection<UInt8>) -> KeyKind? {
        if let kind = key.withContiguousStorageIfAvailable({ resolve(UnsafeRawBufferPointer($0)) }) { return kind }
        return Array(key).withUnsafeBytes { resolve($0) }
    }

    /// What `key` stores; `nil` when it is outside the prefix.
    public func resolve(_ key: UnsafeRawBufferPointer) -> KeyKind? {
        guard isUnderPrefix(key) else { return nil }
        let rest = UnsafeRawBufferPointer(rebasing: key[(prefix.count + 1)...])

        // `masterleases/<name>`, `ranges/serviceips/<name>`, ...: the rest of the key is the name.
        for (exempt, entry) in exemptions where rest.starts(with: exempt) {
            let name = String(decoding: rest[exempt.count...], as: UTF8.self)
            return .exempt(ResourceKey(groupResource: entry.groupResource, scope: .cluster, namespace: nil, name: name))
        }
        // The allocators' ranges are stored at exactly `ranges/<which>`.
        for (path, name, entry) in allocatorRanges where rest.elementsEqual(path) {
            return .exempt(ResourceKey(groupResource: entry.groupResource, scope: .cluster, namespace: nil, name: name))
        }
        let segments = Segments(rest)
        // Built-ins store at most two prefix segments plus namespace and name.
        guard segments.count <= Segments.capacity else { return .unrecognized }
        for (first, second, entry) in twoSegments where segments.count >= 2 && segments.equals(0, first) && segments.equals(1, second) {
            if let key = objectKey(segments, from: 2, entry.groupResource, entry.scope) { return .object(key) }
        }
        if let entry = builtin(segments) {
            if let key = objectKey(segments, from: 1, entry.groupResource, entry.scope) { return .object(key) }
        }
        // A custom resource or an aggregated API: `<group>/<plural>/[<ns>/]<name>`.
        if segments.count >= 3, segments[0].contains(UInt8(ascii: ".")), !segments[1].isEmpty {
            let groupResource = GroupResource(group: segments.string(0), resource: segments.string(1))
            let scope: ResourceScope = segments.count - 2 >= 2 ? .namespaced : .cluster
            if let key = objectKey(segments, from: 2, groupResource, scope) { return .object(key) }
        }
        return .unrecognized
    }

    /// The one-segment built-in whose prefix is the first segment, by binary search.
    private func builtin(_ segments: Segments) -> BuiltinResources.Entry? {
        let first = segments[0]
        var low = 0, high = singleSegment.count
        while low < high {
            let middle = (low + high) / 2
            let order = singleSegment[middle].segment.withUnsafeBytes { compareBytes($0, first) }
            if order == 0 { return singleSegment[middle].entry }
            if order < 0 { low = middle + 1 } else { high = middle }
        }
        return nil
    }

    /// The object named by the segments after the resource prefix (namespace and name, or name).
    private func objectKey(_ segments: Segments, from start: Int, _ groupResource: GroupResource, _ scope: ResourceScope) -> ResourceKey? {
        let tail = segments.count - start
        switch scope {
        case .namespaced:
            guard tail == 2, !segments[start].isEmpty, !segments[start + 1].isEmpty else { return nil }
            return ResourceKey(groupResource: groupResource, scope: .namespaced,
                               namespace: segments.string(start), name: segments.string(start + 1))
        case .cluster:
            guard tail == 1, !segments[start].isEmpty else { return nil }
            return ResourceKey(groupResource: groupResource, scope: .cluster, namespace: nil, name: segments.string(start))
        }
    }
}

/// The `/`-separated segments of a key after the prefix, as views into the key:
/// the first `capacity` of them, and how many there are (counted up to one past
/// `capacity`, which is all a caller needs to know that there are too many).
private struct Segments {
    static let capacity = 4

    private let bytes: UnsafeRawBufferPointer
    private var bounds: (Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0)
    private(set) var count = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        // bounds holds each segment's end; a segment starts one past the previous end.
        var start = 0
        while count <= Self.capacity {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "/")) ?? bytes.count
            setEnd(count, end)
            count += 1
            guard end < bytes.count else { break }
            start = end + 1
        }
    }

    private mutating func setEnd(_ index: Int, _ end: Int) {
        switch index {
        case 0: bounds.0 = end
        case 1: bounds.1 = end
        case 2: bounds.2 = end
        case 3: bounds.3 = end
        default: bounds.4 = end
        }
    }

    private func end(_ index: Int) -> Int {
        switch index {
        case 0: return bounds.0
        case 1: return bounds.1
        case 2: return bounds.2
        case 3: return bounds.3
        default: return bounds.4
        }
    }

    subscript(index: Int) -> UnsafeRawBufferPointer {
        let start = index == 0 ? 0 : end(index - 1) + 1
        return UnsafeRawBufferPointer(rebasing: bytes[start ..< end(index)])
    }

    func string(_ index: Int) -> String { String(decoding: self[index], as: UTF8.self) }

    func equals(_ index: Int, _ other: [UInt8]) -> Bool { other.withUnsafeBytes { compareBytes(self[index], $0) == 0 } }

    func equals(_ index: Int, _ other: Substring) -> Bool { self[index].elementsEqual(other.utf8) }
}
