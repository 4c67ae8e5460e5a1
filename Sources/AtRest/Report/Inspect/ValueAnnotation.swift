import AtRestDump
import AtRestEncryption

/// One labelled byte range of a stored value.
public struct ValueRegion: Sendable, Hashable {
    /// Bytes of the value this region covers.
    public var range: Range<Int>
    /// Short name shown beside the hex dump (`nonce`, `tag`, `keyID`).
    public var label: String
    /// What the bytes are and where the layout comes from, for the legend.
    public var detail: String
    /// 0 for top-level parts; 1 and more for parts inside another region
    /// (the fields of a protobuf message, the layout inside `encryptedData`).
    public var depth: Int

    public init(range: Range<Int>, label: String, detail: String, depth: Int = 0) {
        self.range = range
        self.label = label
        self.detail = detail
        self.depth = depth
    }
}

/// The layout of a stored etcd value, cut into labelled regions from its bytes
/// alone: which part is the provider prefix, the key name, the nonce, the tag,
/// the protobuf fields.
///
/// Why: an operator debugging an undecryptable entry needs to see *where* the
/// value deviates from what the apiserver writes (a truncated tag, a key name
/// with an unexpected `:`, a KMS v2 object without a key ID) and a plain hex dump
/// does not say. Layouts follow `docs`/spec §1 and §5:
///
/// - `k8s:enc:aescbc:v1:<key>:` IV(16) ‖ CBC ciphertext, PKCS#7 padded
///   (k8s.io/apiserver `pkg/storage/value/encrypt/aes/aes.go`, `cbc`);
/// - `k8s:enc:aesgcm:v1:<key>:` nonce(12) ‖ ciphertext ‖ tag(16) (`aes.go`, `gcm`);
/// - `k8s:enc:secretbox:v1:<key>:` nonce(24) ‖ Poly1305 tag(16) ‖ XSalsa20
///   ciphertext (`pkg/storage/value/encrypt/secretbox/secretbox.go`; nacl
///   `secretbox.Seal` puts the tag first);
/// - `k8s:enc:kms:v1:<name>:` BE16 length ‖ encrypted DEK ‖ data
///   (`pkg/storage/value/encrypt/envelope/envelope.go`; data is AES-GCM since 1.25);
/// - `k8s:enc:kms:v2:<name>:` protobuf `EncryptedObject`
///   (`pkg/storage/value/encrypt/envelope/kmsv2/v2/api.proto`);
/// - plaintext: `k8s\x00` ‖ `runtime.Unknown` (apimachinery
///   `pkg/runtime/serializer/protobuf/protobuf.go`, `pkg/runtime/generated.proto`),
///   a JSON object, or self-described CBOR `d9 d9 f7`
///   (apimachinery `pkg/runtime/serializer/cbor/cbor.go`).
///
/// Annotating never decrypts: it reads lengths and offsets, not contents. The
/// names of plaintext protobuf fields are labelled, never their values, so the
/// legend carries no object data.
public struct ValueAnnotation: Sendable, Hashable {
    /// One line: how the value is stored (`aesgcm, key "key1"`).
    public var layout: String
    /// Regions in value order (a parent before the regions inside it).
    public var regions: [ValueRegion]
    /// What does not fit the layout (truncation, trailing bytes, malformed protobuf).
    public var problems: [String]

    /// Cuts `value` into regions. `knownNames` are key and KMS provider names from
    /// a configuration: names may contain `:` (except KMS v2 names), so without
    /// them the name is read up to the next `:`, and with them the longest
    /// configured name that the value carries wins, as in the audit.
    public static func annotate(_ value: [UInt8], knownNames: [String] = []) -> ValueAnnotation {
        var builder = Builder(value: value, knownNames: knownNames)
        builder.run()
        return ValueAnnotation(layout: builder.layout, regions: builder.regions.sorted { ($0.range.lowerBound, $0.depth) < ($1.range.lowerBound, $1.depth) },
                               problems: builder.problems)
    }
}

private struct Builder {
    let value: [UInt8]
    let knownNames: [String]
    var layout = ""
    var regions: [ValueRegion] = []
    var problems: [String] = []

    init(value: [UInt8], knownNames: [String]) {
        self.value = value
        self.knownNames = knownNames
    }

    mutating func add(_ range: Range<Int>, _ label: String, _ detail: String, depth: Int = 0) {
        guard !range.isEmpty else { return }
        regions.append(ValueRegion(range: range, label: label, detail: detail, depth: depth))
    }

