/// `etcdctl get --hex` output through the hex reader.
@testable import AtRestDump
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let scratch = ScratchFile.shared
    scratch.write(bytes(data, size))
    var sink = DiscardingSink()
    var keys = PageKeyGuard()
    do {
        let stream = ByteStream(try InputFile(path: scratch.path), name: "fuzz.hex")
        _ = try HexReader(stream: stream).read(into: &sink, guard: &keys)
    } catch {
        expectOneLineDumpError(error)
    }
    return 0
}
