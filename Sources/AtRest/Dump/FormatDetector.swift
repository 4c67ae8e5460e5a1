/// Picks an input's format from its first bytes, never from its name: exports are
/// renamed, piped and attached to tickets, and a wrong guess would misparse.
///
/// Rules, in order (spec §1, §2.2):
/// 0. the SQLite header `SQLite format 3\0` → `.kine` (k3s's `state.db`; the
///    reader then checks that it holds kine's table);
/// 1. bbolt meta page 0 — page flags `0x04` (u16 LE at offset 8) or magic
///    `0xED0CDAED` (u32 LE at offset 16) — or, when page 0 is damaged, a meta
///    page 1 (id 1, flags and magic) at any page size bbolt uses → `.snapshot`
///    (the snapshot reader then tells a `snapshot save` file from a raw
///    `member/snap/db` by its trailer, and says what is wrong with each meta page:
///    a damaged meta page must not make a snapshot look like no export at all),
///    or, with both meta pages destroyed, pages 2 and 3 with their own ids and
///    branch/leaf/freelist flags;
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
    /// The first 16 bytes of every SQLite database file (sqlite.org/fileformat.html, 1.3).
    static let sqliteHeader = Array("SQLite format 3\u{0}".utf8)
    /// How many bytes detection may look at (all stay in the stream).
    static let peekLength = 4096
    /// Enough to see meta page 1 at the largest page size.
    static let snapshotPeekLength = 65536 + 64

    static func detect(_ stream: ByteStream) throws -> ExportFormat {
        let head = try stream.peek(snapshotPeekLength)
        guard !head.isEmpty else {
            throw DumpError(.unknownFormat, file: stream.name, at: .file, "empty input")
        }
        return try detect(head: head, name: stream.name)
    }

    /// Detection on the first bytes of an input (at least 20 for bbolt).
    static func detect(head: [UInt8], name: String) throws -> ExportFormat {
        if head.starts(with: sqliteHeader) { return .kine }
        if looksLikeBoltMeta(head, at: 0, bothMarks: false) { return .snapshot }
        for pageSize in [4096, 512, 1024, 2048, 8192, 16384, 32768, 65536] where looksLikeBoltMeta(head, at: pageSize, bothMarks: true) {
            return .snapshot
        }
        // Both meta pages destroyed: pages 2 and 3 still carry their ids and bbolt page flags.
        for pageSize in [4096, 512, 1024, 2048, 8192, 16384] where looksLikeBoltPage(head, id: 2, pageSize: pageSize)
            && looksLikeBoltPage(head, id: 3, pageSize: pageSize) {
            return .snapshot
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

    /// A branch, leaf or freelist page header with id `id` (bbolt `page.go`).
    private static func looksLikeBoltPage(_ head: [UInt8], id: Int, pageSize: Int) -> Bool {
        let offset = id * pageSize
        guard head.count >= offset + 16 else { return false }
        let storedID = (0..<8).reduce(UInt64(0)) { $0 | UInt64(head[offset + $1]) << (8 * $1) }
        let flags = UInt16(head[offset + 8]) | UInt16(head[offset + 9]) << 8
        return storedID == UInt64(id) && [0x01, 0x02, 0x10].contains(flags)
    }

    /// A bbolt meta page at `offset`: page flags `0x04` and/or the magic (page 1
    /// must also carry its id, 1, and both marks).
    private static func looksLikeBoltMeta(_ head: [UInt8], at offset: Int, bothMarks: Bool) -> Bool {
        guard head.count >= offset + 20 else { return false }
        func le(_ at: Int, _ width: Int) -> UInt64 {
            (0..<width).reduce(0) { $0 | UInt64(head[offset + at + $1]) << (8 * $1) }
        }
        let flags = le(8, 2) == 0x04, magic = le(16, 4) == 0xED0C_DAED
        if !bothMarks { return flags || magic }
        return flags && magic && le(0, 8) == UInt64(offset == 0 ? 0 : 1)
    }
}
