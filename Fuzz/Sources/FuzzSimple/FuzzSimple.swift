/// Plain `etcdctl get` output: the checking pass, then (when it passes) the
/// delivering pass over the same bytes, as `ExportReading` runs them.
#if canImport(Glibc)
import Glibc
#endif
@testable import AtRestDump
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let scratch = ScratchFile.shared
    scratch.write(bytes(data, size))
    let reader = SimpleReader(name: "fuzz.txt")
    var sink = DiscardingSink()
    var keys = PageKeyGuard()
    do {
        let records = try reader.validate(ByteStream(openScratch(scratch), name: "fuzz.txt"))
        try reader.deliver(ByteStream(openScratch(scratch), name: "fuzz.txt"), into: &sink, guard: &keys)
        if Int64(sink.entries) != records {
            fatalError("plain reader checked \(records) records but delivered \(sink.entries)")
        }
    } catch {
        expectOneLineDumpError(error)
    }
    return 0
}

/// The scratch file opened as the CLI opens an input; a harness that cannot open
/// it would test nothing, so that traps.
private func openScratch(_ scratch: ScratchFile) -> InputFile {
    guard let file = try? InputFile(path: scratch.openablePath) else { fatalError("cannot open the scratch file \(scratch.openablePath)") }
    return file
}
