import AtRestDump
import Foundation

/// Who an object is, read from its serialized bytes, with its contents reduced
/// to sizes: what `atrest inspect --decrypt` shows without `--reveal`.
///
/// Why: after decrypting, an operator needs to check that the value *is* the
/// object its etcd key says (a value copied between keys decrypts fine with
/// aescbc and secretbox) — that takes apiVersion, kind, name and namespace, not
/// the data. Everything else is listed by field and size only.
///
/// Layouts (spec §5): protobuf is `k8s\x00` + `runtime.Unknown` (apimachinery
/// `pkg/runtime/generated.proto`: 1 typeMeta{1 apiVersion, 2 kind}, 2 raw,
/// 3 contentEncoding, 4 contentType); `raw` is the versioned object, field 1 its
/// `ObjectMeta` (k8s.io/api `core/v1/generated.proto` via apimachinery
/// `pkg/apis/meta/v1/generated.proto`: name = 1, namespace = 3). JSON is the
/// object as `json.Encoder` wrote it.
public struct ObjectEnvelope: Sendable, Hashable {
    /// `protobuf`, `json`, `cbor`, `empty` or `other`.
    public var encoding: String
    public var apiVersion: String?
    public var kind: String?
    public var name: String?
    public var namespace: String?
    /// The rest of the object, one line per part, sizes only.
    public var parts: [Part]
    /// Why the envelope could not be read fully.
    public var problem: String?

    /// One part of the object other than its identity.
    public struct Part: Sendable, Hashable {
        /// `data["password"]`, `spec`, `field 3`.
        public var name: String
        public var size: Int
        /// The bytes, kept for `--reveal` only.
        public var contents: [UInt8]
    }

    public init(decoding bytes: [UInt8]) {
        encoding = "other"
        parts = []
        if bytes.isEmpty {
            encoding = "empty"
        } else if bytes.starts(with: [0x6b, 0x38, 0x73, 0x00]) {
            encoding = "protobuf"
            decodeProtobuf(bytes)
        } else if bytes.starts(with: [0xd9, 0xd9, 0xf7]) {
            encoding = "cbor"
            problem = "CBOR objects are not decoded"
            parts = [Part(name: "object (CBOR)", size: bytes.count, contents: bytes)]
        } else if bytes.first(where: { ![0x20, 0x0a, 0x0d, 0x09].contains($0) }) == UInt8(ascii: "{") {
            encoding = "json"
            decodeJSON(bytes)
        } else {
            problem = "not a Kubernetes encoding"
            parts = [Part(name: "value", size: bytes.count, contents: bytes)]
        }
    }

    private mutating func decodeProtobuf(_ bytes: [UInt8]) {
        do {
            var raw: Range<Int>?
            for field in try ProtobufField.fields(of: bytes, in: 4..<bytes.count) {
                guard let payload = field.payload else { continue }
                switch field.number {
                case 1:
                    for inner in try ProtobufField.fields(of: bytes, in: payload) {
                        guard let text = inner.payload.map({ EscapedBytes.string(bytes[$0]) }) else { continue }
                        if inner.number == 1 { apiVersion = text } else if inner.number == 2 { kind = text }
                    }
                case 2: raw = payload
                default: break
                }
            }
            guard let raw else {
                problem = "runtime.Unknown has no raw object"
                return
            }
            // Maps in the core API (k8s.io/api core/v1/generated.proto): Secret 2 data,
            // 4 stringData; ConfigMap 2 data, 3 binaryData. Other fields: sizes by number.
            let maps: [UInt32: String] = kind == "Secret" ? [2: "data", 4: "stringData"]
                : kind == "ConfigMap" ? [2: "data", 3: "binaryData"] : [:]
            for field in try ProtobufField.fields(of: bytes, in: raw) {
                if field.number == 1, let meta = field.payload {
                    for inner in try ProtobufField.fields(of: bytes, in: meta) {
                        guard let text = inner.payload.map({ EscapedBytes.string(bytes[$0]) }) else { continue }
                        if inner.number == 1 { name = text } else if inner.number == 3 { namespace = text }
                    }
                } else if let mapName = maps[field.number], let entry = field.payload {
                    let members = try ProtobufField.fields(of: bytes, in: entry)
                    let keyField: Range<Int>? = members.first { $0.number == 1 }?.payload
                    let valueField: Range<Int>? = members.first { $0.number == 2 }?.payload
                    let key = keyField.map { EscapedBytes.string(bytes[$0]) } ?? ""
                    let value: [UInt8] = valueField.map { Array(bytes[$0]) } ?? []
                    parts.append(Part(name: "\(mapName)[\"\(key)\"]", size: value.count, contents: value))
                } else {
                    let contents = Array(bytes[field.range])
                    if let index = parts.firstIndex(where: { $0.name == "field \(field.number)" }) {
                        parts[index].size += contents.count
                        parts[index].contents += contents
                    } else {
                        parts.append(Part(name: "field \(field.number)", size: contents.count, contents: contents))
                    }
                }
            }
        } catch {
            problem = "malformed protobuf: \(error)"
        }
    }

    private mutating func decodeJSON(_ bytes: [UInt8]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            problem = "not a JSON object"
            parts = [Part(name: "value", size: bytes.count, contents: bytes)]
            return
        }
        apiVersion = object["apiVersion"] as? String
        kind = object["kind"] as? String
        let metadata = object["metadata"] as? [String: Any]
        name = metadata?["name"] as? String
        namespace = metadata?["namespace"] as? String
        for member in object.keys.sorted() where !["apiVersion", "kind", "metadata"].contains(member) {
            if ["data", "stringData", "binaryData"].contains(member), let map = object[member] as? [String: Any] {
                for key in map.keys.sorted() {
                    let contents = Self.serialized(map[key])
                    parts.append(Part(name: "\(member)[\"\(key)\"]", size: contents.count, contents: contents))
                }
            } else {
                // Re-serialized: the size is of the member's JSON, not of its exact stored spelling.
                let contents = Self.serialized(object[member])
                parts.append(Part(name: member, size: contents.count, contents: contents))
            }
        }
    }

    /// A string's UTF-8 bytes; anything else as compact JSON.
    private static func serialized(_ value: Any?) -> [UInt8] {
        if let string = value as? String { return Array(string.utf8) }
        guard let value, let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes]) else {
            return []
        }
        return Array(data)
    }
}
