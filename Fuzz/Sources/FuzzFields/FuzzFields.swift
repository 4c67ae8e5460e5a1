/// `etcdctl get -w fields` output through the fields reader and the pagination check.
@testable import AtRestDump
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let scratch = ScratchFile.shared
    scratch.write(bytes(data, size))
    var sink = DiscardingSink()
    var keys = PageKeyGuard()
    do {
        let stream = ByteStream(try InputFile(path: scratch.path), name: "fuzz.fields")
        let result = try FieldsReader(stream: stream).read(into: &sink, guard: &keys)
        _ = PaginationCheck(pages: result.pages).completeness.description
    } catch {
        expectOneLineDumpError(error)
    }
    return 0
}
