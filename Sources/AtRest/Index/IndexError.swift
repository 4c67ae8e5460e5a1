import AtRestDump
import Foundation

/// Why an index cannot be built or opened.
public enum IndexError: ReportableError, Sendable {
    /// The storage engine failed: `operation` is what was attempted, `message` its reason.
    case storage(path: String, operation: String, message: String)
    case notAnIndex(path: String)
    /// Nothing at the path given with `--index`.
    case notFound(path: String)
    /// Another `atrest index` run is writing this destination now.
    case busy(path: String)
    /// The index's files do not match the checksum written when it was built.
    case damaged(path: String, detail: String)
    /// The file system holding the index is full.
    case noSpace(path: String)
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
        case .notFound: return "index.not-found"
        case .busy: return "index.busy"
        case .damaged: return "index.corrupt"
        case .noSpace: return "index.no-space"
        case .incomplete: return "index.incomplete"
        case .schemaMismatch: return "index.schema-mismatch"
        case .io: return "index.io"
        case .corruptRecord: return "index.corrupt-record"
        }
    }

    public var description: String {
        switch self {
        case .storage(let path, let operation, let message): return "\(path): index: \(operation): \(message)"
        case .notAnIndex(let path):
            return "\(path): not an atrest index (refusing to read or replace it; an index built by an earlier atrest, "
                + "without atrest.sum, must be removed and built again)"
        case .notFound(let path): return "\(path): no such index: the directory does not exist"
        case .busy(let path):
            return "\(path): another 'atrest index' run is writing this index now; wait for it to end, or choose another --index"
        case .damaged(let path, let detail): return "\(path): the index is damaged: \(detail); rebuild it with 'atrest index'"
        case .noSpace(let path):
            return "\(path): No space left on device while writing the index; free space there, or build it elsewhere "
                + "(--index DIR, or TMPDIR for the temporary index of a command given input files)"
        case .incomplete(let path): return "\(path): the index was never completed (interrupted build); rebuild it with 'atrest index'"
        case .schemaMismatch(let path, let found, let expected):
            return "\(path): index schema version \(found), this atrest reads version \(expected); rebuild it with 'atrest index'"
        case .io(let path, let message): return "\(path): \(message)"
        case .corruptRecord(let path, let detail): return "\(path): corrupt index record: \(detail)"
        }
    }
}

/// `strerror(errno)`, as the messages above quote it.
func systemErrorText(_ code: Int32 = errno) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}
