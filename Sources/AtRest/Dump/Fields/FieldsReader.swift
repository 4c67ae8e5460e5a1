/// Streams `etcdctl get -w fields` output into a sink.
///
/// etcdctl `printer_fields.go` prints, one `"Name" : value` line each: the header
/// (`ClusterID`, `MemberID`, `Revision`, `RaftTerm`), then six lines per key
/// (`Key`, `CreateRevision`, `ModRevision`, `Version`, `Value`, `Lease`), then
/// `More` and `Count`. Integers are Go `%d`; `Key`/`Value` are Go `%q`, undone
/// by `GoUnquote` byte for byte. The order is fixed by the printer, so any other
/// order, unknown name or stray line is `.malformedLine`: a file that does not
/// follow it is not etcdctl output and guessing would risk mis-pairing values.
/// Several outputs may be concatenated (pages): a `ClusterID` line after `Count`
/// starts the next one.
struct FieldsReader {
    struct Result {
        var metadata: ExportMetadata
        var pages: [PaginationCheck.Page]
    }

    private enum Name: Int, CaseIterable {
        case clusterID, memberID, revision, raftTerm, key, createRevision, modRevision, version, value, lease, more, count
        var text: String {
            ["ClusterID", "MemberID", "Revision", "RaftTerm", "Key", "CreateRevision", "ModRevision", "Version", "Value", "Lease", "More", "Count"][rawValue]
        }
    }

    private static let names: [[UInt8]] = Name.allCases.map { Array($0.text.utf8) }

    let stream: ByteStream

    init(stream: ByteStream) {
        self.stream = stream
    }