    static let protobufMagic: [UInt8] = [0x6b, 0x38, 0x73, 0x00]
    static let cborTag: [UInt8] = [0xd9, 0xd9, 0xf7]

    mutating func run() {
        if value.starts(with: EnvelopePrefix.reserved) {
            encrypted()
            return
        }
        switch StorageClassifier.classify(value) {
        case .plaintext(.protobuf): protobufPlaintext()
        case .plaintext(.json): jsonPlaintext()
        case .plaintext(.cbor):
            layout = "plaintext, CBOR"
            add(0..<3, "CBOR self-describe tag", "d9 d9 f7: tag 55799, self-described CBOR (apimachinery pkg/runtime/serializer/cbor/cbor.go)")
            add(3..<value.count, "CBOR data item", "the object, CBOR-encoded (custom resources with the CBORServingAndStorage feature)")
        case .plaintext(.empty):
            layout = "empty value"
        default:
            layout = "plaintext, not a Kubernetes encoding"
            add(0..<value.count, "unrecognized data", "neither k8s protobuf, JSON nor CBOR: YAML (--storage-media-type=application/yaml) or another application's data")
        }
    }

    // MARK: Encrypted

    mutating func encrypted() {
        let reserved = EnvelopePrefix.reserved.count, reservedText = EnvelopePrefix.reservedText
        let header = value.withUnsafeBytes { EnvelopePrefix.header($0) }
        let format: EnvelopeFormat, prefixEnd: Int
        switch header {
        case .plaintext, .noProvider, .noVersion:
            layout = "encrypted, malformed \(reservedText) prefix"
            add(0..<reserved, "\(reservedText) prefix", "reserved for encrypted data (k8s.io/apiserver pkg/storage/value/encrypt/identity/identity.go)")
            add(reserved..<value.count, "unparsed", "no <provider>:<version>: follows \(reservedText)")
            problems.append("the \(reservedText) prefix is not followed by <provider>:<version>:")
            return
        case .unknown(let provider, let version):
            let prefixEnd = version.upperBound + 1
            let text = EscapedBytes.string(value[0..<prefixEnd])
            layout = "encrypted by an unknown provider \(String(decoding: value[provider], as: UTF8.self)):\(String(decoding: value[version], as: UTF8.self))"
            add(0..<prefixEnd, "unknown prefix \(text)", "no apiserver writes this provider/version: unreadable under any configuration")
            add(prefixEnd..<value.count, "payload", "opaque")
            return
        case .known(let known, let nameStart):
            (format, prefixEnd) = (known, nameStart)
        }
        let prefixText = EscapedBytes.string(value[0..<prefixEnd])
        let nameEnd = value.withUnsafeBytes { EnvelopePrefix.nameEnd($0, from: prefixEnd, format: format, knownNames: knownNames) }
        switch format {
        case .keyed(let provider):
            add(0..<prefixEnd, "provider prefix \(prefixText)",
                "\(provider.rawValue) provider, written by prefixTransformers.TransformToStorage (k8s.io/apiserver pkg/server/options/encryptionconfig/config.go)")
            guard let nameEnd else {
                layout = "\(provider.rawValue), no key name"
                add(prefixEnd..<value.count, "unparsed", "no <key name>: follows the prefix")
                problems.append("no key name ends with ':' after \(prefixText)")
                return
            }
            let name = EscapedBytes.string(value[prefixEnd..<nameEnd])
            layout = "\(provider.rawValue), key \"\(name)\""
            add(prefixEnd..<(nameEnd + 1), "key name \"\(name)\" + ':'", "the configured key's name; selects the key that decrypts")
            keyedPayload(provider, from: nameEnd + 1)
        case .kms(let version):
            let envelope = version == .v1 ? "KMS v1 envelope (k8s.io/apiserver pkg/storage/value/encrypt/envelope/envelope.go)"
                                          : "KMS v2 envelope (k8s.io/apiserver pkg/storage/value/encrypt/envelope/kmsv2/envelope.go)"
            add(0..<prefixEnd, "provider prefix \(prefixText)", envelope)
            guard let nameEnd else {
                layout = "kms \(version.rawValue), no provider name"
                add(prefixEnd..<value.count, "unparsed", "no <provider name>: follows the prefix")
                problems.append("no KMS provider name ends with ':' after \(prefixText)")
                return
            }
            let name = EscapedBytes.string(value[prefixEnd..<nameEnd])
            layout = "kms \(version.rawValue), provider \"\(name)\""
            add(prefixEnd..<(nameEnd + 1), "KMS provider name \"\(name)\" + ':'", "the kms provider's name in the configuration")
            if version == .v1 { kmsV1Payload(from: nameEnd + 1) } else { kmsV2Payload(from: nameEnd + 1) }
        }
    }

