import Foundation
import Yams

// The file as written, before validation: every field optional, with line numbers. It mirrors the Go
// types of k8s.io/apiserver `pkg/apis/apiserver/v1/types_encryption.go` (pointers → optionals), because
// validation_encryption.go works on those, e.g. "no provider set" must be representable.

struct RawDocument: Sendable {
    var rules: [RawRule] = []
    var line: Int?
}

struct RawRule: Sendable {
    var resources: [Located<String>] = []
    var resourcesLine: Int?
    var providers: [RawProvider] = []
    var providersLine: Int?
    var line: Int?
}

struct Located<Value: Sendable>: Sendable {
    var value: Value
    var line: Int?
}

struct RawProvider: Sendable {
    var line: Int?
    var aesgcm: RawKeyList?
    var aescbc: RawKeyList?
    var secretbox: RawKeyList?
    /// Present and not null (`identity: {}`); `identity:` alone is null in YAML, which Go decodes as "not set".
    var identity: Located<Bool>?
    var kms: RawKMS?

    var setCount: Int {
        [aesgcm != nil, aescbc != nil, secretbox != nil, identity != nil, kms != nil].filter { $0 }.count
    }
}

struct RawKeyList: Sendable {
    var keys: [RawKey] = []
    var line: Int?
}

struct RawKey: Sendable {
    var name = ""
    var nameLine: Int?
    /// The base64 text as written. Kept only until validation decodes it into `SecretBytes`.
    var secret = ""
    var secretLine: Int?
    var line: Int?
}

struct RawKMS: Sendable {
    var line: Int?
    var apiVersion: String?
    var apiVersionLine: Int?
    var name = ""
    var nameLine: Int?
    var endpoint = ""
    var endpointLine: Int?
    var cacheSize: Int32?
    var cacheSizeLine: Int?
    /// Nanoseconds, as Go's `time.Duration`.
    var timeout: Int64?
    var timeoutLine: Int?
}

/// Walks Yams nodes against the schema, strictly: unknown and duplicate fields and wrong types are findings,
/// as the apiserver's strict decoder makes them errors. Yams' `Codable` decoding would ignore unknown keys.
final class StrictDecoder {
    private(set) var findings: [ConfigurationFinding] = []
    /// Before 1.31 the apiserver decodes leniently and ignores unknown fields: then they are warnings.
    private let rules: KubernetesRules

    init(rules: KubernetesRules = .newest) {
        self.rules = rules
    }
    private var visited = 0
    /// The line of each field name of the mapping `fields` read last: a message about a provider points at
    /// `aescbc:`, not at the `keys:` line under it.
    private var lastKeyLines: [String: Int] = [:]
    /// Alias expansion is not materialized by Yams, but walking it is: cap the nodes visited so that an
    /// alias bomb ("billion laughs") ends with an error instead of running for ever.
    static let maximumNodes = 100_000
    /// And cap the text walked: a few aliases of one long anchored scalar stay under the node cap yet
    /// expand to hundreds of megabytes, each copy quoted again in a finding. Four times the largest file
    /// read (`EncryptionConfigurationLoader.maximumFileSize`): a configuration without aliases never
    /// reaches it, and real ones that use anchors share a key list or two.
    static let maximumExpandedBytes = 4 << 20
    private var expandedBytes = 0
    /// Which cap a document went past.
    enum TooLarge: Error {
        case nodes
        case expandedBytes
    }

    private func report(_ message: ConfigurationFinding.Message, _ path: String, _ node: Node?) {
        findings.append(ConfigurationFinding(message, at: path, line: node?.mark?.line))
    }

    /// Counts one node visited and, for a scalar, its text.
    private func count(_ node: Node? = nil) throws(TooLarge) {
        visited += 1
        if visited > Self.maximumNodes { throw .nodes }
        if case .scalar(let scalar)? = node {
            expandedBytes += scalar.string.utf8.count
            if expandedBytes > Self.maximumExpandedBytes { throw .expandedBytes }
        }
    }

