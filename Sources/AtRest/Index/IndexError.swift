import AtRestDump

/// Why an index cannot be built or opened.
public enum IndexError: ReportableError, Sendable {
    /// The storage engine failed: `operation` is what was attempted, `message` its reason.
    case storage(path: String, operation: String, message: String)
    case notAnIndex(path: String)
    case incomplete(path: String)
    case schemaMismatch(path: String, found: Int, expected: Int)
    case io(path: String, message: String)
    case corruptRecord(path: String, detail: String)

    init(_ error: LMDBError, path: String) {
        self = .storage(path: path, operation: error.operation, message: error.message)
    }

    public var identifier: String {
        switch self {
        case .storage: return "index.storage"
        case .notAnIndex: return "index.not-an-index"
        case .incomplete: return "index.incomplete"
        case .schemaMismatch: return "index.schema-mismatch"
        case .io: return "index.io"
        case .corruptRecord: return "index.corrupt-record"
        }
    }

    public var description: String {
        switch self {
        case .storage(let path, let operation, let message): return "\(path): index: \(operation): \(message)"
        case .notAnIndex(let path): return "\(path): not an atrest index (refusing to read or replace it)"
        case .incomplete(let path): return "\(path): the index was never completed (interrupted build); rebuild it with 'atrest index'"
        case .schemaMismatch(let path, let found, let expected):
            return "\(path): index schema version \(found), this atrest reads version \(expected); rebuild it with 'atrest index'"
        case .io(let path, let message): return "\(path): \(message)"
        case .corruptRecord(let path, let detail): return "\(path): corrupt index record: \(detail)"
        }
    }
}
