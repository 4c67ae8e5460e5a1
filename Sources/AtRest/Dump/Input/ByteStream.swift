#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A forward-only buffered reader over `read(2)` that every text reader parses from.
///
/// Why not mmap or whole-file reads: inputs may be pipes (stdin) and may be larger
/// than memory, so memory must stay bounded by the largest single token (a 2 MiB
/// base64 value), never by the input. The buffer is read in 1 MiB chunks and
/// only grows when one token does not fit.
///
/// Every byte read from the descriptor also goes, once and in order, into a
/// running SHA-256 and a byte count: the provenance digest of the input, which is
/// the same whether the input was a file or a pipe. Past the first few MiB the
/// hashing moves to a `BackgroundHasher`, which hashes the buffer in place while
/// the reader parses it. Peeking (format detection)
/// keeps bytes in the buffer, so nothing is lost on unseekable stdin.
///
/// Readers scan the buffer directly (`base`, `position`, `limit`) for speed; any
/// pointer or index into the buffer is invalidated by `refill()`, which may move
/// unread bytes to the front or reallocate. Keep positions relative to `position`
/// across refills.
final class ByteStream {
    static let chunkSize = 1 << 20
    /// A single token (string, line) larger than this is refused rather than
    /// buffered, so that memory stays bounded (the buffer may double once past it).
    /// 40 MiB holds a 10 MiB value however a line format escapes it (`-w fields`
    /// writes `\xNN` for a binary byte, `--hex` two digits): etcd refuses requests
    /// over 1.5 MiB by default and recommends no more than 10 MiB
    /// (`embed.DefaultMaxRequestBytes`, `recommendedMaxRequestBytes`).
    static let defaultMaxTokenBytes = 40 << 20

    /// The input name used in error messages.
    let name: String
    /// The input read from: held, so that its descriptor stays open (and is not
    /// reused for another file) for as long as this stream exists.
    private let file: InputFile
    private(set) var base: UnsafeMutableRawPointer
    private(set) var capacity: Int
    /// Index in `base` of the next unread byte.
    var position: Int = 0
    /// Index in `base` one past the last valid byte.
    private(set) var limit: Int = 0
    /// Absolute input offset of `base[0]`.
    private var baseOffset: UInt64 = 0
    private(set) var isAtEOF = false
    private let hasher = SHA256()
    /// Hashes chunks on its own thread once the input is past `backgroundHashingFrom` bytes.
    private var background: BackgroundHasher?
    /// Below this many bytes the thread costs more than hashing in line would.
    static let backgroundHashingFrom: UInt64 = 4 << 20
    /// Bytes read from the descriptor so far.
    private(set) var byteCount: UInt64 = 0
    var maxTokenBytes = ByteStream.defaultMaxTokenBytes
    /// Called after each read with the total bytes read so far.
    var onRead: ((UInt64) -> Void)?

