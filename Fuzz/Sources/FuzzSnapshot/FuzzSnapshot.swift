/// bbolt snapshots (`etcdctl snapshot save`, `member/snap/db`): trailer check,
/// meta pages, tree walk, `key` and `meta` buckets. A mismatching trailer is
/// read again as `--skip-hash-check` would, so mutations get past the digest.
import AtRestDump
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let scratch = ScratchFile.shared
    scratch.write(bytes(data, size))
    for skipHashCheck in [false, true] {
        var sink = DiscardingSink()
        do {
            _ = try SnapshotReader(path: scratch.openablePath, displayName: "fuzz.db", skipHashCheck: skipHashCheck).read(into: &sink)
            return 0
        } catch let error as DumpError where error.code == .checksumMismatch && !skipHashCheck {
            continue
        } catch {
            expectOneLineDumpError(error)
            return 0
        }
    }
    return 0
}