    /// How an unknown field is named in a finding. In a key entry (`name`, `secret`) a field that is not
    /// a plain identifier may be a secret: `{name: k1, secret:BASE64}` (no space after the colon) is one
    /// field named `secret:BASE64`, and a pasted key can stand where a field name belongs. Such a name is
    /// shown as `<REDACTED>`, or as `secret:<REDACTED>` when a known field's value is glued to its name.
    static func unknownFieldName(_ name: String, allowed: Set<String>) -> String {
        guard allowed.contains("secret") else { return name }
        let identifier = name.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
        if identifier.count == name.count && name.count <= 24 { return name }
        // `secret:...` or `name=...`: a known field with its value glued on.
        if let separator = name.dropFirst(identifier.count).first, separator == ":" || separator == "=", allowed.contains(String(identifier)) {
            return identifier + String(separator) + "<REDACTED>"
        }
        return "<REDACTED>"
    }

    /// JSON's name for a YAML node's type, as Go's `json.UnmarshalTypeError` prints it.
    private func typeName(_ node: Node) -> String {
        switch node {
        case .mapping: return "object"
        case .sequence: return "array"
        case .alias: return "alias"
        case .scalar:
            switch node.tag.rawValue {
            case Tag.Name.null.rawValue: return "null"
            case Tag.Name.bool.rawValue: return "bool"
            case Tag.Name.int.rawValue, Tag.Name.float.rawValue: return "number"
            default: return "string"
            }
        }
    }

    private func isNull(_ node: Node) -> Bool {
        if case .scalar = node, node.tag.rawValue == Tag.Name.null.rawValue { return true }
        return false
    }

    /// The fields of a mapping, in order, after merge keys (`<<`); unknown or repeated fields are reported
    /// and left out. `nil` for null (Go leaves the field unset) and for a non-mapping (reported).
    func fields(_ node: Node, _ path: String, allowed: Set<String>) throws(TooLarge) -> [String: Node]? {
        try count()
        if isNull(node) { return nil }
        guard case .mapping(let mapping) = node else {
            report(.wrongType(found: typeName(node), expected: "object"), path, node)
            return nil
        }
        var result: [String: Node] = [:]
        var merged: [(String, Node)] = []
        lastKeyLines = [:]
        for (key, value) in mapping {
            try count(key)
            if key.tag.rawValue == Tag.Name.merge.rawValue {
                // YAML merge key: the merged mappings' fields apply unless given explicitly (yaml.v2 semantics).
                let sources: [Node]
                if case .sequence(let sequence) = value { sources = Array(sequence) } else { sources = [value] }
                for source in sources {
                    guard case .mapping(let inner) = source else { continue }
                    for (innerKey, innerValue) in inner {
                        try count()
                        if let name = innerKey.scalar?.string { merged.append((name, innerValue)) }
                    }
                }
                continue
            }
            guard case .scalar(let scalar) = key else {
                report(.wrongType(found: typeName(key), expected: "string"), path, key)
                continue
            }
            let name = scalar.string
            let child = path.isEmpty ? name : "\(path).\(name)"
            if !allowed.contains(name) {
                let shown = Self.unknownFieldName(name, allowed: allowed)
                let field = path.isEmpty ? shown : "\(path).\(shown)"
                report(rules.strictDecoding ? .unknownField(field)
                       : .refusedFromLaterRelease(.unknownField(field), from: KubernetesVersion(1, 31), rules: rules, accepted: "ignores the field"),
                       field, key)
            } else if result[name] != nil {
                report(.duplicateField(child), child, key)
            } else {
                result[name] = value
                lastKeyLines[name] = key.mark?.line
            }
        }
        for (name, value) in merged where result[name] == nil && allowed.contains(name) {
            result[name] = value
        }
        return result
    }

    /// A list's elements; null is an empty list.
    func sequence(_ node: Node, _ path: String) throws(TooLarge) -> [Node] {
        try count()
        if isNull(node) { return [] }
        guard case .sequence(let sequence) = node else {
            report(.wrongType(found: typeName(node), expected: "array"), path, node)
            return []
        }
        return Array(sequence)
    }

    /// A string field; null is "" (Go's zero value). Numbers and booleans are errors: the apiserver converts
    /// YAML to JSON first, so `name: 123` is a JSON number it will not put in a string.
    func string(_ node: Node, _ path: String) throws(TooLarge) -> String? {
        try count(node)
        if isNull(node) { return "" }
        guard case .scalar(let scalar) = node, typeName(node) == "string" else {
            report(.wrongType(found: typeName(node), expected: "string"), path, node)
            return nil
        }
        return scalar.string
    }

