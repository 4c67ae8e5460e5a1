import AtRestDump
import Foundation

/// The checksum file (`atrest.sum`) written beside `data.mdb` when an index is
/// published, and verified before LMDB is given the file.
///
/// Why: LMDB trusts its file. A damaged page (a flipped bit on disk, a truncated
/// copy) makes liblmdb follow a wild page number or offset and die of SIGSEGV or
/// SIGBUS, or quietly return other records. The published file is immutable, so
/// one checksum over all of it, verified on open, makes any damage a one-line
/// `index.corrupt` error. The file is also what marks a directory as atrest's:
/// `index` replaces nothing that lacks it (another program's LMDB environment).
///
/// Format, text: a magic line, then the algorithm, the chunk size and the size
/// of `data.mdb`, then one XXH64 (hex) per chunk. Chunks let the check run on
/// every core and say where damage is. XXH64, not SHA-256: it guards against
/// damage, not against someone who can write the index (and could rewrite this
/// file too); it runs at memory speed, where SHA-256 would add a second to a
/// 1.5 GB index.
enum IndexChecksum {
    static let fileName = "atrest.sum"
    static let magic = "atrest index checksum 1"
    static let chunkSize = 64 << 20
    /// Far above the file a 1 TiB index would have (16,384 chunks).
    static let maxFileSize = 1 << 20

    /// What `atrest.sum` records.
    struct Sums: Equatable {
        var dataSize: UInt64
        var chunks: [UInt64]
    }

