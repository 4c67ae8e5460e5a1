/// Streams `etcdctl get -w json` output (and the grpc-gateway `/v3/kv/range`
/// JSON) into a sink, one key-value at a time.
///
/// What it accepts, and why (etcdctl `printer_json.go`: `json.Marshal` of the
/// gogo `RangeResponse`, every field `omitempty`, then `fmt.Println`):
/// * one document or several concatenated ones (a paginated export), each
///   `{"header":{...},"kvs":[...],"more":true,"count":N}` with members in any
///   order; unknown members are skipped whatever their nesting;
/// * 64-bit integers exact, bare (etcdctl) or quoted (grpc-gateway, proto3 JSON
///   mapping); `cluster_id`, `member_id` and `lease` routinely exceed 2^53, so a
///   `Double` round trip would corrupt them;
/// * `key`/`value` in strict standard base64, decoded straight from the read
///   buffer; an absent `value` is empty, an absent `lease` is 0 (`omitempty`).
///
/// A `kvs` element without `key` is refused (`.missingKey`), not dropped. Keys
/// already delivered by an earlier page are refused (`.duplicateKey`).
///
/// A document without `header` (or with `"header":null`) is not an export: the
/// server fills the header of every response (`v3rpc/key.go` `Range`:
/// `s.hdr.fill(resp.Header)`), and a nil pointer would be omitted, never `null`.
/// Strings must be UTF-8 (`encoding/json` never writes anything else) and at most
/// `JSONScanner.maxStringBytes` long.
struct EtcdJSONReader {
    struct Result {
        var metadata: ExportMetadata
        var pages: [PaginationCheck.Page]
    }

    private static let documentMembers: [[UInt8]] = ["header", "kvs", "more", "count"].map { Array($0.utf8) }
    private static let headerMembers: [[UInt8]] = ["cluster_id", "member_id", "revision", "raft_term"].map { Array($0.utf8) }
    private static let kvMembers: [[UInt8]] = ["key", "value", "create_revision", "mod_revision", "version", "lease"].map { Array($0.utf8) }

    let scanner: JSONScanner
    /// Every value is decoded into this one buffer, handed to the sink and taken back:
    /// a sink that keeps no copy leaves it to be reused in place for the next value.
    private var valueBuffer: [UInt8] = []

    init(stream: ByteStream) {
        scanner = JSONScanner(stream: stream)
    }

    /// Reads every document to the end of the input. `firstPageIndex` numbers
    /// pages across inputs for messages.
    mutating func read<S: DumpSink>(into sink: inout S, guard keys: inout PageKeyGuard, firstPageIndex: Int = 1) throws -> Result {
        var metadata = ExportMetadata(format: .etcdctlJSON)
        var pages: [PaginationCheck.Page] = []
        while let byte = try scanner.peekNonWhitespace() {
            guard byte == 0x7B else {
                throw scanner.malformed(pages.isEmpty ? "expected '{' to start a JSON document" : "expected '{' to start the next JSON document or the end of input")
            }
            let page = try readDocument(into: &sink, keys: &keys, metadata: &metadata, index: firstPageIndex + pages.count)
            pages.append(page)
        }
        guard !pages.isEmpty else {
            throw DumpError(.unknownFormat, file: scanner.name, at: .file, "empty input")
        }
        metadata.documents = pages.count
        if scanner.sawQuotedInteger { metadata.format = .gatewayJSON }
        return Result(metadata: metadata, pages: pages)
    }

    private struct Header {
        var clusterID: UInt64?
        var memberID: UInt64?
        var revision: Int64?
        var raftTerm: UInt64?
    }

    private mutating func readDocument<S: DumpSink>(into sink: inout S, keys: inout PageKeyGuard, metadata: inout ExportMetadata, index: Int) throws -> PaginationCheck.Page {
        let context = "a JSON document"
        let documentStart = scanner.offset
        scanner.consume()  // '{'
        var seen = [Bool](repeating: false, count: EtcdJSONReader.documentMembers.count)
        var header = Header()
        var more = false
        var count: Int64?
        var received: Int64 = 0
        keys.beginPage()
        if try scanner.nextToken(in: context) == 0x7D {
            scanner.consume()
        } else {
            while true {
                let nameOffset = scanner.offset
                guard try scanner.nextToken(in: context) == 0x22 else { throw scanner.malformed("expected a member name in a JSON document") }
                let member = try scanner.readMemberName(EtcdJSONReader.documentMembers, context: context)
                try scanner.expect(0x3A, in: context, "expected ':' after a member name")
                if let member {
                    if seen[member] { throw scanner.malformed("duplicate member \"\(String(decoding: EtcdJSONReader.documentMembers[member], as: UTF8.self))\" in a document", at: nameOffset) }
                    seen[member] = true
                }
                switch member {
                case 0: header = try readHeader()
                case 1: received = try readKVs(into: &sink, keys: &keys)
                case 2: more = try scanner.readBool(context: "\"more\"")
                case 3: count = try scanner.readNullIfPresent(context: "\"count\"") ? nil : scanner.readInt64(context: "\"count\"")
                default: try scanner.skipValue(context: context)
                }
                let next = try scanner.nextToken(in: context)
                scanner.consume()
                if next == 0x2C { continue }
                if next == 0x7D { break }
                throw scanner.malformed("expected ',' or '}' in a JSON document", at: scanner.offset - 1)
            }
        }
        guard seen[0] else {
            throw DumpError(.unknownFormat, file: scanner.name, at: .byte(documentStart),
                            "a JSON document without \"header\": not etcdctl -w json or grpc-gateway output, which always carry the response header")
        }
        // Merge into the input's metadata.
        if let id = header.clusterID {
            if let known = metadata.clusterID, known != id {
                throw DumpError(.inconsistentExport, file: scanner.name, at: .byte(documentStart),
                                "documents come from different clusters (cluster_id \(known) then \(id))")
            }
            metadata.clusterID = id
        }
        if metadata.memberID == nil { metadata.memberID = header.memberID }
        if let revision = header.revision { metadata.revision = max(metadata.revision ?? revision, revision) }
        if let term = header.raftTerm { metadata.raftTerm = max(metadata.raftTerm ?? term, term) }
        if let count { metadata.declaredCount = max(metadata.declaredCount ?? count, count) }
        if more { metadata.more = true }
        let page = PaginationCheck.Page(index: index, firstKey: keys.pageLowKey, received: received, more: more, count: count)
        keys.endPage()
        return page
    }

