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

    /// `durable: false` skips the final flush to disk: for a temporary index that
    /// is read once and removed, a crash loses nothing worth keeping.
    private static func build(inputs: [String], at directory: String, options: ReadOptions, durable: Bool,
                              progress: ((_ done: UInt64, _ total: UInt64?) -> Void)?) throws -> IndexProvenance {
        let fm = FileManager.default
        let destination = URL(fileURLWithPath: directory).standardizedFileURL
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: destination.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, Index.looksLikeIndex(destination.path) else {
                throw IndexError.notAnIndex(path: directory)
            }
        }
        let parent = destination.deletingLastPathComponent()
        removeAbandonedBuilds(of: destination)
        let staging = parent.appendingPathComponent(".\(destination.lastPathComponent).partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try fm.createDirectory(at: staging, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw IndexError.io(path: directory, message: "cannot create the index directory: \(error.localizedDescription)")
        }
        do {
            let provenance = try write(inputs: inputs, to: staging.path, options: options, durable: durable, progress: progress)
            try publish(staging, at: destination)
            return provenance
        } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
    }

    /// Builds a throw-away index for one command run (`stats export.json`), lends
    /// it to `body`, and removes it when `body` returns or throws.
    ///
    /// Scoped rather than returned, so that the directory's teardown has one owner
    /// and one defined moment, not the end of some caller's local variable.
    public static func withTemporaryIndex<R>(inputs: [String], options: ReadOptions = .init(),
                                             progress: ((_ done: UInt64, _ total: UInt64?) -> Void)? = nil,
                                             _ body: (Index) throws -> R) throws -> R {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("atrest-\(getpid())-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw IndexError.io(path: base.path, message: "cannot create a temporary index: \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: base) }
        let directory = base.appendingPathComponent("index").path
        _ = try build(inputs: inputs, at: directory, options: options, durable: false, progress: progress)
        return try body(try Index(directory: directory))
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
            try? fm.removeItem(at: parent.appendingPathComponent(entry))
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
            try? fm.removeItem(at: old)
        } else if rename(staging.path, destination.path) != 0 {
            throw IndexError.io(path: destination.path, message: "cannot publish the index: \(String(cString: strerror(errno)))")
        }
    }
}