    /// Whether `directory` holds a checksum file that starts with the magic line.
    static func isPresent(in directory: String) -> Bool {
        let fd = open(directory + "/" + fileName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { _ = close(fd) }
        var buffer = [UInt8](repeating: 0, count: magic.utf8.count + 1)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        return count == buffer.count && buffer == Array((magic + "\n").utf8)
    }

    /// Computes the sums of `data.mdb` in `directory` and writes `atrest.sum` (0600, synced).
    static func write(in directory: String) throws {
        let dataPath = directory + "/data.mdb"
        let fd = open(dataPath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw IndexError.io(path: dataPath, message: "cannot read the new index: \(systemErrorText())") }
        defer { _ = close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw IndexError.io(path: dataPath, message: "cannot read the new index: \(systemErrorText())") }
        let size = UInt64(info.st_size)
        guard let chunks = try sums(of: fd, size: size, path: dataPath) else {
            throw IndexError.io(path: dataPath, message: "cannot read the new index: \(systemErrorText())")
        }
        var text = "\(magic)\nxxh64 \(chunkSize) \(size)\n"
        for sum in chunks { text += hex(sum) + "\n" }
        let sumPath = directory + "/" + fileName
        let out = open(sumPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard out >= 0 else { throw IndexError.io(path: sumPath, message: "cannot write the checksum file: \(systemErrorText())") }
        defer { _ = close(out) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(out, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(out) == 0 else {
            throw IndexError.io(path: sumPath, message: "cannot write the checksum file: \(written < 0 ? systemErrorText() : "short write")")
        }
    }

    /// Checks the open `data.mdb` (`dataFD`) against the checksum file in
    /// `directory`: `IndexError.damaged` names the first chunk that differs.
    static func verify(directory: String, dataFD: Int32) throws {
        let sums = try read(directory: directory)
        var info = stat()
        guard fstat(dataFD, &info) == 0 else { throw IndexError.io(path: directory, message: "cannot read data.mdb: \(systemErrorText())") }
        guard UInt64(info.st_size) == sums.dataSize else {
            throw IndexError.damaged(path: directory, detail: "data.mdb holds \(info.st_size) bytes, but \(sums.dataSize) were written")
        }
        guard let actual = try self.sums(of: dataFD, size: sums.dataSize, path: directory) else {
            throw IndexError.io(path: directory, message: "cannot read data.mdb: \(systemErrorText())")
        }
        if let bad = actual.indices.first(where: { actual[$0] != sums.chunks[$0] }) {
            let start = UInt64(bad) * UInt64(chunkSize)
            let end = min(start + UInt64(chunkSize), sums.dataSize)
            throw IndexError.damaged(path: directory, detail: "data.mdb bytes \(start)..<\(end) do not match the checksum written when it was built")
        }
    }

    /// Parses `atrest.sum`, strictly: anything unexpected is damage.
    static func read(directory: String) throws -> Sums {
        let path = directory + "/" + fileName
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw IndexError.damaged(path: directory, detail: "cannot read \(fileName): \(systemErrorText())") }
        defer { _ = close(fd) }
        var bytes = [UInt8](repeating: 0, count: maxFileSize + 1)
        var total = 0
        while total < bytes.count {
            let count = bytes.withUnsafeMutableBytes { raw in
                pread(fd, UnsafeMutableRawBufferPointer(rebasing: raw[total...]).baseAddress, raw.count - total, off_t(total))
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            total += count
        }
        guard total <= maxFileSize else { throw IndexError.damaged(path: directory, detail: "\(fileName) is too large") }
        let lines = String(decoding: bytes[..<total], as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        func bad(_ what: String) -> IndexError { .damaged(path: directory, detail: "\(fileName): \(what)") }
        guard lines.count >= 3, lines[0] == magic, lines.last == "" else { throw bad("not a checksum file") }
        let header = lines[1].split(separator: " ")
        guard header.count == 3, header[0] == "xxh64", header[1] == "\(chunkSize)", let size = UInt64(header[2]),
              String(size) == header[2] else { throw bad("unreadable header") }
        let expectedChunks = Int((size + UInt64(chunkSize) - 1) / UInt64(chunkSize))
        let sumLines = lines[2..<(lines.count - 1)]
        guard sumLines.count == expectedChunks else { throw bad("\(sumLines.count) sums for \(expectedChunks) chunks") }
        var chunks: [UInt64] = []
        for line in sumLines {
            guard line.count == 16, line.allSatisfy({ $0.isHexDigit && ($0.isNumber || $0.isLowercase) }),
                  let value = UInt64(line, radix: 16) else { throw bad("unreadable sum") }
            chunks.append(value)
        }
        return Sums(dataSize: size, chunks: chunks)
    }

    /// One XXH64 per chunk of the first `size` bytes of `fd`, chunks spread over
    /// the cores; nil if a read fails or the file is shorter.
    private static func sums(of fd: Int32, size: UInt64, path: String) throws -> [UInt64]? {
        let count = Int((size + UInt64(chunkSize) - 1) / UInt64(chunkSize))
        let results = ChunkResults(count: count)
        let workers = max(1, min(count, ProcessInfo.processInfo.activeProcessorCount))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
            defer { buffer.deallocate() }
            var chunk = worker
            while chunk < count {
                let start = UInt64(chunk) * UInt64(chunkSize)
                let length = Int(min(UInt64(chunkSize), size - start))
                results.set(chunk, sum(fd, from: start, length: length, buffer: buffer))
                chunk += workers
            }
        }
        return results.all()
    }

    /// The workers' sums: each worker writes its own chunks' slots only.
    private final class ChunkResults: @unchecked Sendable {
        private var values: [UInt64?]
        private let lock = NSLock()

        init(count: Int) { values = Array(repeating: nil, count: count) }

        func set(_ index: Int, _ value: UInt64?) {
            lock.lock()
            values[index] = value
            lock.unlock()
        }

        /// Every sum, or nil if one read failed.
        func all() -> [UInt64]? {
            lock.lock()
            defer { lock.unlock() }
            var out: [UInt64] = []
            for value in values {
                guard let value else { return nil }
                out.append(value)
            }
            return out
        }
    }

    /// XXH64 of `length` bytes of `fd` from `start`, read with `pread` (the file
    /// is not mapped: a truncated file fails here instead of raising SIGBUS).
    private static func sum(_ fd: Int32, from start: UInt64, length: Int, buffer: UnsafeMutableRawBufferPointer) -> UInt64? {
        guard let base = buffer.baseAddress else { return nil }
        var hasher = XXH64()
        var done = 0
        // Hash whole 32-byte stripes of each read, carrying the remainder over.
        var carried = 0
        while done < length {
            let want = min(buffer.count - carried, length - done)
            let count = pread(fd, base + carried, want, off_t(start) + off_t(done))
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            done += count
            let available = carried + count
            let whole = done == length ? available : available - available % 32
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<whole]))
            carried = available - whole
            if carried > 0 { base.copyMemory(from: base + whole, byteCount: carried) }
        }
        return hasher.finish()
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// XXH64 (Yann Collet's xxHash, 64-bit, seed 0), fed in pieces whose sizes are
/// multiples of 32 bytes except the last.
struct XXH64 {
    private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    private var v1 = p1 &+ p2
    private var v2 = p2
    private var v3: UInt64 = 0
    private var v4 = 0 &- p1
    private var total: UInt64 = 0
    private var tail: [UInt8] = []
    private var finished = false

    @inline(__always)
    private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        var acc = acc &+ input &* p2
        acc = (acc << 31) | (acc >> 33)
        return acc &* p1
    }

    @inline(__always)
    private static func merge(_ acc: UInt64, _ value: UInt64) -> UInt64 {
        let acc = acc ^ round(0, value)
        return acc &* p1 &+ p4
    }

    /// Adds `bytes`; only the last piece may leave a partial stripe.
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        precondition(tail.isEmpty && !finished, "XXH64: only the last piece may be shorter than a stripe")
        total &+= UInt64(bytes.count)
        let stripes = bytes.count / 32
        var a = v1, b = v2, c = v3, d = v4
        var offset = 0
        for _ in 0..<stripes {
            a = Self.round(a, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
            b = Self.round(b, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)))
            c = Self.round(c, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self)))
            d = Self.round(d, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self)))
            offset += 32
        }
        v1 = a; v2 = b; v3 = c; v4 = d
        tail = Array(bytes[offset...])
    }

    mutating func finish() -> UInt64 {
        finished = true
        var h: UInt64
        if total >= 32 {
            h = ((v1 << 1) | (v1 >> 63)) &+ ((v2 << 7) | (v2 >> 57)) &+ ((v3 << 12) | (v3 >> 52)) &+ ((v4 << 18) | (v4 >> 46))
            h = Self.merge(h, v1)
            h = Self.merge(h, v2)
            h = Self.merge(h, v3)
            h = Self.merge(h, v4)
        } else {
            h = v3 &+ Self.p5
        }
        h &+= total
        tail.withUnsafeBytes { rest in
            var i = 0
            while i + 8 <= rest.count {
                let k = Self.round(0, UInt64(littleEndian: rest.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
                h ^= k
                h = ((h << 27) | (h >> 37)) &* Self.p1 &+ Self.p4
                i += 8
            }
            if i + 4 <= rest.count {
                h ^= UInt64(UInt32(littleEndian: rest.loadUnaligned(fromByteOffset: i, as: UInt32.self))) &* Self.p1
                h = ((h << 23) | (h >> 41)) &* Self.p2 &+ Self.p3
                i += 4
            }
            while i < rest.count {
                h ^= UInt64(rest[i]) &* Self.p5
                h = ((h << 11) | (h >> 53)) &* Self.p1
                i += 1
            }
        }
        h ^= h >> 33
        h &*= Self.p2
        h ^= h >> 29
        h &*= Self.p3
        h ^= h >> 32
        return h
    }

    /// One-shot hash.
    static func hash(_ bytes: [UInt8]) -> UInt64 {
        var hasher = XXH64()
        bytes.withUnsafeBytes { hasher.update($0) }
        return hasher.finish()
    }
}
