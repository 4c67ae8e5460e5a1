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

/// A private temporary file that holds a copy of standard input, for readers that
/// need to seek (snapshots) or to read twice (plain output). Created with
/// `mkstemp` (mode 0600) in `$TMPDIR` or `/tmp`, and unlinked by `remove()`.
final class SpoolFile {
    let path: String
    private var removed = false

    /// Copies what `stream` still holds (including peeked bytes) and everything
    /// after it to a new private file. The stream hashes and counts as it reads.
    init(copying stream: ByteStream) throws {
        let directory = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((directory + "/atrest-stdin-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            return mkstemp(base)
        }
        guard fd >= 0 else {
            throw DumpError(.io, file: stream.name, at: .file, "cannot create a temporary file in \(directory): \(InputFile.errnoText())")
        }
        // mkstemp filled in the X's; drop the NUL terminator.
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        _ = fchmod(fd, 0o600)
        do {
            try stream.drain { chunk in
                var rest = chunk
                while !rest.isEmpty {
                    let written = write(fd, rest.baseAddress, rest.count)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw DumpError(.io, file: stream.name, at: .file, "cannot write temporary file \(self.path): \(InputFile.errnoText())")
                    }
                    rest = UnsafeRawBufferPointer(rebasing: rest[written...])
                }
            }
            _ = closeDescriptor(fd)
        } catch {
            _ = closeDescriptor(fd)
            remove()
            throw error
        }
    }

    func remove() {
        guard !removed else { return }
        removed = true
        _ = unlink(path)
    }

    deinit { remove() }
}
