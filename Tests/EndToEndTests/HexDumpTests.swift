import AtRestTestSupport
import Foundation
import Testing

/// `atrest inspect --raw` is `hexdump -C`, byte for byte.
///
/// Each value is written to a temporary file and given to the real `hexdump -C`
/// (Debian `bsdextrautils`, util-linux); atrest's output for the same value must
/// be identical. Values: every value of the etcd fixture, every value of the audit
/// fixture, and edge sizes around the 16-byte line (0, 1, 15, 16, 17, 32, 33,
/// and longer runs of repeated lines, which `hexdump -C` collapses to `*`).
@Suite struct HexDumpTests {
    static let hexdump = "/usr/bin/hexdump"

    /// What the real tool prints for `bytes` (C locale: printable = 0x20-0x7e).
    static func realHexdump(_ bytes: [UInt8], in directory: URL) throws -> String {
        let file = directory.appendingPathComponent("value-\(UUID().uuidString)")
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: hexdump)
        process.arguments = ["-C", file.path]
        process.environment = ["LC_ALL": "C"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return String(decoding: data, as: UTF8.self)
    }

    /// An etcdctl `-w json` document holding `entries` (sorted by key, base64; an empty value has no `value` member, as etcdctl writes it).
    static func jsonExport(_ entries: [(key: [UInt8], value: [UInt8])]) -> [UInt8] {
        let sorted = entries.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        let kvs = sorted.enumerated().map { index, entry in
            let value = entry.value.isEmpty ? "" : ",\"value\":\"\(Data(entry.value).base64EncodedString())\""
            return "{\"key\":\"\(Data(entry.key).base64EncodedString())\",\"create_revision\":\(index + 2),\"mod_revision\":\(index + 2),\"version\":1\(value)}"
        }
        return Array(("{\"header\":{\"cluster_id\":1,\"member_id\":2,\"revision\":\(sorted.count + 1),\"raft_term\":2},"
            + "\"kvs\":[\(kvs.joined(separator: ","))],\"count\":\(sorted.count)}\n").utf8)
    }

    /// Indexes `export` once, then compares `inspect --raw` with `hexdump -C` for every entry.
    static func expectRawMatchesHexdump(export: String, entries: [(key: [UInt8], value: [UInt8])]) throws {
        try #require(FileManager.default.isExecutableFile(atPath: hexdump), "install bsdextrautils for hexdump")
        let directory = try Fixtures.temporaryDirectory("hexdump")
        defer { try? FileManager.default.removeItem(at: directory) }
        let index = directory.appendingPathComponent("index").path
        let indexed = try AtRestBinary.run(["index", export, "--index", index])
        try #require(indexed.status == 0, "\(indexed.stderr)")
        for entry in entries {
            let hex = entry.key.map { String(format: "%02x", $0) }.joined()
            let result = try AtRestBinary.run(["inspect", "--index", index, "--key-hex", hex, "--raw", "--reveal"])
            #expect(result.status == 0, "\(result.stderr)")
            let expected = try realHexdump(entry.value, in: directory)
            #expect(result.stdout == expected, "key \(String(decoding: entry.key, as: UTF8.self)), \(entry.value.count) bytes")
        }
    }

    struct NotBase64: Error {}

    /// A base64 string member, decoded.
    static func base64(_ member: Any?) throws -> [UInt8] {
        guard let text = member as? String, let data = Data(base64Encoded: text) else { throw NotBase64() }
        return [UInt8](data)
    }

    static func entries(ofJSONExport bytes: [UInt8]) throws -> [(key: [UInt8], value: [UInt8])] {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let kvs = try #require(document["kvs"] as? [[String: Any]])
        // etcdctl omits `value` for an empty value.
        return try kvs.map { kv in (try base64(kv["key"]), kv["value"] == nil ? [] : try base64(kv["value"])) }
    }

    /// The `{key, value}` pairs of `testdata/audit/entries.json`.
    static func auditEntries() throws -> [(key: [UInt8], value: [UInt8])] {
        let fixture = try #require(try JSONSerialization.jsonObject(with: Data(Fixtures.bytes("audit/entries.json"))) as? [[String: Any]])
        return try fixture.map { entry in (try base64(entry["key"]), try base64(entry["value"])) }
    }

    @Test func rawEqualsHexdumpForEveryValueOfTheEtcdFixture() throws {
        let entries = try Self.entries(ofJSONExport: try Fixtures.bytes("etcd/export.json"))
        #expect(entries.count == 24)
        try Self.expectRawMatchesHexdump(export: Fixtures.path("etcd/export.json"), entries: entries)
    }

    @Test func rawEqualsHexdumpForEveryValueOfTheAuditFixture() throws {
        let entries = try Self.auditEntries()
        let directory = try Fixtures.temporaryDirectory("hexdump-audit")
        defer { try? FileManager.default.removeItem(at: directory) }
        let export = directory.appendingPathComponent("export.json")
        try Data(Self.jsonExport(entries)).write(to: export)
        try Self.expectRawMatchesHexdump(export: export.path, entries: entries)
    }

    @Test func rawEqualsHexdumpAtLineBoundariesAndForRepeatedLines() throws {
        let line = Array("0123456789abcdef".utf8)
        let other = [UInt8](repeating: 0x41, count: 16)
        var entries: [(key: [UInt8], value: [UInt8])] = []
        for size in [0, 1, 15, 16, 17, 32, 33] {
            entries.append((Array("/edge/zeros-\(size)".utf8), [UInt8](repeating: 0, count: size)))
            entries.append((Array("/edge/text-\(size)".utf8), Array((line + line + line).prefix(size))))
        }
        // Two runs of repeated lines, a distinct line between them, and a short tail.
        entries.append((Array("/edge/runs".utf8), line + line + line + other + other + other + other + line + [0x00, 0xff, 0x7f, 0x20, 0x7e]))
        // Full lines that repeat up to the very end: `*` then the length line.
        entries.append((Array("/edge/repeat-to-end".utf8), other + other + other))
        // Every byte value, so the ASCII column's printable range is checked at both ends.
        entries.append((Array("/edge/all-bytes".utf8), (0...255).map { UInt8($0) }))
        let directory = try Fixtures.temporaryDirectory("hexdump-edges")
        defer { try? FileManager.default.removeItem(at: directory) }
        let export = directory.appendingPathComponent("edges.json")
        try Data(Self.jsonExport(entries)).write(to: export)
        try Self.expectRawMatchesHexdump(export: export.path, entries: entries)
    }

    @Test func rawOfAnEmptyValuePrintsNothingLikeHexdump() throws {
        let directory = try Fixtures.temporaryDirectory("hexdump-empty")
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try Self.realHexdump([], in: directory) == "")
        let result = try AtRestBinary.run(["inspect", Fixtures.path("etcd/export.json"), "/other/empty", "--raw"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "")
    }
}
