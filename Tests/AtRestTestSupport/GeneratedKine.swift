import Foundation

/// A k3s kine datastore built by real SQLite (python3's `sqlite3` module) in
/// kine's own write pattern: `testdata/kine/make_kine_db.py` (its docstring
/// lists every row). Each call makes a fresh copy in `directory`:
/// `state.db`, `state.db-wal` (holding the writes after the last checkpoint)
/// and k3s's `encryption-config.json`.
public enum GeneratedKine {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The key names of the generated `encryption-config.json`: k3s's first key, and the one a rotation added.
    public static let oldKey = "aescbckey"
    public static let newKey = "aescbckey-2024-05-01T10:20:30Z"

    public struct Files {
        public var directory: URL
        public var database: String { directory.appendingPathComponent("state.db").path }
        public var wal: String { directory.appendingPathComponent("state.db-wal").path }
        public var config: String { directory.appendingPathComponent("encryption-config.json").path }
    }

    /// `oldValueBySelect`: old_value as newer kine writes it (the value of row
    /// `prev_revision`, another key's for a first create).
    public static func make(in directory: URL, oldValueBySelect: Bool = false) throws -> Files {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Fixtures.path("kine/make_kine_db.py"), directory.path, Fixtures.path("vectors/synthetic_vectors.json")]
            + (oldValueBySelect ? ["--old-value-by-select"] : [])
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "make_kine_db.py failed: \(String(decoding: message, as: UTF8.self))")
        }
        return Files(directory: directory)
    }
}
