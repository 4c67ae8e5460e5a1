import AtRestDump
import Foundation

/// Builds an index from export files and publishes it only when complete.
///
/// The environment is written in a private sibling directory and renamed into
/// place at the end, so an interrupted or failed build never leaves anything at
/// the destination that looks like an index (and a half-written one would still
/// lack the completion marker that `Index` checks).
public enum IndexBuilder {
    /// Reads `inputs` (paths, or `-`) and writes an index at `directory`,
    /// replacing an earlier atrest index there. Refuses to replace anything else.
    @discardableResult
    public static func build(inputs: [String], at directory: String, options: ReadOptions = .init(),
                             progress: ((_ done: UInt64, _ total: UInt64?) -> Void)? = nil) throws -> IndexProvenance {
        try build(inputs: inputs, at: directory, options: options, durable: true, progress: progress)
    }

    /// `durable: false` is for a temporary index that is read once and removed:
    /// no final flush to disk (a crash loses nothing worth keeping), no checksum
    /// file, and no lock (it lives in the run's private directory).
    private static func build(inputs: [String], at directory: String, options: ReadOptions, durable: Bool,
                              progress: ((_ done: UInt64, _ total: UInt64?) -> Void)?) throws -> IndexProvenance {
        let fm = FileManager.default
        let destination = URL(fileURLWithPath: directory).standardizedFileURL
        let parent = destination.deletingLastPathComponent()
        if !fm.fileExists(atPath: parent.path) {
            do {
                try fm.createDirectory(at: parent, withIntermediateDirectories: true)
            } catch {
                throw IndexError.io(path: directory, message: "cannot create the index directory: \(error.localizedDescription)")
            }
        }
        let lock = durable ? try BuildLock(destination: destination, name: directory) : nil
        defer { lock?.release() }
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: destination.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, Index.looksLikeIndex(destination.path, checksummed: durable) else {
                throw IndexError.notAnIndex(path: directory)
            }
        }
        removeAbandonedBuilds(of: destination)
        let staging = parent.appendingPathComponent(".\(destination.lastPathComponent).partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try PrivateDirectory.create(staging.path)
        } catch {
            throw IndexError.io(path: directory, message: "cannot create the index directory \(staging.path): \(systemErrorText())")
        }
        TemporaryArea.removeOnSignal(staging.path)
        defer { TemporaryArea.forget(staging.path) }
        do {
            let provenance: IndexProvenance
            do {
                provenance = try write(inputs: inputs, to: staging.path, options: options, durable: durable, progress: progress)
                // Readers never use the lock file (`LMDBEnvironment`): a published index has none.
                _ = unlink(staging.path + "/lock.mdb")
                if durable { try IndexChecksum.write(in: staging.path) }
            } catch let error as IndexError {
                throw Self.isFull(staging.path) ? IndexError.noSpace(path: directory) : error
            }
            try publish(staging, at: destination)
            return provenance
        } catch {
            PrivateDirectory.removeTree(staging.path)
            throw error
        }
    }

    /// Whether the file system holding `directory` is full. LMDB reports a write
    /// cut short by a full disk as `EIO`, so after a failed build this asks the
    /// file system directly, by reserving a little space.
    private static func isFull(_ directory: String) -> Bool {
        let probe = directory + "/.space-probe"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return errno == ENOSPC }
        defer {
            _ = unlink(probe)
            _ = close(fd)
        }
        return posix_fallocate(fd, 0, 1 << 20) == ENOSPC
    }

    /// Builds a throw-away index for one command run (`stats export.json`), lends
    /// it to `body`, and removes it when `body` returns or throws.
    ///
    /// Scoped rather than returned, so that the directory's teardown has one owner
    /// and one defined moment, not the end of some caller's local variable. It is
    /// built in the run's `TemporaryArea`, which is also removed if the run is
    /// stopped by a signal, and swept by a later run if it dies otherwise.
    public static func withTemporaryIndex<R>(inputs: [String], options: ReadOptions = .init(),
                                             progress: ((_ done: UInt64, _ total: UInt64?) -> Void)? = nil,
                                             _ body: (Index) throws -> R) throws -> R {
        let directory = try TemporaryArea.directory() + "/index-\(UInt32.random(in: 0...UInt32.max))"
        defer { PrivateDirectory.removeTree(directory) }
        _ = try build(inputs: inputs, at: directory, options: options, durable: false, progress: progress)
        return try body(try Index(directory: directory, verify: false))
    }

    private static func write(inputs: [String], to path: String, options: ReadOptions, durable: Bool,
                              progress: ((_ done: UInt64, _ total: UInt64?) -> Void)?) throws -> IndexProvenance {
        var writer: IndexWriter
        do { writer = try IndexWriter(environment: try LMDBEnvironment(directory: path, readOnly: false)) } catch { throw IndexError(error, path: path) }
        let summary: ExportSummary
        do { summary = try ExportReading.read(inputs, options: options, into: &writer, progress: progress) } catch let error as LMDBError { throw IndexError(error, path: path) }
        do { return try finish(writer, summary, durable: durable) } catch let error as LMDBError { throw IndexError(error, path: path) }
    }

    private static func finish(_ writer: IndexWriter, _ summary: ExportSummary, durable: Bool) throws -> IndexProvenance {
        try writer.finish(durable: durable) { counts in IndexProvenance(export: summary, counts: counts) }
    }

    /// Removes the staging (`.NAME.partial-PID-N`) and swap (`.NAME.old-PID`) directories
    /// that a build of `destination` left when it was killed: those whose process is gone.
    private static func removeAbandonedBuilds(of destination: URL) {
        let fm = FileManager.default
        let parent = destination.deletingLastPathComponent()
        let name = destination.lastPathComponent
        guard let entries = try? fm.contentsOfDirectory(atPath: parent.path) else { return }
        for entry in entries {
            let rest: Substring
            if entry.hasPrefix(".\(name).partial-") {
                rest = entry.dropFirst(".\(name).partial-".count)
            } else if entry.hasPrefix(".\(name).old-") {
                rest = entry.dropFirst(".\(name).old-".count)
            } else {
                continue
            }
            guard let pid = Int32(rest.prefix { $0 != "-" }), pid != getpid(),
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            PrivateDirectory.removeTree(parent.appendingPathComponent(entry).path)
        }
    }

    private static func publish(_ staging: URL, at destination: URL) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: destination.path) {
            let old = destination.deletingLastPathComponent()
                .appendingPathComponent(".\(destination.lastPathComponent).old-\(getpid())")
            guard rename(destination.path, old.path) == 0, rename(staging.path, destination.path) == 0 else {
                throw IndexError.io(path: destination.path, message: "cannot replace the index: \(String(cString: strerror(errno)))")
            }
            PrivateDirectory.removeTree(old.path)
        } else if rename(staging.path, destination.path) != 0 {
            throw IndexError.io(path: destination.path, message: "cannot publish the index: \(String(cString: strerror(errno)))")
        }
    }
}
