#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The one private directory where a run keeps its temporary data:
/// `$TMPDIR/atrest-PID-XXXXXX` (mode 0700), holding the temporary index, a spool
/// of standard input and the private copy of a kine database.
///
/// These are copies of every stored value, plaintext Secrets included, so they
/// must not outlive the run. The directory is removed at exit (`atexit`), when
/// the run is stopped by SIGINT, SIGTERM, SIGHUP or SIGPIPE (`removeOnSignals`), and, when
/// the run died some other way (SIGKILL, a crash, a power cut), by the next run
/// that creates its own (`sweep`).
///
/// Liveness is told by an `flock` the owning run holds on its directory for its
/// whole life: the kernel releases it when the process dies, whatever kills it,
/// and it also works between containers that share `/tmp` but not a PID
/// namespace. The PID in the name is only a further guard and a hint for people.
public enum TemporaryArea {
    /// The name's prefix: only directories named `atrest-<digits>-<suffix>` are ever swept.
    static let prefix = "atrest-"

    private static let lock = NSLock()
    /// Set once created; guarded by `lock`.
    nonisolated(unsafe) private static var created: (path: String, fd: Int32)?
    /// Other directories to remove if the run is stopped (an index build's
    /// staging directory beside its destination); guarded by `lock`.
    nonisolated(unsafe) private static var extra: [String: Int] = [:]

    /// `$TMPDIR`, or `/tmp` when it is unset or empty.
    public static var base: String {
        getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    }

    /// The run's private directory, created (and earlier runs' leftovers swept) on first use.
    public static func directory() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let created { return created.path }
        let base = Self.base
        sweep(base)
        var template = Array((base + "/\(prefix)\(getpid())-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let pointer = buffer.baseAddress else { return false }
            return mkdtemp(pointer) != nil
        }
        guard made else {
            throw DumpError(.io, file: base, at: .file, "cannot create a private temporary directory in \(base): \(InputFile.errnoText())")
        }
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0, flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = InputFile.errnoText()
            if fd >= 0 { _ = close(fd) }
            _ = rmdir(path)
            throw DumpError(.io, file: base, at: .file, "cannot lock the private temporary directory \(path): \(reason)")
        }
        created = (path, fd)
        atexit { TemporaryArea.removeAll() }
        return path
    }

    /// Remembers `path` (a directory) for removal if the run is stopped by a signal.
    public static func removeOnSignal(_ path: String) {
        lock.lock()
        extra[path, default: 0] += 1
        lock.unlock()
    }

    /// Forgets a path given to `removeOnSignal` (it was published or removed).
    public static func forget(_ path: String) {
        lock.lock()
        if let count = extra[path] { extra[path] = count > 1 ? count - 1 : nil }
        lock.unlock()
    }

    /// Removes the private directory and every path registered with `removeOnSignal`.
    /// Holds the lock to the end, so nothing new is created meanwhile: a signal's
    /// cleanup is followed by the process's end.
    static func removeAll(keepingLock: Bool = false) {
        lock.lock()
        if let created {
            PrivateDirectory.removeTree(created.path)
            _ = close(created.fd)
            Self.created = nil
        }
        for path in extra.keys { PrivateDirectory.removeTree(path) }
        extra = [:]
        if !keepingLock { lock.unlock() }
    }

    /// Removes the directories that runs which are gone left in `base`: named
    /// `atrest-<pid>-<suffix>`, a directory (not a symbolic link) owned by this
    /// user, whose process no longer exists and whose `flock` is free. Anything
    /// else is left alone.
    static func sweep(_ base: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: base) else { return }
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            let suffix = rest.dropFirst(digits.count)
            guard !digits.isEmpty, let pid = Int32(digits), pid > 0, pid != getpid(), suffix.count > 1, suffix.first == "-",
                  suffix.dropFirst().allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else { continue }
            let path = base + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR, info.st_uid == geteuid() else { continue }
            guard kill(pid, 0) != 0, errno == ESRCH else { continue }
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { _ = close(fd) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            PrivateDirectory.removeTree(path)
        }
    }

    // MARK: Signals

    /// The write end of the pipe the signal handler wakes the cleaner through.
    nonisolated(unsafe) private static var signalPipe: Int32 = -1

    /// Ends the run as an uncaught SIGPIPE would (status 141 to the shell), after removing the
    /// temporary data: for a writer whose write failed with EPIPE, which must not go on (nor
    /// trap) while the signal's own cleanup runs on another thread.
    public static func endAsBrokenPipe() -> Never {
        end(as: SIGPIPE)
    }

    /// Removes the temporary data, then dies of `received` as if it had not been caught.
    private static func end(as received: Int32) -> Never {
        removeAll(keepingLock: true)
        _ = signal(received, SIG_DFL)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, received)
        _ = pthread_sigmask(SIG_UNBLOCK, &set, nil)
        _ = kill(getpid(), received)
        // Not reached unless the signal is blocked elsewhere: end the same way.
        _exit(128 + received)
    }

    /// On SIGINT, SIGTERM, SIGHUP and SIGPIPE (`atrest inspect ... | head`):
    /// remove the temporary data, then die of the signal as if it had not been
    /// caught (the shell sees 130, 143, 129, 141). After SIGPIPE the writing
    /// thread's write fails with EPIPE, and the CLI's writer ends the run the same
    /// way (`endAsBrokenPipe`), whichever of the two comes first.
    ///
    /// The handler only writes the signal's number to a pipe (all a handler may
    /// safely do); a thread waiting on that pipe does the removal, with ordinary code.
    public static func removeOnSignals() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        signalPipe = fds[1]
        let readEnd = fds[0]
        let thread = Thread {
            var number: UInt8 = 0
            while true {
                let count = read(readEnd, &number, 1)
                if count == 1 { break }
                if count < 0 && errno == EINTR { continue }
                return
            }
            TemporaryArea.end(as: Int32(number))
        }
        thread.name = "atrest-signals"
        thread.start()
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for caught in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] {
            let previous = signal(caught) { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(TemporaryArea.signalPipe, &byte, 1)
            }
            // A signal ignored by whoever started atrest (`nohup`, `&` in a script) stays ignored.
            if unsafeBitCast(previous, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) {
                _ = signal(caught, SIG_IGN)
            } else {
                sigaddset(&unblock, caught)
            }
        }
        // A blocked signal would stay pending, never handled: a mask is inherited
        // across exec, so the parent's must not decide.
        _ = pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    }
}

