import AtRestTestSupport
import Foundation
import Testing

/// Sentences of the text reports say what they mean once, about the object at hand.
@Suite struct ReportWordingTests {
    @Test func statsSaysOnceThatAHexExportsCompletenessCannotBeChecked() throws {
        let result = try AtRestBinary.run(["stats", Fixtures.path("etcd/export.hex.txt")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\nnote     etcdctl --hex output carries no count: completeness cannot be checked\n"), "\(result.stdout)")
        #expect(result.stdout.components(separatedBy: "completeness cannot be checked").count == 2, "\(result.stdout)")
    }

    /// Protobuf field `number` (length-delimited) holding `bytes` (short).
    static func field(_ number: UInt8, _ bytes: [UInt8]) -> [UInt8] { [number << 3 | 2, UInt8(bytes.count)] + bytes }

    /// An object as the apiserver stores it: `k8s\0` + runtime.Unknown{typeMeta{v1, kind}, raw{metadata, fields}}.
    static func object(kind: String, fields: [UInt8]) -> [UInt8] {
        [0x6B, 0x38, 0x73, 0x00] + field(1, field(1, Array("v1".utf8)) + field(2, Array(kind.utf8)))
            + field(2, field(1, field(1, Array("o".utf8)) + field(3, Array("default".utf8))) + fields)
    }

    /// `inspect` of the one key of an export holding `value` under `key`.
    static func inspect(key: String, value: [UInt8], _ extra: [String] = []) throws -> AtRestBinary.Result {
        let directory = try Fixtures.temporaryDirectory("wording")
        defer { try? FileManager.default.removeItem(at: directory) }
        let export = directory.appendingPathComponent("export.json")
        let document = #"{"header":{"revision":3},"kvs":[{"key":"\#(Data(key.utf8).base64EncodedString())","create_revision":2,"mod_revision":2,"version":1,"value":"\#(Data(value).base64EncodedString())"}],"count":1}"#
        try Data(document.utf8).write(to: export)
        return try AtRestBinary.run(["inspect", export.path, key] + extra)
    }

    @Test func inspectLabelsTheFieldsOfAPodAsAPodsNotASecrets() throws {
        let pod = Self.object(kind: "Pod", fields: Self.field(2, Array("spec".utf8)) + Self.field(3, Array("status".utf8)))
        let result = try Self.inspect(key: "/registry/pods/default/o", value: pod)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("field 2 of the Pod object"), "\(result.stdout)")
        #expect(result.stdout.contains("field 3 of the Pod object"), "\(result.stdout)")
        #expect(!result.stdout.contains("Secret"), "\(result.stdout)")
    }

    @Test func inspectNamesTheFieldsOfASecret() throws {
        let secret = Self.object(kind: "Secret", fields: Self.field(2, Self.field(1, Array("k".utf8)) + Self.field(2, Array("v".utf8)))
                                 + Self.field(3, Array("Opaque".utf8)))
        // A Secret stored in plaintext is dumped only with --reveal.
        let result = try Self.inspect(key: "/registry/secrets/default/o", value: secret, ["--reveal"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("<-   object field 2 (data)"), "\(result.stdout)")
        #expect(result.stdout.contains("<-   object field 3 (type)"), "\(result.stdout)")
    }
}