    /// Reads `file`, naming it `name` in messages (its display name by default).
    init(_ file: InputFile, name: String? = nil, initialCapacity: Int = 64 << 10) {
        self.file = file
        self.name = name ?? file.displayName
        self.capacity = max(initialCapacity, 64)
        self.base = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit {
        background?.stop()
        base.deallocate()
    }

    /// Absolute input offset of the next unread byte.
    var offset: UInt64 { baseOffset &+ UInt64(position) }

    /// Absolute input offset of buffer index `index`.
    @inline(__always)
    func offset(ofIndex index: Int) -> UInt64 { baseOffset &+ UInt64(index) }

    /// Bytes buffered and not yet consumed.
    @inline(__always)
    var available: Int { limit - position }

    /// The SHA-256 of every byte read so far.
    func digest() -> [UInt8] { background?.digest() ?? hasher.digest() }

    /// Reads at least one more byte into the buffer, keeping unread bytes.
    /// Returns false at end of input (nothing was added).
    @discardableResult
    func refill() throws -> Bool {
        if isAtEOF { return false }
        if background == nil && byteCount >= Self.backgroundHashingFrom { startBackgroundHashing() }
        let unread = limit - position
        let minimumRead = ByteStream.chunkSize / 4
        if capacity - limit < minimumRead, position > 0 {
            // Compact: move unread bytes to the front.
            background?.waitUntilHashed()
            if unread > 0 { memmove(base, base + position, unread) }
            baseOffset &+= UInt64(position)
            position = 0
            limit = unread
        }
        if capacity - limit < minimumRead {
            // One token does not fit: grow (the only way memory grows).
            guard unread <= maxTokenBytes else {
                throw DumpError(.tooLarge, file: name, at: .byte(offset),
                                "a single line or token is longer than \(maxTokenBytes >> 20) MiB; refusing to buffer it "
                                + "(etcd stores no key or value that large)")
            }
            let newCapacity = max(capacity * 2, limit + ByteStream.chunkSize)
            let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
            background?.waitUntilHashed()
            if limit > 0 { newBase.copyMemory(from: base, byteCount: limit) }
            base.deallocate()
            base = newBase
            capacity = newCapacity
        }
        let request = min(capacity - limit, ByteStream.chunkSize)
        while true {
            let count = file.read(into: base + limit, count: request)
            if count < 0 {
                if errno == EINTR { continue }
                throw DumpError(.io, file: name, at: .byte(offset(ofIndex: limit)), "read failed: \(InputFile.errnoText())")
            }
            if count == 0 {
                isAtEOF = true
                return false
            }
            let chunk = UnsafeRawBufferPointer(start: base + limit, count: count)
            if let background { background.submit(chunk) } else { hasher.update(chunk) }
            byteCount &+= UInt64(count)
            limit += count
            onRead?(byteCount)
            return true
        }
    }

    /// Hands hashing to a thread, with a buffer of several chunks: the hasher then
    /// falls behind by up to that much before the reader waits for it, at the next
    /// compaction.
    private func startBackgroundHashing() {
        background = BackgroundHasher(continuing: hasher)
        let roomy = 8 * ByteStream.chunkSize
        guard capacity < roomy else { return }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: roomy, alignment: 16)
        if limit > 0 { newBase.copyMemory(from: base, byteCount: limit) }
        base.deallocate()
        base = newBase
        capacity = roomy
    }

    /// Makes at least `count` unread bytes available; false if the input ends first.
    @inline(__always)
    func require(_ count: Int) throws -> Bool {
        while limit - position < count {
            if try !refill() { return false }
        }
        return true
    }

    /// The first `count` unread bytes (fewer at end of input), without consuming them.
    func peek(_ count: Int) throws -> [UInt8] {
        _ = try require(count)
        let n = min(count, available)
        return [UInt8](UnsafeRawBufferPointer(start: base + position, count: n))
    }

    /// The unread byte at `position + ahead`, or nil at end of input.
    @inline(__always)
    func peekByte(ahead: Int = 0) throws -> UInt8? {
        if limit - position <= ahead {
            guard try require(ahead + 1) else { return nil }
        }
        return base.load(fromByteOffset: position + ahead, as: UInt8.self)
    }

    /// Index (relative to `position`) of the first `byte` at or after relative index
    /// `from`, refilling as needed; nil if the input ends first.
    func find(_ byte: UInt8, fromRelative from: Int = 0) throws -> Int? {
        var scanned = from
        while true {
            let start = position + scanned
            if start < limit, let hit = memchr(base + start, Int32(byte), limit - start) {
                return (base.distance(to: hit)) - position
            }
            scanned = max(scanned, limit - position)
            if try !refill() { return nil }
        }
    }

    /// One line without its `\n`, valid only until the next call that reads.
    struct Line {
        var bytes: UnsafeRawBufferPointer
        /// Absolute offset of the line's first byte.
        var offset: UInt64
        /// False when the input ended without a final `\n`.
        var terminated: Bool
    }

    /// The next line, consuming it and its `\n`; nil at end of input.
    func nextLine() throws -> Line? {
        let start = offset
        if let length = try find(0x0A) {
            let line = Line(bytes: UnsafeRawBufferPointer(start: base + position, count: length), offset: start, terminated: true)
            position += length + 1
            return line
        }
        let length = available
        guard length > 0 else { return nil }
        let line = Line(bytes: UnsafeRawBufferPointer(start: base + position, count: length), offset: start, terminated: false)
        position += length
        return line
    }

    /// Hands every remaining byte (buffered, then the rest of the input) to `body`
    /// in chunks, consuming them.
    func drain(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        while true {
            if available > 0 {
                try body(UnsafeRawBufferPointer(start: base + position, count: available))
                position = limit
            }
            if try !refill() { return }
        }
    }

    /// Reads to the end of input without parsing (so the digest covers all of it).
    func skipToEnd() throws {
        try drain { _ in }
    }
}
