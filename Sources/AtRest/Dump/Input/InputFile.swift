#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One input named on the command line: a path, or `-` for standard input.
///
/// Only opens and describes the input; reading goes through `ByteStream`. A class
/// so that the descriptor is closed exactly once (`deinit`), whatever path an
/// error takes. Standard input is never closed.
final class InputFile {
    /// The name as given on the command line (`-` for stdin).
    let path: String
    /// The name used in messages: the path, or `<stdin>`.
    let displayName: String
    private let fd: Int32
    /// True for `-`: the input cannot be seeked nor reopened.
    let isStandardInput: Bool
    /// True when the descriptor is a regular file (sizes known, reopenable).
    let isRegularFile: Bool
    /// The size of a regular file, for progress totals; nil for pipes and terminals.
    let size: UInt64?
    private var closed = false

    static let stdinDisplayName = "<stdin>"

    /// The display name of an input path, without opening it.
    static func displayName(for path: String) -> String {
        path == "-" ? stdinDisplayName : path
    }

    init(path: String) throws {
        self.path = path
        self.displayName = InputFile.displayName(for: path)
        if path == "-" {
            fd = STDIN_FILENO
            isStandardInput = true
        } else {
            var descriptor: Int32
            repeat {
                descriptor = open(path, O_RDONLY | O_CLOEXEC)
            } while descriptor < 0 && errno == EINTR
            guard descriptor >= 0 else {
                throw DumpError(.io, file: displayName, at: .file, "cannot open: \(InputFile.errnoText())")
            }
            fd = descriptor
            isStandardInput = false
        }
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG {
            isRegularFile = true
            size = UInt64(clamping: info.st_size)
        } else {
            isRegularFile = false
            size = nil
        }
        if isRegularFile {
            #if canImport(Glibc) || canImport(Musl)
            // Readers only go forward: let the kernel read ahead aggressively.
            _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
            #endif
        }
    }

    private static func kind(of mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: return "regular file"
        case S_IFIFO: return "FIFO (pipe)"
        case S_IFCHR: return "character device"
        case S_IFBLK: return "block device"
        case S_IFSOCK: return "socket"
        case S_IFDIR: return "directory"
        default: return "file of unknown type"
        }
    }

    /// What `path` is when it exists and is neither a regular file nor a
    /// directory (`FIFO (pipe)`, `character device`...), without opening it.
    static func specialKind(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let type = info.st_mode & S_IFMT
        return type == S_IFREG || type == S_IFDIR ? nil : kind(of: info.st_mode)
    }

    /// The size of a path if it is a regular file, without opening it (progress totals).
    static func regularFileSize(_ path: String) -> UInt64? {
        if path == "-" {
            var info = stat()
            guard fstat(STDIN_FILENO, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
            return UInt64(clamping: info.st_size)
        }
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return UInt64(clamping: info.st_size)
    }

    /// `read(2)` into `buffer`; after `close()` it fails with `EBADF` rather than
    /// reading whatever file the descriptor number now belongs to.
    func read(into buffer: UnsafeMutableRawPointer, count: Int) -> Int {
        guard !closed else {
            errno = EBADF
            return -1
        }
        #if canImport(Glibc)
        return Glibc.read(fd, buffer, count)
        #elseif canImport(Musl)
        return Musl.read(fd, buffer, count)
        #else
        return Darwin.read(fd, buffer, count)
        #endif
    }

    func close() {
        guard !closed else { return }
        closed = true
        if !isStandardInput {
            _ = closeDescriptor(fd)
        }
    }

    deinit { close() }

    static func errnoText(_ code: Int32 = errno) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}

@inline(__always)
private func closeDescriptor(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    return Glibc.close(fd)
    #elseif canImport(Musl)
    return Musl.close(fd)
    #else
    return Darwin.close(fd)
    #endif
}

/// A private temporary file that holds a copy of an input that cannot be read
/// twice (standard input, a FIFO), for readers that need to seek (snapshots) or
/// to read twice (plain output). Created with `mkstemp` (mode 0600) in the run's
/// `TemporaryArea`, and unlinked by `remove()`.
final class SpoolFile {
    let path: String
    private var removed = false

    /// Copies what `stream` still holds (including peeked bytes) and everything
    /// after it to a new private file, refusing more than `limit` bytes in all
    /// (the stream counts from its first byte). The stream hashes and counts as it reads.
    init(copying stream: ByteStream, limit: UInt64) throws {
        let directory = try TemporaryArea.directory()
        var template = Array((directory + "/spool-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            return mkstemp(base)
        }
        guard fd >= 0 else {
            throw DumpError(.io, file: stream.name, at: .file, "cannot create a temporary file in \(directory): \(InputFile.errnoText())")
        }
        // mkstemp filled in the X's; drop the NUL terminator.
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        do {
            try SpoolFile.copy(stream, to: fd, path: path, limit: limit)
            _ = closeDescriptor(fd)
        } catch {
            _ = closeDescriptor(fd)
            remove()
            throw error
        }
    }

    /// Writes the rest of `stream` to `fd`, stopping with `dump.too-large` once
    /// the stream has read more than `limit` bytes: an endless pipe or device
    /// would otherwise fill the disk.
    static func copy(_ stream: ByteStream, to fd: Int32, path: String, limit: UInt64) throws {
        try stream.drain { chunk in
            guard stream.byteCount <= limit else {
                throw DumpError(.tooLarge, file: stream.name, at: .byte(limit),
                                "more than \(SpoolFile.describe(limit)) would have to be copied to a temporary file "
                                + "to read this input; save it to a file and name that file, or raise --spool-limit")
            }
            var rest = chunk
            while !rest.isEmpty {
                let written = write(fd, rest.baseAddress, rest.count)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw DumpError(.io, file: stream.name, at: .file, "cannot write the temporary file \(path): \(InputFile.errnoText())")
                }
                rest = UnsafeRawBufferPointer(rebasing: rest[written...])
            }
        }
    }

    /// `8 GiB`, `512 MiB`, or bytes.
    static func describe(_ bytes: UInt64) -> String {
        for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift) \(unit)"
        }
        return "\(bytes) bytes"
    }

    func remove() {
        guard !removed else { return }
        removed = true
        _ = unlink(path)
    }

    deinit { remove() }
}
