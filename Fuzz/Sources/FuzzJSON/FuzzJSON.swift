/// etcdctl `-w json` and grpc-gateway JSON: one document or several pages
/// concatenated, through the reader and the pagination check, as `ExportReading` does.
@testable import AtRestDump
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let scratch = ScratchFile.shared
    scratch.write(bytes(data, size))
    var sink = DiscardingSink()
    var keys = PageKeyGuard()
    do {
        let stream = ByteStream(openScratch(scratch), name: "fuzz.json")
        var reader = EtcdJSONReader(stream: stream)
        let result = try reader.read(into: &sink, guard: &keys)
        _ = PaginationCheck(pages: result.pages).completeness.description
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
