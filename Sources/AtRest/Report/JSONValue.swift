import AtRestAudit
import AtRestEncryption
import AtRestIndex

/// A minimal JSON value with a deterministic serializer: object keys sorted,
/// integers exact, strings escaped per RFC 8259. Used for machine output that
/// must be identical from run to run.
indirect enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    func serialized(pretty: Bool = false) -> String {
        var out = ""
        write(to: &out, pretty: pretty, indent: 0)
        return out
    }

    private func write(to out: inout String, pretty: Bool, indent: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .int(let value): out += String(value)
        case .string(let value): Self.writeString(value, to: &out)
        case .array(let values):
            if values.isEmpty { out += "[]"; return }
            out += "["
            for (i, value) in values.enumerated() {
                if i > 0 { out += "," }
                if pretty { out += "\n" + String(repeating: "  ", count: indent + 1) }
                value.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { out += "\n" + String(repeating: "  ", count: indent) }
            out += "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{"
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                if pretty { out += "\n" + String(repeating: "  ", count: indent + 1) }
                Self.writeString(key, to: &out)
                out += pretty ? ": " : ":"
                members[key]?.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { out += "\n" + String(repeating: "  ", count: indent) }
            out += "}"
        }
    }

    private static func writeString(_ value: String, to out: inout String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if TerminalText.needsEscape(scalar) {
                    JSONText.appendEscape(scalar, to: &out)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

/// JSON strings with the characters that control a terminal or reorder text
/// (`TerminalText.needsEscape`: C0 and C1 controls, DEL, bidi and other format
/// characters) written as `\uXXXX` escapes: the same value for a parser, nothing
/// hostile for a person who prints the document.
public enum JSONText {
    static func appendEscape(_ scalar: Unicode.Scalar, to out: inout String) {
        func unit(_ value: UInt32) {
            let hex = String(value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        }
        if scalar.value <= 0xFFFF {
            unit(scalar.value)
        } else {
            let offset = scalar.value - 0x10000
            unit(0xD800 + (offset >> 10))
            unit(0xDC00 + (offset & 0x3FF))
        }
    }

    /// A serialized JSON document (`JSONEncoder`'s, which leaves them raw) with every
    /// such character escaped. They can only occur inside strings, so this keeps the
    /// document's meaning.
    public static func escapingInvisibles(_ json: String) -> String {
        guard json.unicodeScalars.contains(where: { $0.value >= 0x7F && TerminalText.needsEscape($0) }) else { return json }
        var out = ""
        out.reserveCapacity(json.utf8.count + 16)
        for scalar in json.unicodeScalars {
            if scalar.value >= 0x7F && TerminalText.needsEscape(scalar) {
                appendEscape(scalar, to: &out)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension JSONValue {
    /// Counts per verdict, the way every machine report writes them.
    static func verdicts(_ counts: [Verdict: Int]) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, JSONValue.int($0.value)) }))
    }

    /// The rules a configuration was checked against: `{"kubernetesVersion": "1.29", "featureGates": {"KMSv1": true, ...}}`,
    /// with the value of every gate atrest models that the release has.
    public static func rules(_ rules: KubernetesRules) -> JSONValue {
        .object([
            "kubernetesVersion": .string(rules.version.description),
            "featureGates": .object(Dictionary(uniqueKeysWithValues: rules.effectiveFeatureGates.map { ($0.key.rawValue, JSONValue.bool($0.value)) })),
        ])
    }

    /// The input a report speaks for: files with their sha256 and format, revision, completeness.
    static func input(_ provenance: IndexProvenance) -> JSONValue {
        .object([
            "files": .array(provenance.inputs.map { .object(["name": .string($0.name), "sha256": .string($0.sha256),
                                                               "format": .string($0.format.rawValue)]) }),
            "revision": provenance.revision.map { .int(Int($0)) } ?? .null,
            "completeness": .string(provenance.completeness.rawValue),
        ])
    }
}
