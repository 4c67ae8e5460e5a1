internal import COpenSSL

/// A reusable output buffer for plaintexts that are authenticated, not kept: an
/// audit opens millions of values and needs none of their bytes, so it decrypts
/// each into the same memory instead of a fresh array. The bytes are wiped after
/// every use, and the memory is wiped again when freed.
///
/// Not thread-safe: one per decrypting thread (as the decryptors are).
public final class ScratchBuffer {
    private var base: UnsafeMutableRawPointer?
    private var capacity = 0

    public init() {}

    deinit {
        guard let base else { return }
        OPENSSL_cleanse(base, capacity)
        base.deallocate()
    }

    /// Lends at least `count` bytes (at least one, so there is always an address) to `body`, then wipes them.
    func withBytes<R, E: Error>(_ count: Int, _ body: (UnsafeMutablePointer<UInt8>) throws(E) -> R) throws(E) -> R {
        let needed = Swift.max(count, 1)
        if needed > capacity || base == nil {
            if let old = base {
                OPENSSL_cleanse(old, capacity)
                old.deallocate()
            }
            capacity = Swift.max(needed, 2 * capacity, 4096)
            base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        }
        let memory = base.unsafelyUnwrapped
        defer { OPENSSL_cleanse(memory, needed) }
        return try body(memory.assumingMemoryBound(to: UInt8.self))
    }
}
