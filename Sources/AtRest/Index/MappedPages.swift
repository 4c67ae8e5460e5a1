#if canImport(Glibc)
import Glibc
#endif

/// Keeps a scan of a memory-mapped index within a bounded resident set.
///
/// LMDB reads through a shared, read-only file mapping: every page a scan
/// touches stays in the process's RSS until unmapped, so a scan of a multi-GiB
/// index would look like a multi-GiB process. This notes the span of the map
/// that records were read from and, every `interval` bytes, tells the kernel
/// (`MADV_DONTNEED`) to drop that span from this process. The pages stay in the
/// page cache and fault back in if read again; nothing else changes. Safe while a
/// transaction is open: for a shared file mapping the data is the file's.
///
/// LMDB does not expose the map's address (`me_mapaddr` is set only with
/// `MDB_FIXEDMAP`), so the span is taken from the records themselves; it lies
/// within the one contiguous mapping.
struct MappedPages {
    static let interval = 64 << 20

    private var low = UInt.max
    private var high: UInt = 0
    private var bytes = 0

    mutating func note(_ buffer: UnsafeRawBufferPointer) {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return }
        let start = UInt(bitPattern: base)
        low = min(low, start)
        high = max(high, start + UInt(buffer.count))
        bytes += buffer.count
        if bytes >= Self.interval { release() }
    }

    /// Drops the span noted so far; the record being visited is re-faulted if still in use.
    mutating func release() {
        defer { low = .max; high = 0; bytes = 0 }
        guard low < high else { return }
        let page = UInt(sysconf(Int32(_SC_PAGESIZE)))
        let start = low & ~(page - 1)
        let end = (high + page - 1) & ~(page - 1)
        guard let address = UnsafeMutableRawPointer(bitPattern: start) else { return }
        madvise(address, Int(end - start), MADV_DONTNEED)
    }
}
