import AtRestDump
import Foundation

/// Keeps two `atrest index` runs from building the same destination at once
/// (the last to finish would silently win): an exclusive `flock` on
/// `.NAME.lock` beside the destination, held for the whole build.
///
/// The kernel releases an `flock` when its process dies, however it dies, so a
/// killed build never blocks the next one. The lock file is removed when the
/// build ends; a run that locked a file which has since been removed (or
/// replaced) starts over with the file now at the path, so two runs can never
/// hold locks on different files for one destination.
final class BuildLock {
    private let path: String
    private var fd: Int32

    /// Takes the lock, or throws `IndexError.busy` when another run holds it.
    init(destination: URL, name: String) throws {
        path = destination.deletingLastPathComponent().appendingPathComponent(".\(destination.lastPathComponent).lock").path
        for _ in 0..<8 {
            let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw IndexError.io(path: name, message: "cannot create the lock file \(path): \(systemErrorText())")
            }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                let code = errno
                _ = close(fd)
                if code == EWOULDBLOCK { throw IndexError.busy(path: name) }
                throw IndexError.io(path: name, message: "cannot lock \(path): \(systemErrorText(code))")
            }
            var held = stat(), named = stat()
            if fstat(fd, &held) == 0, lstat(path, &named) == 0, held.st_dev == named.st_dev, held.st_ino == named.st_ino {
                self.fd = fd
                TemporaryArea.removeOnSignal(path)
                return
            }
            _ = close(fd)
        }
        throw IndexError.busy(path: name)
    }

    /// Removes the lock file, then lets the lock go.
    func release() {
        guard fd >= 0 else { return }
        TemporaryArea.forget(path)
        _ = unlink(path)
        _ = close(fd)
        fd = -1
    }

    deinit { release() }
}
