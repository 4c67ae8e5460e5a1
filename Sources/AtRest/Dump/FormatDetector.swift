/// Picks an input's format from its first bytes, never from its name: exports are
/// renamed, piped and attached to tickets, and a wrong guess would misparse.
///
/// Rules, in order (spec §1, §2.2):
/// 1. bbolt meta page 0 — page flags `0x04` (u16 LE at offset 8) and magic
///    `0xED0CDAED` (u32 LE at offset 16) → `.snapshot` (the snapshot reader then
///    tells a `snapshot save` file from a raw `member/snap/db` by its trailer);
/// 2. first non-whitespace byte `{` → `.etcdctlJSON` (the JSON reader upgrades
///    to `.gatewayJSON` if integers turn out to be strings);
/// 3. first line starting `"ClusterID" : ` → `.fields` (`printer_fields.go`
///    always prints the header first);
/// 4. first line starting `\x` → `.hex` (`--hex` simple output);
/// 5. a first line of text → `.simple` (the plain reader then decides whether
///    it is unambiguous enough to accept).
/// Empty input, and binary data that is none of the above (`-w protobuf`
/// output, for instance), are `.unknownFormat`.
enum FormatDetector {
    /// How many bytes detection may look at (all stay in the stream).
    static let peekLength = 4096

    static func detect(_ stream: ByteStream) throws -> ExportFormat {
        let head = try stream.peek(peekLength)
        guard !head.isEmpty else {
            throw DumpError(.unknownFormat, file: stream.name, at: .file, "empty input")
        }
        return try detect(head: head, name: stream.name)
    }

    /// Detection on the first bytes of an input (at least 20 for bbolt).
    static func detect(head: [UInt8], name: String) throws -> ExportFormat {
        if head.count >= 20 {
            let flags = UInt16(head[8]) | UInt16(head[9]) << 8
            let magic = UInt32(head[16]) | UInt32(head[17]) << 8 | UInt32(head[18]) << 16 | UInt32(head[19]) << 24
            if flags == 0x04 && magic == 0xED0C_DAED { return .snapshot }
        }
        if let first = head.first(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }) {
            if first == 0x7B { return .etcdctlJSON }
        } else if head.count < peekLength {
            throw DumpError(.unknownFormat, file: name, at: .file, "empty input (only whitespace)")
        }
        let fieldsHeader = Array(#""ClusterID" : "#.utf8)
        if head.starts(with: fieldsHeader) { return .fields }
        if head.count >= 2, head[0] == 0x5C, head[1] == 0x78 { return .hex }
        // Plain output starts with a key line of text; binary is something else.
        let firstLine = head.prefix { $0 != 0x0A }
        if !firstLine.isEmpty, !firstLine.contains(where: { $0 < 0x20 && $0 != 0x09 || $0 == 0x7F }) {
            return .simple
        }
        throw DumpError(.unknownFormat, file: name, at: .byte(0),
                        "not a recognised etcd export (etcdctl get -w json / -w fields / --hex / plain output, or an etcd snapshot)")
    }
}