    mutating func keyedPayload(_ provider: KeyedProvider, from start: Int) {
        let count = value.count - start
        switch provider {
        case .aescbc:
            let iv = PayloadLayout.AESCBC.ivByteCount, block = PayloadLayout.AESCBC.blockByteCount
            guard count >= iv else {
                add(start..<value.count, "truncated payload (\(count) bytes)", "shorter than the \(iv)-byte IV")
                problems.append("payload of \(count) bytes is shorter than the \(iv)-byte IV")
                return
            }
            add(start..<(start + iv), "IV", "AES-CBC initialisation vector, random per write")
            add((start + iv)..<value.count, "ciphertext", "AES-CBC, PKCS#7 padded (1-\(block) bytes of padding)")
            if (count - iv) % block != 0 || count == iv {
                problems.append("the ciphertext (\(count - iv) bytes) is not a positive multiple of the \(block)-byte block")
            }
        case .aesgcm:
            let nonce = PayloadLayout.AESGCM.nonceByteCount, tag = PayloadLayout.AESGCM.tagByteCount
            guard count >= nonce + tag else {
                add(start..<value.count, "truncated payload (\(count) bytes)", "shorter than nonce(\(nonce)) + tag(\(tag))")
                problems.append("payload of \(count) bytes is shorter than nonce(\(nonce)) + tag(\(tag))")
                return
            }
            add(start..<(start + nonce), "nonce", "AES-GCM nonce, random per write")
            add((start + nonce)..<(value.count - tag), "ciphertext", "AES-GCM; the etcd key is the additional authenticated data")
            add((value.count - tag)..<value.count, "tag", "GCM authentication tag")
        case .secretbox:
            let nonce = PayloadLayout.SecretBox.nonceByteCount, tag = PayloadLayout.SecretBox.tagByteCount
            guard count >= nonce + tag else {
                add(start..<value.count, "truncated payload (\(count) bytes)", "shorter than nonce(\(nonce)) + tag(\(tag))")
                problems.append("payload of \(count) bytes is shorter than nonce(\(nonce)) + Poly1305 tag(\(tag))")
                return
            }
            add(start..<(start + nonce), "nonce", "XSalsa20 nonce, random per write")
            add((start + nonce)..<(start + nonce + tag), "Poly1305 tag", "the first \(tag) bytes of the NaCl box (golang.org/x/crypto nacl/secretbox Seal)")
            add((start + nonce + tag)..<value.count, "ciphertext", "XSalsa20; no additional data (the etcd key is not authenticated)")
        }
    }

    mutating func kmsV1Payload(from start: Int) {
        let nonce = PayloadLayout.AESGCM.nonceByteCount, tag = PayloadLayout.AESGCM.tagByteCount
        guard value.count - start >= PayloadLayout.KMSv1.dekLengthByteCount else {
            add(start..<value.count, "truncated", "no room for the 2-byte DEK length")
            problems.append("no room for the big-endian 16-bit DEK length")
            return
        }
        let dekLength = Int(value[start]) << 8 | Int(value[start + 1])
        add(start..<(start + PayloadLayout.KMSv1.dekLengthByteCount), "DEK length (BE16) = \(dekLength)", "cryptobyte uint16 length prefix")
        let dekStart = start + PayloadLayout.KMSv1.dekLengthByteCount
        guard value.count - dekStart >= dekLength else {
            add(dekStart..<value.count, "truncated encrypted DEK", "declared \(dekLength) bytes, \(value.count - dekStart) remain")
            problems.append("the encrypted DEK declares \(dekLength) bytes but only \(value.count - dekStart) remain")
            return
        }
        add(dekStart..<(dekStart + dekLength), "encrypted DEK", "the data key as the KMS plugin wrapped it; only the plugin can unwrap it")
        let data = dekStart + dekLength
        let count = value.count - data
        guard count >= nonce + tag else {
            add(data..<value.count, "data (\(count) bytes)", "too short for AES-GCM; AES-CBC (written by 1.24 and older) if a multiple of 16")
            return
        }
        add(data..<(data + nonce), "nonce", "AES-GCM nonce (written by Kubernetes 1.25 and later; 1.24 and older wrote IV(16) + AES-CBC)")
        add((data + nonce)..<(value.count - tag), "ciphertext", "AES-256-GCM under the DEK; the etcd key is the additional data")
        add((value.count - tag)..<value.count, "tag", "GCM authentication tag")
    }