    private func readHeader() throws -> Header {
        let context = "\"header\""
        var header = Header()
        try scanner.expect(0x7B, in: context, "expected '{' for \"header\"")
        if try scanner.nextToken(in: context) == 0x7D { scanner.consume(); return header }
        var seen = [Bool](repeating: false, count: EtcdJSONReader.headerMembers.count)
        while true {
            let nameOffset = scanner.offset
            guard try scanner.nextToken(in: context) == 0x22 else { throw scanner.malformed("expected a member name in \"header\"") }
            let member = try scanner.readMemberName(EtcdJSONReader.headerMembers, context: context)
            try scanner.expect(0x3A, in: context, "expected ':' after a member name in \"header\"")
            if let member {
                if seen[member] { throw scanner.malformed("duplicate member in \"header\"", at: nameOffset) }
                seen[member] = true
            }
            switch member {
            case 0: header.clusterID = try scanner.readUInt64(context: "header.cluster_id")
            case 1: header.memberID = try scanner.readUInt64(context: "header.member_id")
            case 2: header.revision = try scanner.readInt64(context: "header.revision")
            case 3: header.raftTerm = try scanner.readUInt64(context: "header.raft_term")
            default: try scanner.skipValue(context: context)
            }
            let next = try scanner.nextToken(in: context)
            scanner.consume()
            if next == 0x2C { continue }
            if next == 0x7D { return header }
            throw scanner.malformed("expected ',' or '}' in \"header\"", at: scanner.offset - 1)
        }
    }

    /// Reads the `kvs` array, delivering each element; returns how many there were.
    private mutating func readKVs<S: DumpSink>(into sink: inout S, keys: inout PageKeyGuard) throws -> Int64 {
        let context = "the kvs array"
        if try scanner.readNullIfPresent(context: context) { return 0 }
        try scanner.expect(0x5B, in: context, "expected '[' for \"kvs\"")
        var received: Int64 = 0
        if try scanner.nextToken(in: context) == 0x5D { scanner.consume(); return 0 }
        while true {
            try readKV(into: &sink, keys: &keys)
            received += 1
            let next = try scanner.nextToken(in: context)
            scanner.consume()
            if next == 0x2C { continue }
            if next == 0x5D { return received }
            throw scanner.malformed("expected ',' or ']' in kvs array", at: scanner.offset - 1)
        }
    }

    private mutating func readKV<S: DumpSink>(into sink: inout S, keys: inout PageKeyGuard) throws {
        let context = "a kvs element"
        let start = scanner.offset
        guard try scanner.nextToken(in: context) == 0x7B else { throw scanner.malformed("expected '{' for a kvs element") }
        scanner.consume()
        var key: [UInt8]?
        var entry = KeyValue(key: [], value: [])
        // The last value's bytes stay until this one's replace them (decoding in place);
        // an element without a value, or with a null one, gets an empty value.
        swap(&entry.value, &valueBuffer)
        defer { swap(&entry.value, &valueBuffer) }
        var valueRead = false
        if try scanner.nextToken(in: context) == 0x7D {
            scanner.consume()
        } else {
            var seen: UInt8 = 0
            while true {
                let nameOffset = scanner.offset
                guard try scanner.nextToken(in: context) == 0x22 else { throw scanner.malformed("expected a member name in a kvs element") }
                let member = try scanner.readMemberName(EtcdJSONReader.kvMembers, context: context)
                try scanner.expect(0x3A, in: context, "expected ':' after a member name in a kvs element")
                if let member {
                    let bit: UInt8 = 1 << UInt8(member)
                    if seen & bit != 0 { throw scanner.malformed("duplicate member in a kvs element", at: nameOffset) }
                    seen |= bit
                }
                switch member {
                case 0: key = try scanner.readNullIfPresent(context: "key") ? nil : scanner.readBase64(context: "key")
                case 1:
                    if try !scanner.readNullIfPresent(context: "value") {
                        try scanner.readBase64(context: "value", into: &entry.value)
                        valueRead = true
                    }
                case 2: entry.createRevision = try scanner.readInt64(context: "create_revision")
                case 3: entry.modRevision = try scanner.readInt64(context: "mod_revision")
                case 4: entry.version = try scanner.readInt64(context: "version")
                case 5: entry.lease = try scanner.readInt64(context: "lease")
                default: try scanner.skipValue(context: context)
                }
                let next = try scanner.nextToken(in: context)
                scanner.consume()
                if next == 0x2C { continue }
                if next == 0x7D { break }
                throw scanner.malformed("expected ',' or '}' in a kvs element", at: scanner.offset - 1)
            }
        }
        if !valueRead { entry.value.removeAll(keepingCapacity: true) }
        guard let key else {
            try sink.refused(Refusal(reason: .missingKey, file: scanner.name, location: .byte(start)))
            return
        }
        guard keys.admit(key) else {
            try sink.refused(Refusal(reason: .duplicateKey, file: scanner.name, location: .byte(start), key: key))
            return
        }
        entry.key = key
        try sink.live(entry)
    }
}
