import AtRestTestSupport
import Foundation
import Testing

/// Inputs that are not regular files: a FIFO or `<(...)` is read once, as a
/// stream; what must be copied to a temporary file to be read (a snapshot or
/// plain output on standard input) is capped; `--salvage` takes regular files only.
@Suite struct StreamInputTests {
    @Test func aFIFOIsReadOnceAsAStream() throws {
        let dir = try Fixtures.temporaryDirectory("stream")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("export.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let export = try Fixtures.bytes("etcd/export.json")
        // The writer opens the FIFO (blocking until atrest does) and writes it once.
        Thread.detachNewThread {
            guard let handle = FileHandle(forWritingAtPath: fifo) else { return }
            try? handle.write(contentsOf: Data(export))
            try? handle.close()
        }
        let expected = try AtRestBinary.run(["stats", Fixtures.path("etcd/export.json")])
        let result = try AtRestProcess.run(["stats", fifo], scratch: dir, seconds: 30)
        #expect(result.ending == .exited(0), "\(result.stderr)")
        #expect(result.stdout == expected.stdout.replacingOccurrences(of: Fixtures.path("etcd/export.json"), with: fifo))
    }

    @Test func processSubstitutionIsReadOnce() throws {
        let result = try AtRestBinary.runProgram("/bin/bash", [
            "-c", "exec \"$1\" stats <(cat \"$2\")", "bash", try AtRestBinary.executable().path, Fixtures.path("etcd/export.json")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("etcdctl-json"), "\(result.stdout)")
    }

    @Test(arguments: ["fifo", "/dev/zero"])
    func salvageRefusesWhatIsNotARegularFile(_ kind: String) throws {
        let dir = try Fixtures.temporaryDirectory("stream")
        defer { try? FileManager.default.removeItem(at: dir) }
        var input = kind
        if kind == "fifo" {
            input = dir.appendingPathComponent("snapshot.fifo").path
            #expect(mkfifo(input, 0o600) == 0)
        }
        // No writer ever opens the FIFO: a refusal must not wait for one.
        let result = try AtRestProcess.run(["stats", "--salvage", input], scratch: dir, seconds: 30)
        #expect(result.ending == .exited(2), "\(result.stderr)")
        #expect(result.stderr.contains("--salvage") && result.stderr.hasSuffix("[dump.io]\n"), "\(result.stderr)")
    }

    /// Snapshot, then bytes without end (a `--spool-limit` of 1 MiB stands in for the default 8 GiB).
    @Test(arguments: [["stats", "-"], ["stats", "--salvage", "-"], ["index", "-", "--index", "IDX"]])
    func standardInputThatMustBeSpooledIsCapped(_ arguments: [String]) throws {
        let dir = try Fixtures.temporaryDirectory("stream")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tmp = dir.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: false)
        let command = arguments.map { $0 == "IDX" ? dir.appendingPathComponent("idx").path : $0 } + ["--spool-limit", "1M"]
        let atrest = try AtRestProcess(command, environment: ["TMPDIR": tmp.path], scratch: dir)
        try atrest.write(try Fixtures.bytes("etcd/snapshot.db"))
        // Write until atrest stops reading (it refused) or far past the limit.
        let chunk = [UInt8](repeating: 0, count: 64 << 10)
        var written = 0
        while written < 64 << 20, (try? atrest.write(chunk)) != nil { written += chunk.count }
        #expect(try atrest.wait() == .exited(2))
        #expect(atrest.stderr.contains("1 MiB") && atrest.stderr.hasSuffix("[dump.too-large]\n"), "\(atrest.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("idx").path))
    }

    @Test func aSnapshotOnStandardInputWithinTheLimitIsRead() throws {
        let result = try AtRestBinary.run(["stats", "-", "--spool-limit", "1M"], stdin: try Fixtures.bytes("etcd/snapshot.db"))
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func aKineDatabaseReachedThroughASymlinkIsReadWithItsWAL() throws {
        let dir = try Fixtures.temporaryDirectory("stream")
        defer { try? FileManager.default.removeItem(at: dir) }
        let kine = try GeneratedKine.make(in: dir)
        let elsewhere = dir.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: false)
        let link = elsewhere.appendingPathComponent("state.db").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: kine.database)
        let direct = try AtRestBinary.run(["stats", kine.database])
        let linked = try AtRestBinary.run(["stats", link])
        #expect(direct.status == 0 && linked.status == 0, "\(linked.stderr)")
        #expect(linked.stdout == direct.stdout.replacingOccurrences(of: kine.database, with: link))
    }
}
