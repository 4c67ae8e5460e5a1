/// bbolt snapshots (`etcdctl snapshot save`, `member/snap/db`): trailer check,
/// meta pages, tree walk, `key` and `meta` buckets, bbolt's page accounting check
/// (freelist). A mismatching trailer is read again as `--skip-hash-check` would, so
/// mutations get past the digest; every input is also read with `--salvage` (the
/// page scan and its sorted runs).
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
            break
        } catch let error as DumpError where error.code == .checksumMismatch && !skipHashCheck {
            continue
        } catch {
            expectOneLineDumpError(error)
            break
        }
    }
    var sink = DiscardingSink()
    do {
        _ = try SnapshotReader(path: scratch.openablePath, displayName: "fuzz.db", salvage: true).read(into: &sink)
    } catch {
        expectOneLineDumpError(error)
    }
    return 0
}
