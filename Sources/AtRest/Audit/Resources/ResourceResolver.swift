import AtRestDump
import AtRestEncryption
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

    /// The layout's tables, shared by every copy: a resolver is copied into every
    /// thread's auditor, and a copy should cost one reference, not one per table.
    private let layout: Layout

    /// Every built-in resource of the layout; `Location.builtin` names one by its index here.
    public var builtinResources: [GroupResource] { layout.resources }

    /// `etcdPrefix` as given to `--etcd-prefix` (`/registry`, `/kubernetes.io`);
    /// normalized like the apiserver's `path.Join("/", prefix)`.
    public init(etcdPrefix: String = "/registry") {
        let parts = etcdPrefix.split(separator: "/").map(String.init)
        let normalized = "/" + parts.joined(separator: "/")
        prefix = Array(normalized.utf8)
        // OpenShift's own API servers store under /openshift.io, in their own layout.
        isOpenShift = normalized == OpenShiftResources.etcdPrefix
        layout = Layout(entries: isOpenShift ? OpenShiftResources.entries : BuiltinResources.entries,
                        exempt: isOpenShift ? [] : BuiltinResources.exempt)
    }

    /// The built-in prefixes, with every segment's bytes in one buffer so that a lookup
    /// touches no reference-counted array per candidate.
    private final class Layout: Sendable {
        let resources: [GroupResource]
        let scopes: [ResourceScope]
        /// Every prefix segment's bytes, back to back; the tables hold ranges of it.
        let bytes: [UInt8]
        /// One-segment built-in prefixes (`secrets`), sorted by bytes for binary search.
        let singleSegment: [(segment: Range<Int>, entry: Int)]
        /// Two-segment built-in prefixes (`services/specs`): tried first, longest wins.
        let twoSegments: [(first: Range<Int>, second: Range<Int>, entry: Int)]
        /// Keys the apiserver writes without a transformer: `<prefix>/<name...>`.
        let exemptions: [(prefix: [UInt8], entry: BuiltinResources.Entry)]
        /// The IP and port allocators' ranges, stored at exactly `ranges/<which>` (named `<which>`).
        let allocatorRanges: [(path: [UInt8], name: String, entry: BuiltinResources.Entry)]
        /// The first bytes of the exempt keys' paths, one bit each: most keys skip those checks.
        let exemptInitials: ByteSet

        init(entries: [BuiltinResources.Entry], exempt: [BuiltinResources.Entry]) {
            resources = entries.map(\.groupResource)
            scopes = entries.map(\.scope)
            var bytes: [UInt8] = []
            func add(_ segment: Substring) -> Range<Int> {
                bytes.append(contentsOf: segment.utf8)
                return (bytes.count - segment.utf8.count) ..< bytes.count
            }
            var single: [(segment: Range<Int>, entry: Int)] = []
            var double: [(first: Range<Int>, second: Range<Int>, entry: Int)] = []
            for (index, entry) in entries.enumerated() {
                let segments = entry.prefix.split(separator: "/")
                switch segments.count {
                case 1: single.append((add(segments[0]), index))
                case 2: double.append((add(segments[0]), add(segments[1]), index))
                default: preconditionFailure("built-in prefixes have one or two segments: \(entry.prefix)")
                }
            }
            singleSegment = single.sorted { bytes[$0.segment].lexicographicallyPrecedes(bytes[$1.segment]) }
            twoSegments = double
            self.bytes = bytes
            exemptions = exempt.map { (Array(($0.prefix + "/").utf8), $0) }
            allocatorRanges = exempt.filter { $0.prefix.contains("/") }
                .map { (Array($0.prefix.utf8), String($0.prefix.split(separator: "/").last ?? ""), $0) }
            exemptInitials = ByteSet(exempt.compactMap { $0.prefix.utf8.first })
        }
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
        switch match(key) {
        case .outside: return nil
        case .exempt(let kind): return kind
        case .unrecognized: return .unrecognized
        case .builtin(let entry, let object):
            return .object(object.key(layout.resources[entry], in: key))
        case .custom(let group, let resource, let object):
            // Escaped as keys are: distinct segments stay distinct resources (invalid
            // UTF-8 would otherwise all become U+FFFD), and none carries a control character.
            let groupResource = GroupResource(group: EscapedBytes.string(key[group]), resource: EscapedBytes.string(key[resource]))
            return .object(object.key(groupResource, in: key))
        }
    }

    /// Where a key's resource is, as `resolve` would say, without building a String:
    /// the audit's per-entry path, which names an entry only when it keeps or prints it.
    public enum Location: Sendable, Equatable {
        /// An object of a built-in resource.
        case builtin(BuiltinObject)
        /// Anything else under the prefix (exempt keys, custom resources, unrecognized
        /// keys): `resolve` says what.
        case other
        case outside
    }

    /// Where an object of a built-in resource lies in its key.
    public struct BuiltinObject: Sendable, Equatable {
        /// Its resource's index in `builtinResources`.
        public var resource: Int
        /// A namespaced object's namespace, as a byte range of the key.
        public var namespace: Range<Int>?
        public var name: Range<Int>
    }

    /// `key`'s `Location`.
    public func locate(_ key: UnsafeRawBufferPointer) -> Location {
        switch match(key) {
        case .outside: return .outside
        case .builtin(let entry, let object):
            return .builtin(BuiltinObject(resource: entry, namespace: object.namespace, name: object.name))
        case .exempt, .custom, .unrecognized: return .other
        }
    }

    /// What `resolve` says of the key that `locate` found `object` in, without matching it again.
    public func kind(of object: BuiltinObject, in key: UnsafeRawBufferPointer) -> KeyKind {
        .object(ObjectRanges(namespace: object.namespace, name: object.name).key(layout.resources[object.resource], in: key))
    }

    /// An object's namespace (namespaced only) and name, as byte ranges of its key.
    private struct ObjectRanges {
        var namespace: Range<Int>?
        var name: Range<Int>

        func key(_ groupResource: GroupResource, in key: UnsafeRawBufferPointer) -> ResourceKey {
            ResourceKey(groupResource: groupResource, scope: namespace == nil ? .cluster : .namespaced,
                        namespace: namespace.map { String(decoding: key[$0], as: UTF8.self) },
                        name: String(decoding: key[name], as: UTF8.self))
        }
    }

    private enum Match {
        case outside
        case exempt(KeyKind)
        case builtin(Int, ObjectRanges)
        /// A custom resource or aggregated API: its group's and resource's bytes in the key.
        case custom(group: Range<Int>, resource: Range<Int>, ObjectRanges)
        case unrecognized
    }

    /// The layout's rules, in order, on the key's bytes.
    private func match(_ key: UnsafeRawBufferPointer) -> Match {
        guard isUnderPrefix(key) else { return .outside }
        let restStart = prefix.count + 1
        let rest = UnsafeRawBufferPointer(rebasing: key[restStart...])
        let layout = layout

        if layout.exemptInitials.contains(rest[0]) {
            // `masterleases/<name>`, `ranges/serviceips/<name>`, ...: the rest of the key is the name.
            for (exempt, entry) in layout.exemptions where rest.starts(with: exempt) {
                let name = String(decoding: rest[exempt.count...], as: UTF8.self)
                return .exempt(.exempt(ResourceKey(groupResource: entry.groupResource, scope: .cluster, namespace: nil, name: name)))
            }
            // The allocators' ranges are stored at exactly `ranges/<which>`.
            for (path, name, entry) in layout.allocatorRanges where rest.elementsEqual(path) {
                return .exempt(.exempt(ResourceKey(groupResource: entry.groupResource, scope: .cluster, namespace: nil, name: name)))
            }
        }
        let segments = Segments(rest, offset: restStart)
        // Built-ins store at most two prefix segments plus namespace and name.
        guard segments.count <= Segments.capacity else { return .unrecognized }
        let found = layout.bytes.withUnsafeBytes { bytes -> Match? in
            if segments.count >= 2 {
                for (first, second, entry) in layout.twoSegments
                where compareBytes(segments[0], UnsafeRawBufferPointer(rebasing: bytes[first])) == 0
                    && compareBytes(segments[1], UnsafeRawBufferPointer(rebasing: bytes[second])) == 0 {
                    if let object = objectRanges(segments, from: 2, layout.scopes[entry]) { return .builtin(entry, object) }
                }
            }
            if let entry = builtin(segments, layout, bytes), let object = objectRanges(segments, from: 1, layout.scopes[entry]) {
                return .builtin(entry, object)
            }
            return nil
        }
        if let found { return found }
        // A custom resource or an aggregated API: `<group>/<plural>/[<ns>/]<name>`.
        if segments.count >= 3, segments[0].contains(UInt8(ascii: ".")), !segments[1].isEmpty {
            let scope: ResourceScope = segments.count - 2 >= 2 ? .namespaced : .cluster
            if let object = objectRanges(segments, from: 2, scope) {
                return .custom(group: segments.range(0), resource: segments.range(1), object)
            }
        }
        return .unrecognized
    }

    /// The one-segment built-in whose prefix is the first segment, by binary search.
    private func builtin(_ segments: Segments, _ layout: Layout, _ bytes: UnsafeRawBufferPointer) -> Int? {
        let first = segments[0]
        var low = 0, high = layout.singleSegment.count
        while low < high {
            let middle = (low + high) / 2
            let candidate = layout.singleSegment[middle]
            let order = compareBytes(UnsafeRawBufferPointer(rebasing: bytes[candidate.segment]), first)
            if order == 0 { return candidate.entry }
            if order < 0 { low = middle + 1 } else { high = middle }
        }
        return nil
    }

    /// The object named by the segments after the resource prefix (namespace and name, or name).
    private func objectRanges(_ segments: Segments, from start: Int, _ scope: ResourceScope) -> ObjectRanges? {
        let tail = segments.count - start
        switch scope {
        case .namespaced:
            guard tail == 2, !segments[start].isEmpty, !segments[start + 1].isEmpty else { return nil }
            return ObjectRanges(namespace: segments.range(start), name: segments.range(start + 1))
        case .cluster:
            guard tail == 1, !segments[start].isEmpty else { return nil }
            return ObjectRanges(namespace: nil, name: segments.range(start))
        }
    }
}

