#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A private copy of a kine database and its SQLite side files, in a new 0700
/// directory, removed when released.
///
/// SQLite, even on a read-only connection, creates a `-shm` file beside a
/// database in WAL mode and may checkpoint the WAL into it, and a rollback
/// journal left by a crash is replayed into the database on first read. Working
/// on a copy keeps the user's `state.db` and `state.db-wal` byte-identical and
/// creates nothing beside them, while the copy still yields every transaction
/// committed to the WAL (k3s runs kine with `_journal=WAL`: kine
/// `pkg/drivers/sqlite/sqlite.go`, `NewVariant`).
final class KineCopy {
    let directory: String
    /// The copy of the database file.
    let databasePath: String
    /// Which side files were found beside the original and copied (`-wal`, `-journal`).
    let sideFiles: [String]
    private var removed = false

    /// Copies what `stream` holds (the database file, hashed and counted by the
    /// stream) and, when `originalPath` names a regular file, its `-wal` and
    /// `-journal` siblings: those beside the file itself, the symbolic links
    /// leading to it resolved, which is where SQLite keeps them. At most `limit`
    /// bytes are taken from a stream that is not a regular file (`SpoolFile`).
    init(stream: ByteStream, originalPath: String?, limit: UInt64?) throws {
        let area = try TemporaryArea.directory()
        var template = Array((area + "/kine-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let pointer = buffer.baseAddress else { return false }
            return mkdtemp(pointer) != nil
        }
        guard made else {
            throw DumpError(.io, file: stream.name, at: .file, "cannot create a private directory in \(area): \(InputFile.errnoText())")
        }
        directory = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        databasePath = directory + "/state.db"
        var copied: [String] = []
        do {
            try Self.copy(into: databasePath, name: stream.name) { fd, path in
                try SpoolFile.copy(stream, to: fd, path: path, limit: limit ?? .max)
            }
            if let originalPath, let resolved = Self.resolve(originalPath) {
                for suffix in ["-wal", "-journal"] {
                    let side = resolved + suffix
                    guard InputFile.regularFileSize(side) != nil else { continue }
                    let file = try InputFile(path: side)
                    defer { file.close() }
                    let sideStream = ByteStream(file)
                    try Self.copy(into: databasePath + suffix, name: file.displayName) { fd, path in
                        try SpoolFile.copy(sideStream, to: fd, path: path, limit: .max)
                    }
                    copied.append(suffix)
                }
            }
        } catch {
            sideFiles = []
            remove()
            throw error
        }
        sideFiles = copied
    }

    /// The path with every symbolic link resolved (`realpath`), or nil if it cannot be.
    private static func resolve(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    deinit { remove() }

    /// Removes the copy, SQLite's files beside it, and the directory.
    func remove() {
        guard !removed else { return }
        removed = true
        for suffix in ["", "-wal", "-journal", "-shm"] { unlink(databasePath + suffix) }
        rmdir(directory)
    }

    private static func copy(into path: String, name: String, _ fill: (Int32, String) throws -> Void) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw DumpError(.io, file: name, at: .file, "cannot create the private copy \(path): \(InputFile.errnoText())")
        }
        defer { _ = close(fd) }
        try fill(fd, path)
    }
}
