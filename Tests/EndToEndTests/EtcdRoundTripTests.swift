import Foundation
import Testing
import AtRestDump
import AtRestTestSupport

/// Every reader must yield exactly what `etcdctl get "" --prefix -w json` says.
///
/// The live test writes a Kubernetes-like key space into a throwaway etcd
/// (`EtcdServer`: loopback, free ports, private data dir, stopped by pid), exports
/// it with etcdctl in every format atrest reads, and compares each reader's output
/// with the reference JSON, parsed here by a tiny exact JSON parser (leases and
/// cluster IDs exceed 2^53, so no Double on the way).
@Suite struct EtcdRoundTripTests {

    // MARK: Live etcd

    @Test(.enabled(if: EtcdServer.shouldRun, "etcd is not installed (set CI=true to make this a failure)"),
          .timeLimit(.minutes(5)))
    func everyExportFormatMatchesJSON() throws {
        let server = try EtcdServer()
        defer { server.stop() }
        let dir = try Fixtures.temporaryDirectory("etcd-export")
        defer { try? FileManager.default.removeItem(at: dir) }

        let written = try writeKeySpace(server)

        // The reference, and a check that the helper wrote every byte exactly.
        let referenceBytes = try server.etcdctlChecked(raw: args("get", "", "--prefix", "-w", "json"))
        let reference = try EtcdctlJSON(referenceBytes)
        #expect(reference.count == Int64(reference.kvs.count))
        #expect(!reference.more)
        #expect(Dictionary(uniqueKeysWithValues: reference.kvs.map { ($0.key, $0.value) }) == written.values)
        #expect(reference.kvs.contains { $0.lease == written.lease && $0.lease > 1 << 53 })
        #expect(reference.kvs.contains { $0.value.count > 1 << 20 })

        // One file per format.
        func save(_ name: String, _ arguments: String...) throws -> String {
            let path = dir.appendingPathComponent(name).path
            let out = try server.etcdctlChecked(raw: arguments.map { Array($0.utf8) })
            try Data(out).write(to: URL(fileURLWithPath: path))
            return path
        }
        let json = dir.appendingPathComponent("export.json").path
        try Data(referenceBytes).write(to: URL(fileURLWithPath: json))
        let fields = try save("export.fields.txt", "get", "", "--prefix", "-w", "fields")
        let hex = try save("export.hex.txt", "get", "", "--prefix", "--hex")
        let simple = try save("export.simple.txt", "get", "", "--prefix")
        let snapshot = dir.appendingPathComponent("snapshot.db").path
        try server.snapshotSave(to: snapshot)
        let pages = try savePages(server, reference: reference, limit: 4, into: dir)
        #expect(pages.count > 2)

        try expectLive(read([json]), equal: reference.kvs, label: "-w json")
        try expectLive(read([fields]), equal: reference.kvs, label: "-w fields")
        try expectLive(read(pages), equal: reference.kvs, label: "paginated -w json")
        try expectLive(read([hex]), equal: reference.kvs, keysAndValuesOnly: true, label: "--hex")
        try expectLive(read([snapshot]), equal: reference.kvs, label: "snapshot save")
        try expectSimpleRefusedOrExact(simple, reference: reference.kvs)

        #expect(try read([json]).summary.completeness == .complete)
        #expect(try read(pages).summary.completeness == .complete)
        #expect(try read([fields]).summary.completeness == .complete)
        let snap = try read([snapshot])
        #expect(snap.sink.historyCount > reference.kvs.count, "the snapshot holds history (overwrites, deletes)")
        #expect(snap.sink.tombstones == 2, "gone and recreated were deleted")
        #expect(snap.summary.inputs.first?.metadata.trailer == .verified)
        #expect(snap.summary.inputs.first?.metadata.revision == reference.revision)
        // The first, plaintext copy of s1 lives on in the snapshot's history.
        #expect(snap.sink.historyValues.contains { $0.key == Array("/registry/secrets/default/s1".utf8) && $0.value.starts(with: Array("k8s\0".utf8)) })
        expectTxnRevisions(snap.sink)
    }