/// Directories only this user may enter.
public enum PrivateDirectory {
    /// Creates `path` with mode 0700 from the start (never wider, whatever the
    /// umask), failing if it exists.
    public static func create(_ path: String) throws {
        guard mkdir(path, 0o700) == 0 else {
            throw DumpError(.io, file: path, at: .file, "cannot create the directory: \(InputFile.errnoText())")
        }
        // A umask may have taken the owner's bits away; group and others never had any.
        _ = chmod(path, 0o700)
    }

    /// Removes `path` and everything under it without following symbolic links:
    /// a link inside is removed, never its target. Errors are ignored.
    public static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            _ = unlink(path)
            return
        }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd >= 0 {
            removeContents(fd)
            _ = close(fd)
        }
        _ = rmdir(path)
    }

    /// Empties the directory open at `fd`, depth first, relative to descriptors.
    private static func removeContents(_ fd: Int32) {
        let duplicate = dup(fd)
        guard duplicate >= 0, let stream = fdopendir(duplicate) else {
            if duplicate >= 0 { _ = close(duplicate) }
            return
        }
        defer { closedir(stream) }
        // Names as raw bytes: whatever a name holds, it is removed, not re-encoded.
        var names: [[CChar]] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                raw.prefix { $0 != 0 }.map { CChar(bitPattern: $0) } + [0]
            }
            if name != [0x2E, 0] && name != [0x2E, 0x2E, 0] { names.append(name) }
        }
        for name in names {
            var info = stat()
            guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if child >= 0 {
                    removeContents(child)
                    _ = close(child)
                }
                _ = unlinkat(fd, name, AT_REMOVEDIR)
            } else {
                _ = unlinkat(fd, name, 0)
            }
        }
    }
}
