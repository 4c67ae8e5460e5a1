/// `etcdctl get -w fields` output through the fields reader and the pagination check.
@testable import AtRestDump
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let scratch = ScratchFile.shared
    scratch.write(bytes(data, size))
    let stream = ByteStream(fd: scratch.fd, name: "fuzz.fields")
    var sink = DiscardingSink()
    var keys = PageKeyGuard()
    do {
        let result = try FieldsReader(stream: stream).read(into: &sink, guard: &keys)
        _ = PaginationCheck(pages: result.pages).completeness.description
    } catch {
        expectOneLineDumpError(error)
    }
    return 0
}
