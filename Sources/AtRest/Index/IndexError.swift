/// Why an index cannot be built or opened.
public enum IndexError: Error, Sendable, CustomStringConvertible {
    case lmdb(LMDBError, path: String)
    case notAnIndex(path: String)
    case incomplete(path: String)
    case schemaMismatch(path: String, found: Int, expected: Int)
    case io(path: String, message: String)
    case corruptRecord(path: String, detail: String)

    public var description: String {
        switch self {
        case .lmdb(let error, let path): return "\(path): index: \(error)"
        case .notAnIndex(let path): return "\(path): not an atrest index (refusing to read or replace it)"
        case .incomplete(let path): return "\(path): the index was never completed (interrupted build); rebuild it with 'atrest index'"
        case .schemaMismatch(let path, let found, let expected):
            return "\(path): index schema version \(found), this atrest reads version \(expected); rebuild it with 'atrest index'"
        case .io(let path, let message): return "\(path): \(message)"
        case .corruptRecord(let path, let detail): return "\(path): corrupt index record: \(detail)"
        }
    }
}
