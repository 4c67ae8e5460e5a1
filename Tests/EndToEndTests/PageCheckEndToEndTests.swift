import Foundation
import Testing
import AtRestTestSupport

/// bbolt's consistency check through the binary: a snapshot whose page accounting
/// `etcdctl snapshot status` rejects exits 2 with one line naming the pages, from
/// `stats` (one read) and `audit` (two reads) alike; `--salvage` reads it as partial.
/// And the salvage of a crafted file stays within bounded memory (D13).
struct PageCheckEndToEndTests {
    let directory: URL

    init() throws {
        directory = try Fixtures.temporaryDirectory("page-check-e2e")
    }

    private func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// `stats` and `audit` both exit 2 with the same single line; returns it.
    private func expectRefused(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let stats = try AtRestBinary.run(["stats", path])
        #expect(stats.status == 2, "status \(stats.status): \(stats.stderr)", sourceLocation: sourceLocation)
        #expect(stats.stdout.isEmpty, sourceLocation: sourceLocation)
        #expect(stats.stderr.split(separator: "\n").count == 1, "\(stats.stderr)", sourceLocation: sourceLocation)
        let audit = try AtRestBinary.run(["audit", path, "--config", Fixtures.path("audit/config.yaml"), "--feature-gates", "KMSv1=true"])
        #expect(audit.status == 2 && audit.stdout.isEmpty && audit.stderr == stats.stderr,
                "audit: \(audit.status) \(audit.stderr)", sourceLocation: sourceLocation)
        return stats.stderr
    }

    @Test func aPageFreedTwiceAndALostPageExitTwoNamingThePages() throws {
        var bolt = CraftedBolt()
        bolt.freeIDs = [CraftedBolt.freelistPage, CraftedBolt.freelistPage]
        let path = try write(bolt.bytes(), "double-free.db")
        let stderr = try expectRefused(path)
        #expect(stderr == "atrest: \(path): page 4: integrity check failed (as bbolt's tx.Check), 2 errors found: "
                + "page 4: already freed, page 5: unreachable unfreed [dump.inconsistent-pages]\n", "\(stderr)")
    }

    @Test func anUnreadableFreelistExitsTwoNamingIt() throws {
        var bolt = CraftedBolt()
        bolt.freelistFlags = 0x02
        let path = try write(bolt.bytes(), "bad-freelist.db")
        let stderr = try expectRefused(path)
        #expect(stderr.hasPrefix("atrest: \(path): page 4: freelist page 4 has flags 0x2"), "\(stderr)")
        #expect(stderr.hasSuffix("[dump.bad-freelist]\n"), "\(stderr)")
    }

    @Test func salvageOfAnInconsistentFileIsPartialWithTheReason() throws {
        var bolt = CraftedBolt()
        bolt.freeIDs = []
        let path = try write(bolt.bytes(), "lost-page.db")
        let text = try AtRestBinary.run(["stats", "--salvage", path])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("completeness: partial: salvaged: "), "\(text.stdout)")
        #expect(text.stdout.contains("page 5: unreachable unfreed"), "\(text.stdout)")
    }

    /// etcd's own fixture for its check (`TestCorruptedBackupFileCheck`), kept beside the
    /// repository with the other real-world inputs.
    static let corruptedBackup = Fixtures.root.deletingLastPathComponent()
        .appendingPathComponent("shared/external/etcd-corrupted-backup/corrupted_backup.db").path

    @Test(.enabled(if: FileManager.default.fileExists(atPath: corruptedBackup),
                   "skipped: ../shared/external (the real-world inputs beside the repository) is absent"))
    func etcdsCorruptedBackupIsRefusedAsEtcdctlSnapshotStatusDoes() throws {
        let stderr = try expectRefused(Self.corruptedBackup)
        // etcdctl: "snapshot file integrity check failed. 2 errors found. page 3: already freed / page 4: unreachable unfreed".
        #expect(stderr.contains("2 errors found: page 3: already freed, page 4: unreachable unfreed [dump.inconsistent-pages]"), "\(stderr)")
        let salvaged = try AtRestBinary.run(["stats", "--salvage", "--output", "json", Self.corruptedBackup])
        #expect(salvaged.status == 0, "\(salvaged.stderr)")
        #expect(salvaged.stdout.contains("\"partial\""), "\(salvaged.stdout)")
    }

    // MARK: D13

    /// Runs `atrest ARGS` under /usr/bin/time; the status, stdout and peak RSS in KiB.
    private func runMeasured(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String, maxRSS: Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        process.arguments = ["-f", "maxrss-kib=%M", try AtRestBinary.executable().path] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let lines = String(decoding: stderr, as: UTF8.self).split(separator: "\n").map(String.init)
        let rss = lines.last.flatMap { $0.hasPrefix("maxrss-kib=") ? Int($0.dropFirst("maxrss-kib=".count)) : nil } ?? .max
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self),
                lines.filter { !$0.hasPrefix("maxrss-kib=") }.joined(separator: "\n"), rss)
    }

    /// The security review's crafted file: no meta pages, then copies of one `key` bucket
    /// leaf, each with its own page id and revisions (here 81,920 pages, 320 MiB, two
    /// 1.9 KB values a page). Every revision must be recovered, within 256 MiB.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/time"), "needs /usr/bin/time for the peak RSS"))
    func salvageOfManyCopiesOfALeafStaysWithinBoundedMemory() throws {
        let pages = 81_920
        let path = directory.appendingPathComponent("salvage-bomb.db").path
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        let value = [UInt8](repeating: 0x41, count: 1900)
        var chunk = [UInt8](repeating: 0, count: 2 * CraftedBolt.pageSize)
        for index in 0..<pages {
            let id = UInt64(2 + index)
            chunk += CraftedBolt.leafPage(id, (0..<2).map { sub in
                let main = 2 * index + sub + 1
                return (0, CraftedBolt.revisionKey(main), CraftedBolt.keyValue(main % 7, value: value))
            })
            if chunk.count >= 4 << 20 {
                try handle.write(contentsOf: chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        try handle.write(contentsOf: chunk)
        try handle.close()
        let result = try runMeasured(["stats", "--salvage", path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("salvaged: \(2 * pages) revisions recovered from \(pages) key-bucket leaf pages"), "\(result.stdout)")
        #expect(result.maxRSS < 256 * 1024, "peak RSS \(result.maxRSS) KiB")
    }
}