    func int32(_ node: Node, _ path: String) throws(TooLarge) -> Int32?? {
        try count(node)
        if isNull(node) { return .some(nil) }
        guard case .scalar(let scalar) = node, typeName(node) == "number" else {
            report(.wrongType(found: typeName(node), expected: "int32"), path, node)
            return nil
        }
        let text = scalar.string.replacingOccurrences(of: "_", with: "")
        guard let value = Int32(text.hasPrefix("+") ? String(text.dropFirst()) : text) else {
            report(.undecodable("cannot unmarshal number \(scalar.string) into a field of type int32"), path, node)
            return nil
        }
        return .some(value)
    }

    /// A `metav1.Duration`: a string `time.ParseDuration` accepts.
    func duration(_ node: Node, _ path: String) throws(TooLarge) -> Int64?? {
        try count(node)
        if isNull(node) { return .some(nil) }
        guard case .scalar(let scalar) = node, typeName(node) == "string" else {
            report(.wrongType(found: typeName(node), expected: "duration string"), path, node)
            return nil
        }
        switch GoDuration.parse(scalar.string) {
        case .success(let nanoseconds): return .some(nanoseconds)
        case .failure(let error):
            report(.undecodable(error.message), path, node)
            return nil
        }
    }

    // MARK: Schema

    func document(_ root: Node) throws(TooLarge) -> RawDocument {
        var document = RawDocument(line: root.mark?.line)
        guard let fields = try fields(root, "", allowed: ["apiVersion", "kind", "resources"]) else { return document }
        if let resources = fields["resources"] {
            document.line = resources.mark?.line
            for (i, element) in try sequence(resources, "resources").enumerated() {
                document.rules.append(try rule(element, "resources[\(i)]"))
            }
        }
        return document
    }

    private func rule(_ node: Node, _ path: String) throws(TooLarge) -> RawRule {
        var rule = RawRule(line: node.mark?.line)
        guard let fields = try fields(node, path, allowed: ["resources", "providers"]) else { return rule }
        if let resources = fields["resources"] {
            rule.resourcesLine = resources.mark?.line
            for (j, element) in try sequence(resources, "\(path).resources").enumerated() {
                if let value = try string(element, "\(path).resources[\(j)]") {
                    rule.resources.append(Located(value: value, line: element.mark?.line))
                }
            }
        }
        if let providers = fields["providers"] {
            rule.providersLine = providers.mark?.line
            for (j, element) in try sequence(providers, "\(path).providers").enumerated() {
                rule.providers.append(try provider(element, "\(path).providers[\(j)]"))
            }
        }
        return rule
    }

    private func provider(_ node: Node, _ path: String) throws(TooLarge) -> RawProvider {
        var provider = RawProvider(line: node.mark?.line)
        guard let fields = try fields(node, path, allowed: ["aesgcm", "aescbc", "secretbox", "identity", "kms"]) else { return provider }
        let keyLines = lastKeyLines
        for name in ["aesgcm", "aescbc", "secretbox"] {
            guard let value = fields[name], var keys = try keyList(value, "\(path).\(name)") else { continue }
            keys.line = keyLines[name] ?? keys.line
            switch name {
            case "aesgcm": provider.aesgcm = keys
            case "aescbc": provider.aescbc = keys
            default: provider.secretbox = keys
            }
        }
        if let identity = fields["identity"], try self.fields(identity, "\(path).identity", allowed: []) != nil {
            provider.identity = Located(value: true, line: keyLines["identity"] ?? identity.mark?.line)
        }
        if let kms = fields["kms"] {
            if var decoded = try self.kms(kms, "\(path).kms") {
                if let line = keyLines["kms"] { decoded.line = line }
                provider.kms = decoded
            }
        }
        return provider
    }

    private func keyList(_ node: Node, _ path: String) throws(TooLarge) -> RawKeyList? {
        guard let listFields = try fields(node, path, allowed: ["keys"]) else { return nil }
        var list = RawKeyList(line: node.mark?.line)
        if let keys = listFields["keys"] {
            for (k, element) in try sequence(keys, "\(path).keys").enumerated() {
                let keyPath = "\(path).keys[\(k)]"
                var key = RawKey(line: element.mark?.line)
                if let keyFields = try fields(element, keyPath, allowed: ["name", "secret"]) {
                    if let name = keyFields["name"] {
                        key.name = try string(name, "\(keyPath).name") ?? ""
                        key.nameLine = name.mark?.line
                    }
                    if let secret = keyFields["secret"] {
                        key.secret = try string(secret, "\(keyPath).secret") ?? ""
                        key.secretLine = secret.mark?.line
                    }
                }
                list.keys.append(key)
            }
        }
        return list
    }

