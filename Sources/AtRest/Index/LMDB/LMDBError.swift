internal import CLMDB

/// A failed LMDB call, with the operation and LMDB's own message. Internal: it
/// reaches callers as `IndexError.storage`, which carries no C error code.
struct LMDBError: Error, Sendable, Hashable, CustomStringConvertible {
    var code: Int32
    var operation: String

    init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    var isKeyExists: Bool { code == MDB_KEYEXIST }

    var message: String { mdb_strerror(code).map { String(cString: $0) } ?? "error \(code)" }

    var description: String { "\(operation): \(message)" }

    /// Throws unless `code` is `MDB_SUCCESS`.
    @inline(__always)
    static func check(_ code: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) {
        if code != MDB_SUCCESS { throw LMDBError(code: code, operation: operation()) }
    }
}