    func read<S: DumpSink>(into sink: inout S, guard keys: inout PageKeyGuard, firstPageIndex: Int = 1) throws -> Result {
        var metadata = ExportMetadata(format: .fields)
        var pages: [PaginationCheck.Page] = []
        var lineNumber = 0
        // What the next line must be; nil = a new document or end of input.
        var expected: [Name] = [.clusterID]
        var entry = KeyValue(key: [], value: [])
        var received: Int64 = 0
        var more = false
        var inDocument = false
        var lastLocation = Location.line(1, byte: 0)

        func fail(_ message: String, _ location: Location) -> DumpError {
            DumpError(.malformedLine, file: stream.name, at: location, message)
        }

        while let line = try stream.nextLine() {
            lineNumber += 1
            let location = Location.line(lineNumber, byte: line.offset)
            lastLocation = location
            guard line.terminated else {
                throw DumpError(.truncated, file: stream.name, at: location, "the last line has no newline: the output was cut")
            }
            let bytes = line.bytes
            // `"Name" : value`
            guard bytes.count > 0, bytes[0] == 0x22,
                  let close = bytes[1...].firstIndex(of: 0x22),
                  close + 4 <= bytes.count,
                  bytes[close + 1] == 0x20, bytes[close + 2] == 0x3A, bytes[close + 3] == 0x20
            else {
                throw fail("expected a line of the form \"Name\" : value (etcdctl -w fields)", location)
            }
            let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[1..<close])
            let rest = UnsafeRawBufferPointer(rebasing: bytes[(close + 4)...])
            guard let index = FieldsReader.names.firstIndex(where: { candidate in candidate.withUnsafeBytes { memcmpEqual($0, nameBytes) } }),
                  let name = Name(rawValue: index) else {
                throw fail("unknown field \"\(EscapedBytes.string(nameBytes))\"", location)
            }
            guard expected.contains(name) else {
                throw fail("unexpected field \"\(name.text)\" here; expected \(expected.map { "\"\($0.text)\"" }.joined(separator: " or "))", location)
            }
            switch name {
            case .clusterID:
                let id = try unsigned(rest, location)
                if let known = metadata.clusterID, known != id {
                    throw DumpError(.inconsistentExport, file: stream.name, at: location, "outputs come from different clusters (ClusterID \(known) then \(id))")
                }
                metadata.clusterID = id
                inDocument = true
                received = 0
                more = false
                keys.beginPage()
                expected = [.memberID]
            case .memberID:
                let id = try unsigned(rest, location)
                if metadata.memberID == nil { metadata.memberID = id }
                expected = [.revision]
            case .revision:
                let revision = try signed(rest, location)
                metadata.revision = max(metadata.revision ?? revision, revision)
                expected = [.raftTerm]
            case .raftTerm:
                let term = try unsigned(rest, location)
                metadata.raftTerm = max(metadata.raftTerm ?? term, term)
                expected = [.key, .more]
            case .key:
                entry = KeyValue(key: try unquote(rest, location, column: close + 4), value: [])
                expected = [.createRevision]
            case .createRevision:
                entry.createRevision = try signed(rest, location)
                expected = [.modRevision]
            case .modRevision:
                entry.modRevision = try signed(rest, location)
                expected = [.version]
            case .version:
                entry.version = try signed(rest, location)
                expected = [.value]
            case .value:
                entry.value = try unquote(rest, location, column: close + 4)
                expected = [.lease]
            case .lease:
                entry.lease = try signed(rest, location)
                received += 1
                if keys.admit(entry.key) {
                    try sink.live(entry)
                } else {
                    try sink.refused(Refusal(reason: .duplicateKey, file: stream.name, location: location, key: entry.key))
                }
                expected = [.key, .more]
            case .more:
                switch String(decoding: rest, as: UTF8.self) {
                case "true": more = true
                case "false": more = false
                default: throw fail("\"More\" must be true or false", location)
                }
                expected = [.count]
            case .count:
                let count = try signed(rest, location)
                metadata.declaredCount = max(metadata.declaredCount ?? count, count)
                if more { metadata.more = true }
                pages.append(PaginationCheck.Page(index: firstPageIndex + pages.count, firstKey: keys.pageLowKey,
                                                  received: received, more: more, count: count))
                keys.endPage()
                inDocument = false
                expected = [.clusterID]
            }
        }
        if inDocument || pages.isEmpty {
            throw DumpError(.truncated, file: stream.name, at: pages.isEmpty && lineNumber == 0 ? .file : lastLocation,
                            "the output ends before its \"Count\" line")
        }
        metadata.documents = pages.count
        return Result(metadata: metadata, pages: pages)
    }

    private func digits(_ text: UnsafeRawBufferPointer, allowSign: Bool, _ location: Location) throws -> (UInt64, Bool) {
        var i = 0
        var negative = false
        if allowSign, text.count > 0, text[0] == 0x2D { negative = true; i = 1 }
        guard i < text.count else { throw DumpError(.malformedLine, file: stream.name, at: location, "expected an integer") }
        var value: UInt64 = 0
        while i < text.count {
            let byte = text[i]
            guard byte >= 0x30, byte <= 0x39 else {
                throw DumpError(.malformedLine, file: stream.name, at: location, "expected an integer")
            }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - 0x30))
            if o1 || o2 { throw DumpError(.integerOverflow, file: stream.name, at: location, "integer does not fit in 64 bits") }
            value = sum
            i += 1
        }
        return (value, negative)
    }

    private func unsigned(_ text: UnsafeRawBufferPointer, _ location: Location) throws -> UInt64 {
        try digits(text, allowSign: false, location).0
    }

    private func signed(_ text: UnsafeRawBufferPointer, _ location: Location) throws -> Int64 {
        let (magnitude, negative) = try digits(text, allowSign: true, location)
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw DumpError(.integerOverflow, file: stream.name, at: location, "integer is below the int64 range") }
            return magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw DumpError(.integerOverflow, file: stream.name, at: location, "integer exceeds the int64 range") }
        return Int64(magnitude)
    }

    private func unquote(_ text: UnsafeRawBufferPointer, _ location: Location, column: Int) throws -> [UInt8] {
        do {
            return try GoUnquote.unquote(text)
        } catch {
            throw DumpError(.malformedLine, file: stream.name, at: location, "\(error.message) (column \(column + error.index + 1))")
        }
    }
}