    // MARK: Committed fixtures (no server)

    @Test func committedFixturesAgree() throws {
        let reference = try EtcdctlJSON(Fixtures.bytes("etcd/export.json"))
        #expect(reference.count == Int64(reference.kvs.count))
        #expect(reference.kvs.count == 24)
        #expect(reference.kvs.contains { $0.lease == 7_587_861_231_683_425_117 })
        let path = { (name: String) in Fixtures.path("etcd/\(name)") }
        let pageNames = try FileManager.default.contentsOfDirectory(atPath: Fixtures.path("etcd"))
            .filter { $0.hasPrefix("page-") && $0.hasSuffix(".json") }
            .sorted { Int($0.dropFirst(5).dropLast(5))! < Int($1.dropFirst(5).dropLast(5))! }
        #expect(pageNames.count >= 2)

        try expectLive(read([path("export.json")]), equal: reference.kvs, label: "export.json")
        try expectLive(read([path("export.fields.txt")]), equal: reference.kvs, label: "export.fields.txt")
        try expectLive(read([path("gateway.json")]), equal: reference.kvs, label: "gateway.json")
        try expectLive(read(pageNames.map(path)), equal: reference.kvs, label: "page-*.json")
        try expectLive(read([path("export.hex.txt")]), equal: reference.kvs, keysAndValuesOnly: true, label: "export.hex.txt")
        try expectLive(read([path("snapshot.db")]), equal: reference.kvs, label: "snapshot.db")
        try expectLive(read([path("member-snap.db")]), equal: reference.kvs, label: "member-snap.db")
        try expectSimpleRefusedOrExact(path("export.simple.txt"), reference: reference.kvs)

        #expect(try read(pageNames.map(path)).summary.completeness == .complete)
        #expect(try read([path("snapshot.db")]).summary.inputs.first?.metadata.trailer == .verified)
        #expect(try read([path("member-snap.db")]).summary.inputs.first?.metadata.trailer == .absent)
        #expect(try read([path("snapshot.db")]).summary.inputs.first?.metadata.revision == reference.revision)
        let snap = try read([path("snapshot.db")]).sink
        #expect(snap.historyCount == 30, "revisions 2...30, two entries at 26 (the txn): 28 puts + 2 tombstones")
        #expect(snap.tombstones == 2)
        let s1 = Array("/registry/secrets/default/s1".utf8)
        #expect(snap.historyValues.filter { $0.key == s1 }.map { Array($0.value.prefix(4)) } == [Array("k8s\0".utf8), Array("k8s\0".utf8), Array("k8s:".utf8)])
        expectTxnRevisions(snap)
    }

    /// The reference parser keeps 64-bit integers exact (jq and Double do not).
    @Test func referenceParserIsExact() throws {
        let doc = try EtcdctlJSON(Array(#"{"header":{"cluster_id":18446744073709551615,"member_id":1,"revision":9,"raft_term":2},"kvs":[{"key":"YQ==","create_revision":2,"mod_revision":3,"version":2,"value":"AAo=","lease":9223372036854775807},{"key":"Yg==","create_revision":4,"mod_revision":4,"version":1}],"count":2}"#.utf8) + [0x0A])
        #expect(doc.clusterID == UInt64.max)
        #expect(doc.revision == 9)
        #expect(doc.kvs == [KeyValue(key: [0x61], value: [0, 0x0A], createRevision: 2, modRevision: 3, version: 2, lease: Int64.max),
                            KeyValue(key: [0x62], value: [], createRevision: 4, modRevision: 4, version: 1)])
    }
}

// MARK: - Writing the key space

private struct WrittenKeySpace {
    var values: [[UInt8]: [UInt8]] = [:]
    var lease: Int64 = 0
}

private func args(_ words: String...) -> [[UInt8]] { words.map { Array($0.utf8) } }

