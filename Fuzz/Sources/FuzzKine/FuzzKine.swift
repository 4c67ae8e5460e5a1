/// k3s kine databases (`state.db`): SQLite's header, `PRAGMA quick_check`, the
/// schema check and the ordered read of rows and `old_value` copies, through the
/// private copy `ExportReading` makes. Every input gets SQLite's 16-byte header, so
/// mutations are spent on the database, not on format detection.
import AtRestDump
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = bytes(data, size)
    let header = Array("SQLite format 3\u{0}".utf8)
    let database = header + Array(input.dropFirst(min(input.count, header.count)))
    let scratch = ScratchFile.shared
    database.withUnsafeBytes { scratch.write($0) }
    var sink = DiscardingSink()
    do {
        _ = try ExportReading.read([scratch.openablePath], into: &sink)
    } catch {
        expectOneLineDumpError(error)
    }
    return 0
}