    private func kms(_ node: Node, _ path: String) throws(TooLarge) -> RawKMS? {
        guard let fields = try fields(node, path, allowed: ["apiVersion", "name", "cachesize", "endpoint", "timeout"]) else { return nil }
        var kms = RawKMS(line: node.mark?.line)
        if let value = fields["apiVersion"] {
            kms.apiVersion = try string(value, "\(path).apiVersion")
            kms.apiVersionLine = value.mark?.line
        }
        if let value = fields["name"] {
            kms.name = try string(value, "\(path).name") ?? ""
            kms.nameLine = value.mark?.line
        }
        if let value = fields["endpoint"] {
            kms.endpoint = try string(value, "\(path).endpoint") ?? ""
            kms.endpointLine = value.mark?.line
        }
        if let value = fields["cachesize"] {
            kms.cacheSize = try int32(value, "\(path).cachesize") ?? nil
            kms.cacheSizeLine = value.mark?.line
        }
        if let value = fields["timeout"] {
            kms.timeout = try duration(value, "\(path).timeout") ?? nil
            kms.timeoutLine = value.mark?.line
        }
        return kms
    }
}

/// Go's `time.Duration` text: `time.ParseDuration` and `Duration.String`, for `kms.timeout`.
enum GoDuration {
    struct ParseError: Error { var message: String }

    private static let units: [(String, Double)] = [
        ("ns", 1), ("us", 1e3), ("\u{00B5}s", 1e3), ("\u{03BC}s", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
    ]

    /// `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or `0`.
    static func parse(_ text: String) -> Result<Int64, ParseError> {
        let invalid = ParseError(message: "time: invalid duration \(GoFormat.quote(text))")
        var rest = Substring(text)
        var negative = false
        if let sign = rest.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            rest = rest.dropFirst()
        }
        if rest == "0" { return .success(0) }
        if rest.isEmpty { return .failure(invalid) }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, number != ".", number.filter({ $0 == "." }).count <= 1, let value = Double(number.hasPrefix(".") ? "0" + number : number + (number.hasSuffix(".") ? "0" : "")) else {
                return .failure(invalid)
            }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            if unit.isEmpty { return .failure(ParseError(message: "time: missing unit in duration \(GoFormat.quote(text))")) }
            guard let scale = units.first(where: { $0.0 == unit })?.1 else {
                return .failure(ParseError(message: "time: unknown unit \(GoFormat.quote(String(unit))) in duration \(GoFormat.quote(text))"))
            }
            rest = rest.dropFirst(unit.count)
            total += value * scale
            if total > 9.223372036854775e18 { return .failure(invalid) }
        }
        return .success(Int64(negative ? -total : total))
    }

    /// `Duration.String()`: `0s`, `1.5s`, `1m30s`, `-2h0m0s`, `500ms`.
    static func format(_ nanoseconds: Int64) -> String {
        if nanoseconds == 0 { return "0s" }
        let sign = nanoseconds < 0 ? "-" : ""
        let value = nanoseconds.magnitude
        func fraction(_ v: UInt64, _ scale: UInt64) -> String {
            let whole = v / scale, rest = v % scale
            guard rest != 0 else { return String(whole) }
            var digits = String(rest)
            digits = String(repeating: "0", count: String(scale).count - 1 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            return "\(whole).\(digits)"
        }
        if value < 1_000 { return "\(sign)\(value)ns" }
        if value < 1_000_000 { return "\(sign)\(fraction(value, 1_000))\u{00B5}s" }
        if value < 1_000_000_000 { return "\(sign)\(fraction(value, 1_000_000))ms" }
        let hours = value / 3_600_000_000_000
        let minutes = value / 60_000_000_000 % 60
        let seconds = fraction(value % 60_000_000_000, 1_000_000_000) + "s"
        if hours > 0 { return "\(sign)\(hours)h\(minutes)m\(seconds)" }
        if minutes > 0 { return "\(sign)\(minutes)m\(seconds)" }
        return sign + seconds
    }
}
