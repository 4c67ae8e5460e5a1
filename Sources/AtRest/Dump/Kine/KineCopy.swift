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
    /// `-journal` siblings.
    init(stream: ByteStream, originalPath: String?) throws {
        let base = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((base + "/atrest-kine-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let pointer = buffer.baseAddress else { return false }
            return mkdtemp(pointer) != nil
        }
        guard made else {
            throw DumpError(.io, file: stream.name, at: .file, "cannot create a private directory in \(base): \(InputFile.errnoText())")
        }
        directory = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        _ = chmod(directory, 0o700)
        databasePath = directory + "/state.db"
        var copied: [String] = []
        do {
            try Self.copy(into: databasePath, name: stream.name) { sink in try stream.drain(sink) }
            if let originalPath {
                for suffix in ["-wal", "-journal"] {
                    let side = originalPath + suffix
                    guard InputFile.regularFileSize(side) != nil else { continue }
                    let file = try InputFile(path: side)
                    defer { file.close() }
                    let sideStream = ByteStream(file)
                    try Self.copy(into: databasePath + suffix, name: file.displayName) { sink in try sideStream.drain(sink) }
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

    deinit { remove() }

    /// Removes the copy, SQLite's files beside it, and the directory.
    func remove() {
        guard !removed else { return }
        removed = true
        for suffix in ["", "-wal", "-journal", "-shm"] { unlink(databasePath + suffix) }
        rmdir(directory)
    }

    private static func copy(into path: String, name: String, _ fill: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw DumpError(.io, file: name, at: .file, "cannot create the private copy \(path): \(InputFile.errnoText())")
        }
        defer { _ = close(fd) }
        try fill { chunk in
            var rest = chunk
            while !rest.isEmpty {
                let written = write(fd, rest.baseAddress, rest.count)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw DumpError(.io, file: name, at: .file, "cannot write the private copy \(path): \(InputFile.errnoText())")
                }
                rest = UnsafeRawBufferPointer(rebasing: rest[written...])
            }
        }
    }
}