/// Deterministic random-looking bytes (SplitMix64), with NUL and newline forced in.
private func noise(_ seed: UInt64, _ count: Int) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15
    var out: [UInt8] = []
    out.reserveCapacity(count + 8)
    while out.count < count {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        withUnsafeBytes(of: z) { out += $0 }
    }
    out.removeLast(out.count - count)
    if count > 12 { out[3] = 0x00; out[11] = 0x0A; out[12] = 0x00 }
    return out
}

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Writes the key space (same shape as testdata/etcd/make-fixtures.sh, plus a
/// value over 1 MiB) and returns what the live set must be.
private func writeKeySpace(_ server: EtcdServer) throws -> WrittenKeySpace {
    var live = WrittenKeySpace()
    func put(_ key: [UInt8], _ value: [UInt8], lease: Int64? = nil) throws {
        try server.put(key, value, lease: lease)
        live.values[key] = value
    }
    func delete(_ key: [UInt8]) throws {
        try server.delete(key)
        live.values[key] = nil
    }
    let s1 = bytes("/registry/secrets/default/s1")
    try put(bytes("compact_rev_key"), bytes("1"))
    try put(s1, bytes("k8s\0") + noise(1, 40))                                // plaintext ...
    try put(bytes("/registry/pods/default/p1"), bytes("k8s\0") + noise(2, 64) + [0x0A])
    try put(s1, bytes("k8s\0") + noise(3, 44))                                // ... still plaintext ...
    try put(bytes("/registry/secrets/kube-system/s2"), bytes("k8s:enc:aesgcm:v1:key2:") + noise(4, 31) + [0x0A])
    try put(bytes("/registry/secrets/default/s3"), bytes("k8s:enc:secretbox:v1:k3:") + noise(5, 40))
    try put(bytes("/registry/secrets/default/gone"), bytes("k8s:enc:aescbc:v1:key1:") + noise(6, 32))
    try put(bytes("/registry/configmaps/default/cm1"), bytes("k8s:enc:kms:v1:my-kms:") + [0, 32] + noise(7, 32) + noise(8, 48))
    try put(bytes("/registry/secrets/default/unknown"), bytes("k8s:enc:rot13:v1:x:") + noise(9, 24))
    try delete(bytes("/registry/secrets/default/gone"))
    let recreated = bytes("/registry/configmaps/default/recreated")
    try put(recreated, bytes("k8s\0first"))
    try put(s1, bytes("k8s:enc:aescbc:v1:key1:") + noise(10, 32))           // ... encrypted
    try delete(recreated)
    try put(bytes("/registry/example.com/widgets/default/w1"), bytes(#"{"apiVersion":"example.com/v1","kind":"Widget"}"#) + [0x0A])
    try put(bytes("/registry/cbor.example.com/things/t1"), [0xD9, 0xD9, 0xF7] + noise(11, 24))
    live.lease = try server.leaseGrant(ttl: 3600)
    try put(bytes("/registry/masterleases/10.0.0.1"), bytes("k8s\0") + noise(12, 16), lease: live.lease)
    try put(recreated, bytes("k8s\0second\n"))
    try put(bytes("/registry/configmaps/default/big"), bytes("k8s\0") + noise(13, 1_200 * 1024))
    // One txn, two keys (same main revision). etcdctl txn un-quotes Go strings: \xNN for every byte.
    let txnA = (bytes("/registry/configmaps/kube-system/txn-a"), bytes("k8s\0txn\na"))
    let txnB = (bytes("/registry/secrets/kube-system/txn-b"), bytes("k8s:enc:aescbc:v1:key1:") + noise(14, 20))
    func quoted(_ raw: [UInt8]) -> String { "\"" + raw.map { "\\x" + String(format: "%02x", $0) }.joined() + "\"" }
    let script = "\nput \(quoted(txnA.0)) \(quoted(txnA.1))\nput \(quoted(txnB.0)) \(quoted(txnB.1))\n\n\n"
    try server.etcdctlChecked(raw: args("txn"), stdin: bytes(script))
    live.values[txnA.0] = txnA.1
    live.values[txnB.0] = txnB.1
    try put(bytes("/other/app/config"), bytes("setting=1\nother=2\n"))
    try put(bytes("/other/weird\nkey"), bytes("value of a key with a newline"))
    try put(bytes("/registry/odd/") + [0xFF, 0xFE], bytes("non-UTF-8 key"))
    try put(bytes("/other/empty"), [])
    try put(bytes("/other/spoof"), bytes("harmless\n/registry/secrets/default/s1\nEVIL"))
    return live
}

/// `etcdctl get --from-key --limit N --rev R -w json` pages at the revision of
/// the reference. The next page should start at `<last key>\x00`, which argv
/// cannot carry; the first key after `<last key>` at R is the same range at R,
/// hence the same answer.
private func savePages(_ server: EtcdServer, reference: EtcdctlJSON, limit: Int, into dir: URL) throws -> [String] {
    let keys = reference.kvs.map(\.key)
    var paths: [String] = []
    var start: [UInt8]? = []
    while let from = start {
        var arguments = args("get") + [from]
        arguments += from.isEmpty ? args("--prefix") : args("--from-key")
        arguments += args("--limit", String(limit), "--rev", String(reference.revision), "-w", "json")
        let out = try server.etcdctlChecked(raw: arguments)
        let path = dir.appendingPathComponent("page-\(paths.count + 1).json").path
        try Data(out).write(to: URL(fileURLWithPath: path))
        paths.append(path)
        let page = try EtcdctlJSON(out)
        guard page.more, let last = page.kvs.last?.key, let index = keys.firstIndex(of: last) else { break }
        start = keys[index + 1]
    }
    return paths
}

// MARK: - Reading and comparing

private struct EtcdSink: DumpSink {
    var live: [KeyValue] = []
    var replayed: [[UInt8]: KeyValue] = [:]
    var historyValues: [KeyValue] = []
    var revisions: [[UInt8]: [Revision]] = [:]
    var historyCount = 0
    var tombstones = 0
    var refusals: [Refusal] = []
    var lastRevision: Revision?
    var outOfOrder = 0

    mutating func live(_ entry: KeyValue) throws { live.append(entry) }

    mutating func history(_ revision: Revision, tombstone: Bool, _ entry: KeyValue) throws {
        if let lastRevision, !(lastRevision < revision) { outOfOrder += 1 }
        lastRevision = revision
        historyCount += 1
        revisions[entry.key, default: []].append(revision)
        if tombstone {
            tombstones += 1
            replayed[entry.key] = nil
        } else {
            replayed[entry.key] = entry
            historyValues.append(entry)
        }
    }

    mutating func refused(_ refusal: Refusal) throws { refusals.append(refusal) }

    /// The live set: `live` entries, or the replayed history of a snapshot.
    var result: [KeyValue] {
        historyCount > 0 ? replayed.values.sorted { $0.key.lexicographicallyPrecedes($1.key) } : live
    }
}

/// The txn's two keys share one main revision, with sub-revisions 0 and 1.
private func expectTxnRevisions(_ sink: EtcdSink, sourceLocation: SourceLocation = #_sourceLocation) {
    let a = sink.revisions[Array("/registry/configmaps/kube-system/txn-a".utf8)] ?? []
    let b = sink.revisions[Array("/registry/secrets/kube-system/txn-b".utf8)] ?? []
    #expect(a.count == 1 && b.count == 1, sourceLocation: sourceLocation)
    if let a = a.first, let b = b.first {
        #expect(a.main == b.main && a.sub == 0 && b.sub == 1, "\(a) \(b)", sourceLocation: sourceLocation)
    }
}

private func read(_ paths: [String]) throws -> (sink: EtcdSink, summary: ExportSummary) {
    var sink = EtcdSink()
    let summary = try ExportReading.read(paths, into: &sink)
    return (sink, summary)
}

private func show(_ key: [UInt8]) -> String {
    String(decoding: key, as: UTF8.self).debugDescription + (key.count > 80 ? "…" : "")
}

private func expectLive(_ got: (sink: EtcdSink, summary: ExportSummary), equal reference: [KeyValue],
                        keysAndValuesOnly: Bool = false, label: String,
                        sourceLocation: SourceLocation = #_sourceLocation) throws {
    let sink = got.sink
    #expect(sink.refusals.isEmpty, "\(label): refusals \(sink.refusals)", sourceLocation: sourceLocation)
    #expect(sink.outOfOrder == 0, "\(label): history not in revision order", sourceLocation: sourceLocation)
    var entries = sink.result
    if keysAndValuesOnly {
        entries = entries.map { KeyValue(key: $0.key, value: $0.value) }
    }
    let expected = keysAndValuesOnly ? reference.map { KeyValue(key: $0.key, value: $0.value) } : reference
    #expect(entries.map(\.key) == expected.map(\.key), "\(label): keys differ", sourceLocation: sourceLocation)
    let byKey = Dictionary(entries.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
    for want in expected {
        guard let have = byKey[want.key] else {
            Issue.record("\(label): missing \(show(want.key))", sourceLocation: sourceLocation)
            continue
        }
        if have != want {
            let message = "\(label): \(show(want.key)) differs: value \(have.value.count)/\(want.value.count) bytes equal=\(have.value == want.value), "
                + "create \(have.createRevision)/\(want.createRevision), mod \(have.modRevision)/\(want.modRevision), "
                + "version \(have.version)/\(want.version), lease \(have.lease)/\(want.lease)"
            Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
        }
    }
}

/// Plain output is accepted only when unambiguous; this key space has newlines
/// in values and keys, so it must be refused, and never read wrongly.
private func expectSimpleRefusedOrExact(_ path: String, reference: [KeyValue],
                                        sourceLocation: SourceLocation = #_sourceLocation) throws {
    do {
        let got = try read([path])
        try expectLive(got, equal: reference, keysAndValuesOnly: true, label: "plain", sourceLocation: sourceLocation)
        Issue.record("plain output with newlines in values was accepted", sourceLocation: sourceLocation)
    } catch let error as DumpError {
        #expect(error.code == .ambiguousPlainOutput, "\(error)", sourceLocation: sourceLocation)
    }
}

// MARK: - The reference: `etcdctl get -w json`, parsed exactly

/// `etcdctl get -w json` output (one document), with integers kept exact.
private struct EtcdctlJSON {
    var clusterID: UInt64 = 0
    var revision: Int64 = 0
    var kvs: [KeyValue] = []
    var count: Int64 = 0
    var more = false

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    init(_ bytes: [UInt8]) throws {
        var parser = MiniJSON(bytes: bytes)
        guard case .object(let root) = try parser.document() else { throw Malformed(description: "not an object") }
        if case .object(let header)? = root["header"] {
            clusterID = try header["cluster_id"].map(Self.uint64) ?? 0
            revision = try header["revision"].map(Self.int64) ?? 0
        }
        count = try root["count"].map(Self.int64) ?? 0
        if case .bool(let flag)? = root["more"] { more = flag }
        if case .array(let items)? = root["kvs"] {
            for item in items {
                guard case .object(let kv) = item else { throw Malformed(description: "kvs element is not an object") }
                kvs.append(KeyValue(key: try kv["key"].map(Self.base64) ?? [],
                                    value: try kv["value"].map(Self.base64) ?? [],
                                    createRevision: try kv["create_revision"].map(Self.int64) ?? 0,
                                    modRevision: try kv["mod_revision"].map(Self.int64) ?? 0,
                                    version: try kv["version"].map(Self.int64) ?? 0,
                                    lease: try kv["lease"].map(Self.int64) ?? 0))
            }
        }
    }

    static func int64(_ value: MiniJSON.Value) throws -> Int64 {
        guard case .number(let text) = value, let n = Int64(text) else { throw Malformed(description: "not an int64: \(value)") }
        return n
    }

    static func uint64(_ value: MiniJSON.Value) throws -> UInt64 {
        guard case .number(let text) = value, let n = UInt64(text) else { throw Malformed(description: "not a uint64: \(value)") }
        return n
    }

    static func base64(_ value: MiniJSON.Value) throws -> [UInt8] {
        guard case .string(let text) = value, let data = Data(base64Encoded: text) else {
            throw Malformed(description: "not base64: \(value)")
        }
        return [UInt8](data)
    }
}

/// Just enough JSON for etcdctl's output: numbers stay as their digits.
private struct MiniJSON {
    enum Value {
        case object([String: Value]), array([Value]), string(String), number(String), bool(Bool), null
    }

    let bytes: [UInt8]
    var at = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func document() throws -> Value {
        let value = try parse()
        skipSpace()
        guard at == bytes.count else { throw EtcdctlJSON.Malformed(description: "trailing bytes at \(at)") }
        return value
    }

    private mutating func skipSpace() {
        while at < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[at]) { at += 1 }
    }

    private mutating func expect(_ byte: UInt8) throws {
        skipSpace()
        guard at < bytes.count, bytes[at] == byte else {
            throw EtcdctlJSON.Malformed(description: "expected \(Character(Unicode.Scalar(byte))) at \(at)")
        }
        at += 1
    }

    private mutating func parse() throws -> Value {
        skipSpace()
        guard at < bytes.count else { throw EtcdctlJSON.Malformed(description: "unexpected end") }
        switch bytes[at] {
        case UInt8(ascii: "{"):
            at += 1
            var members: [String: Value] = [:]
            skipSpace()
            if bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
            repeat {
                guard case .string(let name) = try parse() else { throw EtcdctlJSON.Malformed(description: "member name at \(at)") }
                try expect(UInt8(ascii: ":"))
                members[name] = try parse()
                skipSpace()
                at += 1
            } while bytes[at - 1] == UInt8(ascii: ",")
            guard bytes[at - 1] == UInt8(ascii: "}") else { throw EtcdctlJSON.Malformed(description: "expected } at \(at - 1)") }
            return .object(members)
        case UInt8(ascii: "["):
            at += 1
            var items: [Value] = []
            skipSpace()
            if bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
            repeat {
                items.append(try parse())
                skipSpace()
                at += 1
            } while bytes[at - 1] == UInt8(ascii: ",")
            guard bytes[at - 1] == UInt8(ascii: "]") else { throw EtcdctlJSON.Malformed(description: "expected ] at \(at - 1)") }
            return .array(items)
        case UInt8(ascii: "\""):
            // etcdctl's strings are base64 and ASCII names: no escapes needed.
            let start = at + 1
            guard let end = bytes[start...].firstIndex(of: UInt8(ascii: "\"")) else {
                throw EtcdctlJSON.Malformed(description: "unterminated string at \(at)")
            }
            guard !bytes[start..<end].contains(UInt8(ascii: "\\")) else {
                throw EtcdctlJSON.Malformed(description: "escapes are not expected in etcdctl JSON (at \(at))")
            }
            at = end + 1
            return .string(String(decoding: bytes[start..<end], as: UTF8.self))
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            for (word, value) in [("true", Value.bool(true)), ("false", .bool(false)), ("null", .null)]
            where bytes[at...].starts(with: word.utf8) {
                at += word.utf8.count
                return value
            }
            throw EtcdctlJSON.Malformed(description: "bad literal at \(at)")
        default:
            let start = at
            while at < bytes.count, bytes[at] == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) {
                at += 1
            }
            guard at > start else { throw EtcdctlJSON.Malformed(description: "unexpected byte at \(at)") }
            return .number(String(decoding: bytes[start..<at], as: UTF8.self))
        }
    }
}
