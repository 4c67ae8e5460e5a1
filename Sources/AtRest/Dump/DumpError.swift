/// Where in an input something was found.
public enum Location: Sendable, Hashable, CustomStringConvertible {
    /// A byte offset from the start of the file.
    case byte(UInt64)
    /// A 1-based line number (line-oriented formats), with the byte offset of its start.
    case line(Int, byte: UInt64)
    /// A bbolt page id in a snapshot.
    case page(UInt64)
    /// A row of k3s's kine table, by its id.
    case row(Int64)
    /// The input as a whole.
    case file

    public var description: String {
        switch self {
        case .byte(let offset): return "byte \(offset)"
        case .line(let line, let offset): return "line \(line) (byte \(offset))"
        case .page(let id): return "page \(id)"
        case .row(let id): return "kine row \(id)"
        case .file: return "file"
        }
    }
}

/// An input that cannot be read: corrupt, truncated, hostile or unsupported.
///
/// Always fatal for the input: no index is published. `description` is the
/// one-line message the CLI prints (`FILE: byte N: message`).
public struct DumpError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable error codes, for tests and for machines.
    public enum Code: String, Sendable, Hashable {
        case io
        case unknownFormat = "unknown-format"
        case truncated
        case malformedJSON = "malformed-json"
        case invalidBase64 = "invalid-base64"
        case integerOverflow = "integer-overflow"
        case malformedLine = "malformed-line"
        case ambiguousPlainOutput = "ambiguous-plain-output"
        case checksumMismatch = "checksum-mismatch"
        case badMeta = "bad-meta"
        case badPage = "bad-page"
        case pageOutOfRange = "page-out-of-range"
        case cycle
        /// The page a meta names as the freelist is not a readable freelist page (bbolt panics on it).
        case badFreelist = "bad-freelist"
        /// bbolt's consistency check (`tx.Check`, `etcdctl snapshot status`) fails: a page freed
        /// twice, reachable and free at once, or neither reachable nor free.
        case inconsistentPages = "inconsistent-pages"
        case missingBucket = "missing-bucket"
        case malformedProtobuf = "malformed-protobuf"
        case inconsistentExport = "inconsistent-export"
        /// A single key, value, line or string larger than atrest buffers (far above what etcd stores).
        case tooLarge = "too-large"
        /// A SQLite file (k3s's kine datastore) that SQLite cannot read, or without kine's table.
        case badDatabase = "bad-database"
    }

    public var code: Code
    public var file: String
    public var location: Location
    public var message: String

    public init(_ code: Code, file: String, at location: Location, _ message: String) {
        self.code = code
        self.file = file
        self.location = location
        self.message = message
    }

    public var description: String {
        if case .file = location { return "\(file): \(message)" }
        return "\(file): \(location): \(message)"
    }
}
