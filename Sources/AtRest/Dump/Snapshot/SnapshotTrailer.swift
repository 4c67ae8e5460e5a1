import Foundation

/// The sha256 trailer that `etcdctl snapshot save` appends to the bbolt file.
///
/// Why: the server streams the db and then one extra message holding
/// `sha256(db)`; the client requires `size % 512 == 32` before it keeps the file
/// (etcd `clientv3/snapshot/v3_snapshot.go: Save`, server side
/// `etcdserver/api/v3rpc/maintenance.go: Snapshot`; spec §2.1). `etcdctl snapshot
/// restore` refuses a mismatching trailer unless `--skip-hash-check`; atrest
/// follows the same rule. A db copied from `member/snap/db` has no trailer.
enum SnapshotTrailer {
    /// Length of the trailer: one sha256 digest.
    static let length: UInt64 = 32
    /// The hashing pass reads this much at a time, so memory stays bounded.
    static let chunkSize = 1 << 20

    struct Result {
        var status: ExportMetadata.TrailerStatus
        /// Bytes of bbolt database: the file size, minus the trailer when there is one.
        var databaseSize: UInt64
        /// sha256 of the whole file, trailer included (provenance).
        var fileSHA256: [UInt8]
    }

    /// What `check` would find, but for the hash: the database size, and the trailer
    /// as present (taken as verified until `check` says otherwise) or absent.
    static func layout(of file: SnapshotFile) -> Result {
        let size = file.size
        let hasTrailer = size % 512 == length && size >= length
        return Result(status: hasTrailer ? .verified : .absent, databaseSize: hasTrailer ? size - length : size, fileSHA256: [])
    }

    /// Hashes the file once, streaming; checks the trailer when `size % 512 == 32`.
    ///
    /// With `skipHashCheck`, a mismatching trailer is still excluded from the db
    /// (status `.skipped`); a matching one is reported `.verified` all the same,
    /// since the digest is computed anyway for provenance.
    static func check(_ file: SnapshotFile, skipHashCheck: Bool) throws(DumpError) -> Result {
        let size = file.size
        let hasTrailer = size % 512 == length && size >= length
        let bodySize = hasTrailer ? size - length : size
        let hasher = SHA256()
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { chunk.deallocate() }
        var offset: UInt64 = 0
        while offset < bodySize {
            let count = Int(min(UInt64(chunkSize), bodySize - offset))
            let slice = UnsafeMutableRawBufferPointer(rebasing: chunk[0..<count])
            try file.read(into: slice, at: offset, limit: size, location: .byte(offset), what: "hashing")
            hasher.update(UnsafeRawBufferPointer(slice))
            offset += UInt64(count)
        }
        guard hasTrailer else {
            return Result(status: .absent, databaseSize: size, fileSHA256: hasher.digest())
        }
        let computed = hasher.digest()
        let trailer = UnsafeMutableRawBufferPointer(rebasing: chunk[0..<Int(length)])
        try file.read(into: trailer, at: bodySize, limit: size, location: .byte(bodySize), what: "sha256 trailer")
        let expected = [UInt8](trailer)
        hasher.update(expected)
        let whole = hasher.digest()
        if computed == expected {
            return Result(status: .verified, databaseSize: bodySize, fileSHA256: whole)
        }
        guard skipHashCheck else {
            throw DumpError(.checksumMismatch, file: file.displayName, at: .byte(bodySize),
                            "sha256 trailer does not match the snapshot: expected \(expected.hexString), computed \(computed.hexString) (use --skip-hash-check to read it anyway)")
        }
        return Result(status: .skipped, databaseSize: bodySize, fileSHA256: whole)
    }
}

/// `SnapshotTrailer.check` on a thread of its own (`pread` at explicit offsets is safe
/// beside the tree's reads of the same descriptor); `result()` waits for it.
final class ConcurrentTrailerCheck: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var outcome: Result<SnapshotTrailer.Result, DumpError>?

    init(_ file: SnapshotFile, skipHashCheck: Bool) {
        let thread = Thread { [self] in
            outcome = Result { () throws(DumpError) in try SnapshotTrailer.check(file, skipHashCheck: skipHashCheck) }
            done.signal()
        }
        thread.name = "atrest-sha256"
        thread.start()
    }

    /// The check's result, once it is done; the same on every call.
    func result() throws(DumpError) -> SnapshotTrailer.Result {
        // Waits for the thread's signal and passes it on to the next call.
        done.wait()
        done.signal()
        guard let outcome else { preconditionFailure("the trailer check signals only once it has a result") }
        return try outcome.get()
    }
}