    mutating func kmsV2Payload(from start: Int) {
        let nonce = PayloadLayout.AESGCM.nonceByteCount, tag = PayloadLayout.AESGCM.tagByteCount
        let info = PayloadLayout.KMSv2ExtendedNonce.infoByteCount
        let fields: [ProtobufField]
        do {
            fields = try ProtobufField.fields(of: value, in: start..<value.count)
        } catch {
            add(start..<value.count, "malformed EncryptedObject", "not protobuf: \(error)")
            problems.append("the EncryptedObject is not valid protobuf: \(error)")
            return
        }
        let sourceType = fields.last { $0.number == 5 }?.varint ?? 0
        for field in fields {
            switch (field.number, field.payload) {
            case (1, let payload?):
                add(field.range, "encryptedData (field 1, \(payload.count)-byte payload)", "the object, encrypted under the DEK or a key derived from the seed")
                if sourceType == 1 {
                    guard payload.count >= info + nonce + tag else { problems.append("encryptedData is shorter than info(\(info)) + nonce(\(nonce)) + tag(\(tag))"); continue }
                    add(payload.lowerBound..<(payload.lowerBound + info), "info", "HKDF-SHA256 info, random per write (aes_extended_nonce.go)", depth: 1)
                    add((payload.lowerBound + info)..<(payload.lowerBound + info + nonce), "nonce", "AES-GCM nonce", depth: 1)
                    add((payload.lowerBound + info + nonce)..<(payload.upperBound - tag), "ciphertext", "AES-256-GCM; the etcd key is the additional data", depth: 1)
                    add((payload.upperBound - tag)..<payload.upperBound, "tag", "GCM authentication tag", depth: 1)
                } else {
                    guard payload.count >= nonce + tag else { problems.append("encryptedData is shorter than nonce(\(nonce)) + tag(\(tag))"); continue }
                    add(payload.lowerBound..<(payload.lowerBound + nonce), "nonce", "AES-GCM nonce", depth: 1)
                    add((payload.lowerBound + nonce)..<(payload.upperBound - tag), "ciphertext", "AES-256-GCM under the DEK; the etcd key is the additional data", depth: 1)
                    add((payload.upperBound - tag)..<payload.upperBound, "tag", "GCM authentication tag", depth: 1)
                }
            case (2, let payload?):
                add(field.range, "keyID \"\(EscapedBytes.string(value[payload]))\" (field 2)", "the KMS key that wrapped the DEK source, as the plugin's Status reported it")
            case (3, let payload?):
                add(field.range, "encryptedDEKSource (field 3, \(payload.count)-byte payload)", "the DEK or seed, wrapped by the KMS plugin")
            case (4, let payload?):
                let entry = (try? ProtobufField.fields(of: value, in: payload)) ?? []
                let nameField = entry.first { $0.number == 1 }?.payload
                let name = nameField.map { EscapedBytes.string(value[$0]) } ?? "?"
                let size = entry.first { $0.number == 2 }?.payload?.count ?? 0
                add(field.range, "annotation \"\(name)\" (field 4, \(size)-byte value)", "map<string, bytes> entry from the KMS plugin")
            case (5, nil):
                let name = sourceType == 0 ? "AES_GCM_KEY" : sourceType == 1 ? "HKDF_SHA256_XNONCE_AES_GCM_SEED" : "unknown \(sourceType)"
                add(field.range, "encryptedDEKSourceType = \(name) (field 5)", "what encryptedDEKSource holds: a DEK (0) or an HKDF seed (1)")
            default:
                add(field.range, "unknown field \(field.number)", "not in api.proto")
            }
        }
        if !fields.contains(where: { $0.number == 5 }) {
            problems.append("no field 5: encryptedDEKSourceType is AES_GCM_KEY (proto3 omits 0)")
        }
    }

    // MARK: Plaintext

