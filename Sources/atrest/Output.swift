import AtRestDump
import Foundation

/// Writes to standard output and standard error with write(2). `FileHandle.write` traps on a
/// failed write, so a reader that goes away (`atrest inspect ... | head`) made atrest die of
/// SIGILL with its temporary data left behind whenever the failed write came before the
/// SIGPIPE handler's cleanup. A broken pipe now ends the run as SIGPIPE does, after the cleanup.
enum Output {
    static func standardOutput(_ data: Data) { write(data, to: STDOUT_FILENO) }

    static func standardError(_ data: Data) { write(data, to: STDERR_FILENO) }

    private static func write(_ data: Data, to descriptor: Int32) {
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < bytes.count, let base = bytes.baseAddress {
                let written = Glibc.write(descriptor, base + offset, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else if written < 0 && errno == EPIPE {
                    TemporaryArea.endAsBrokenPipe()
                } else {
                    // Nowhere left to say it (a full disk under a redirected output): stop writing.
                    return
                }
            }
        }
    }
}
