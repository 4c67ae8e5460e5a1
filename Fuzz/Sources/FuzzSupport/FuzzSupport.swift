#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import AtRestDump

/// A sink that keeps nothing: the targets exercise the readers, not the index.
/// It still touches every byte it is given, so a reader handing out a view past
/// its buffer is caught by the address sanitizer.
public struct DiscardingSink: DumpSink {
    public private(set) var entries = 0
    public private(set) var checksum: UInt8 = 0

    public init() {}

    public mutating func live(_ entry: KeyValue) throws { touch(entry) }

    public mutating func history(_ revision: Revision, tombstone: Bool, _ entry: KeyValue) throws { touch(entry) }

    public mutating func refused(_ refusal: Refusal) throws {
        entries += 1
        if let key = refusal.key { checksum ^= key.reduce(0, ^) }
    }

    private mutating func touch(_ entry: KeyValue) {
        entries += 1
        checksum ^= entry.key.reduce(0, ^) ^ entry.value.reduce(0, ^)
    }
}

/// One scratch file per fuzzing process, rewritten with each input: the readers
/// take a descriptor (text formats) or a path (snapshots), as the CLI gives them.
public final class ScratchFile: @unchecked Sendable {
    public let path: String
    public let fd: Int32

    public static let shared = ScratchFile()

    private init() {
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(directory)/atrest-fuzz-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { fatalError("cannot create a scratch file in \(directory)") }
        self.fd = fd
        self.path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        unlink(path)  // gone when the process ends; the open descriptor and /proc path still work
    }

    /// Replaces the file's contents with `data` and rewinds the descriptor.
    public func write(_ data: UnsafeRawBufferPointer) {
        guard ftruncate(fd, 0) == 0 else { fatalError("ftruncate failed") }
        var done = 0
        while done < data.count, let base = data.baseAddress {
            let n = pwrite(fd, base + done, data.count - done, off_t(done))
            guard n > 0 else { fatalError("pwrite failed") }
            done += n
        }
        lseek(fd, 0, SEEK_SET)
    }

    /// A path that opens the scratch file (it is unlinked, so through /proc).
    public var openablePath: String { "/proc/self/fd/\(fd)" }
}

/// The house rule every reader must keep: bad input is a typed error whose
/// message is exactly one line. Anything else is a finding, so it traps.
public func expectOneLineDumpError(_ error: any Error) {
    guard let error = error as? DumpError else {
        fatalError("untyped error escaped a reader: \(type(of: error)): \(error)")
    }
    expectOneLine(error.description)
}

public func expectOneLine(_ message: String) {
    if message.isEmpty || message.contains(where: { $0 == "\n" || $0 == "\r" }) {
        fatalError("error message is not one line: \(message.debugDescription)")
    }
}

/// The input as a buffer view, for the entry points.
@inline(__always)
public func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
}

/// libFuzzer's entry for programs that have a `main` of their own.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// Hands the process to libFuzzer with `target` as the function under test.
///
/// Why not libFuzzer's own `main`: SwiftPM links every executable with `main`
/// aliased to the module's entry point, so each target has a `main.swift` that
/// calls this instead.
public func runFuzzer(_ target: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, target))
}