    mutating func protobufPlaintext() {
        layout = "plaintext, Kubernetes protobuf"
        add(0..<4, "magic k8s\\x00", "protobuf encoding prefix (apimachinery pkg/runtime/serializer/protobuf/protobuf.go)")
        let fields: [ProtobufField]
        do {
            fields = try ProtobufField.fields(of: value, in: 4..<value.count)
        } catch {
            add(4..<value.count, "malformed runtime.Unknown", "not protobuf: \(error)")
            problems.append("runtime.Unknown is not valid protobuf: \(error)")
            return
        }
        // The object's kind names its fields; TypeMeta (field 1) comes before raw (field 2).
        var kind: String?
        for field in fields {
            switch (field.number, field.payload) {
            case (1, let payload?):
                add(field.range, "typeMeta (field 1)", "runtime.TypeMeta", depth: 0)
                for inner in (try? ProtobufField.fields(of: value, in: payload)) ?? [] {
                    let text = inner.payload.map { EscapedBytes.string(value[$0]) } ?? ""
                    switch inner.number {
                    case 1: add(inner.range, "apiVersion \"\(text)\"", "TypeMeta field 1", depth: 1)
                    case 2:
                        kind = text
                        add(inner.range, "kind \"\(text)\"", "TypeMeta field 2", depth: 1)
                    default: add(inner.range, "TypeMeta field \(inner.number)", "unknown", depth: 1)
                    }
                }
            case (2, let payload?):
                add(field.range, "raw (field 2, \(payload.count)-byte payload)", "the versioned object, protobuf", depth: 0)
                for inner in (try? ProtobufField.fields(of: value, in: payload)) ?? [] {
                    if inner.number == 1 {
                        add(inner.range, "metadata (ObjectMeta, field 1)", "object field 1", depth: 1)
                    } else {
                        let (label, detail) = Self.objectField(inner.number, kind: kind)
                        add(inner.range, label, detail, depth: 1)
                    }
                }
            case (3, _):
                add(field.range, "contentEncoding (field 3)", "runtime.Unknown; written empty")
            case (4, _):
                add(field.range, "contentType (field 4)", "runtime.Unknown; written empty")
            default:
                add(field.range, "unknown field \(field.number)", "not in runtime.Unknown")
            }
        }
    }

    /// The fields of the kinds whose fields inspect names (k8s.io/api `core/v1/generated.proto`).
    static let namedObjectFields: [String: [UInt32: String]] = [
        "Secret": [2: "data", 3: "type", 4: "stringData", 5: "immutable"],
        "ConfigMap": [2: "data", 3: "binaryData", 4: "immutable"],
    ]

    /// The label and legend text of field `number` of an object of `kind` (from its TypeMeta).
    static func objectField(_ number: UInt32, kind: String?) -> (label: String, detail: String) {
        guard let kind, !kind.isEmpty else {
            return ("object field \(number)", "a field of the object (its TypeMeta names no kind)")
        }
        if let name = namedObjectFields[kind]?[number] {
            return ("object field \(number) (\(name))", "\(kind).\(name) (k8s.io/api core/v1 generated.proto)")
        }
        return ("object field \(number)", "field \(number) of the \(kind) object (k8s.io/api generated.proto)")
    }

    mutating func jsonPlaintext() {
        layout = "plaintext, JSON"
        var end = value.count
        if value.last == UInt8(ascii: "\n") {
            end -= 1
        }
        add(0..<end, "JSON object", "the object as JSON (CRDs, custom resources, --storage-media-type=application/json)")
        if end < value.count {
            add(end..<value.count, "newline", "json.Encoder.Encode ends every document with \\n")
        }
    }
}

/// A protobuf field with its byte ranges in the value (not just in its message),
/// for labelling; built on `ProtobufReader`.
struct ProtobufField {
    var number: UInt32
    /// Tag, length and payload.
    var range: Range<Int>
    /// Length-delimited fields: the payload.
    var payload: Range<Int>?
    var varint: UInt64?

    /// The fields of the message at `range` of `bytes`, in order.
    static func fields(of bytes: [UInt8], in range: Range<Int>) throws(ProtobufError) -> [ProtobufField] {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else { return [] }
        // `withUnsafeBytes` rethrows untyped errors; carry the typed one out in a Result.
        let result = bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Result<[ProtobufField], ProtobufError> in
            var reader = ProtobufReader(UnsafeRawBufferPointer(rebasing: raw[range]))
            var fields: [ProtobufField] = []
            do throws(ProtobufError) {
                while let field = try reader.next() {
                    let end = range.lowerBound + reader.offset
                    var result = ProtobufField(number: field.number, range: (range.lowerBound + field.offset)..<end, payload: nil, varint: nil)
                    switch field.value {
                    case .bytes(let view): result.payload = (end - view.count)..<end
                    case .varint(let raw): result.varint = raw
                    default: break
                    }
                    fields.append(result)
                }
            } catch {
                return .failure(error)
            }
            return .success(fields)
        }
        return try result.get()
    }
}