/// 256 bits, one per byte value.
private struct ByteSet: Sendable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    init(_ bytes: [UInt8]) {
        for byte in bytes {
            let bit = UInt64(1) << (byte & 63)
            switch byte >> 6 {
            case 0: words.0 |= bit
            case 1: words.1 |= bit
            case 2: words.2 |= bit
            default: words.3 |= bit
            }
        }
    }

    func contains(_ byte: UInt8) -> Bool {
        let bit = UInt64(1) << (byte & 63)
        switch byte >> 6 {
        case 0: return words.0 & bit != 0
        case 1: return words.1 & bit != 0
        case 2: return words.2 & bit != 0
        default: return words.3 & bit != 0
        }
    }
}

/// The `/`-separated segments of a key after the prefix, as views into the key:
/// the first `capacity` of them, and how many there are (counted up to one past
/// `capacity`, which is all a caller needs to know that there are too many).
private struct Segments {
    static let capacity = 4

    private let bytes: UnsafeRawBufferPointer
    /// Where `bytes` starts in the whole key, for `range`.
    private let offset: Int
    private var bounds: (Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0)
    private(set) var count = 0

    init(_ bytes: UnsafeRawBufferPointer, offset: Int) {
        self.bytes = bytes
        self.offset = offset
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

    /// Segment `index` as a range of the whole key.
    func range(_ index: Int) -> Range<Int> {
        let start = index == 0 ? 0 : end(index - 1) + 1
        return (offset + start) ..< (offset + end(index))
    }

}
