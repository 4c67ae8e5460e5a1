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
        let stream = ByteStream(try InputFile(path: scratch.path), name: "fuzz.json")
        let result = try EtcdJSONReader(stream: stream).read(into: &sink, guard: &keys)
        _ = PaginationCheck(pages: result.pages).completeness.description
    } catch {
        expectOneLineDumpError(error)
    }
    return 0
}
