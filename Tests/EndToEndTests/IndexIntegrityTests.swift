import AtRestTestSupport
import Foundation
import Testing

/// An index directory is atrest's own, read without writing anything, and
/// checked before use: atrest replaces nothing else, a damaged index is an
/// error (never a crash, never other answers), and two builds never race.
@Suite struct IndexIntegrityTests {
    /// A scratch directory holding `idx`, an index of the committed etcd export.
    static func builtIndex() throws -> (directory: URL, index: String) {
        let dir = try Fixtures.temporaryDirectory("integrity")
        let index = dir.appendingPathComponent("idx").path
        let built = try AtRestBinary.run(["index", Fixtures.path("etcd/export.json"), "--index", index])
        #expect(built.status == 0, "\(built.stderr)")
        return (dir, index)
    }

    /// Another program's LMDB environment, written by LMDB's own `mdb_load`.
    static func foreignEnvironment(at directory: URL) throws {
        let load = Process()
        load.executableURL = URL(fileURLWithPath: "/usr/bin/mdb_load")
        load.arguments = [directory.path]
        let input = Pipe()
        load.standardInput = input
        try load.run()
        input.fileHandleForWriting.write(Data("VERSION=3\nformat=print\ntype=btree\nHEADER=END\n user\n alice-password-hash\nDATA=END\n".utf8))
        try input.fileHandleForWriting.close()
        load.waitUntilExit()
        #expect(load.terminationStatus == 0)
    }

    static func expectOneLineError(_ result: AtRestBinary.Result, _ identifier: String, _ label: String = "") {
        #expect(result.status == 2, "\(label) \(result.stderr)")
        #expect(result.stderr.hasSuffix("[\(identifier)]\n") && result.stderr.filter { $0 == "\n" }.count == 1, "\(label) \(result.stderr)")
    }

    static func contents(_ directory: String) throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            files[name] = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent(name)))
        }
        return files
    }

    @Test func anotherProgramsLMDBEnvironmentIsNeitherReadNorReplaced() throws {
        let dir = try Fixtures.temporaryDirectory("integrity")
        defer { try? FileManager.default.removeItem(at: dir) }
        let other = dir.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: false)
        try Self.foreignEnvironment(at: other)
        let before = try Self.contents(other.path)
        Self.expectOneLineError(try AtRestBinary.run(["stats", "--index", other.path]), "index.not-an-index", "stats")
        Self.expectOneLineError(try AtRestBinary.run(["index", Fixtures.path("etcd/export.json"), "--index", other.path]),
                                "index.not-an-index", "index")
        #expect(try Self.contents(other.path) == before)
    }

    @Test func aDirectoryHoldingOnlyADataMdbIsNotReplaced() throws {
        let dir = try Fixtures.temporaryDirectory("integrity")
        defer { try? FileManager.default.removeItem(at: dir) }
        let other = dir.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: false)
        try Data("precious".utf8).write(to: other.appendingPathComponent("data.mdb"))
        Self.expectOneLineError(try AtRestBinary.run(["index", Fixtures.path("etcd/export.json"), "--index", other.path]),
                                "index.not-an-index")
        #expect(try Self.contents(other.path) == ["data.mdb": Array("precious".utf8)])
    }

    @Test func readingAnIndexNeverWritesThroughASymlinkedLockFile() throws {
        let (dir, index) = try Self.builtIndex()
        defer { try? FileManager.default.removeItem(at: dir) }
        let victim = dir.appendingPathComponent("victim.txt")
        try Data("precious".utf8).write(to: victim)
        try FileManager.default.createSymbolicLink(atPath: index + "/lock.mdb", withDestinationPath: victim.path)
        let result = try AtRestBinary.run(["stats", "--index", index])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Data(contentsOf: victim) == Data("precious".utf8))
    }

    @Test func readingAnIndexCreatesNoFileInIt() throws {
        let (dir, index) = try Self.builtIndex()
        defer { try? FileManager.default.removeItem(at: dir) }
        let before = try Self.contents(index)
        #expect(before.keys.sorted() == ["atrest.sum", "data.mdb"])
        for arguments in [["stats", "--index", index], ["inspect", "--index", index, "--prefix", "/"],
                          ["audit", "--index", index, "--config", Fixtures.path("audit/config.yaml"), "--feature-gates", "KMSv1=true", "--exit-zero"]] {
            let result = try AtRestBinary.run(arguments)
            #expect(result.status == 0, "\(arguments[0]): \(result.stderr)")
        }
        // No lock file: an index on read-only media reads the same way.
        #expect(try Self.contents(index) == before)
    }

    @Test func aMissingIndexIsSaidNotToExist() throws {
        let dir = try Fixtures.temporaryDirectory("integrity")
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try AtRestBinary.run(["stats", "--index", dir.appendingPathComponent("nowhere").path])
        Self.expectOneLineError(result, "index.not-found")
        #expect(result.stderr.contains("does not exist"))
    }

    /// A small, fixed-seed generator: the same flips on every run.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func aByteFlippedAnywhereInTheIndexIsReportedNeverCrashesNorChangesTheAnswer() throws {
        let (dir, index) = try Self.builtIndex()
        defer { try? FileManager.default.removeItem(at: dir) }
        let expected = try AtRestBinary.run(["stats", "--index", index])
        #expect(expected.status == 0)
        let original = try Self.contents(index)
        var random = SplitMix64(state: 0xA7_2E57)
        let copy = dir.appendingPathComponent("copy")
        var refused = 0
        for run in 0..<300 {
            try? FileManager.default.removeItem(at: copy)
            try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: false)
            // One run in ten damages the checksum file, the others data.mdb.
            let target = run % 10 == 9 ? "atrest.sum" : "data.mdb"
            for (name, bytes) in original {
                var bytes = bytes
                if name == target {
                    let offset = Int.random(in: 0..<bytes.count, using: &random)
                    bytes[offset] ^= UInt8.random(in: 1...255, using: &random)
                }
                try Data(bytes).write(to: copy.appendingPathComponent(name))
            }
            let result = try AtRestBinary.run(["stats", "--index", copy.path])
            if result.status == 0 {
                #expect(result.stdout == expected.stdout.replacingOccurrences(of: index, with: copy.path), "run \(run): other answers")
            } else {
                refused += 1
                #expect(result.status == 2, "run \(run): status \(result.status): \(result.stderr)")
                #expect(result.stderr.filter { $0 == "\n" }.count == 1, "run \(run): \(result.stderr)")
                #expect(result.stderr.contains("[index.corrupt]") || result.stderr.contains("[index.not-an-index]"), "run \(run): \(result.stderr)")
            }
        }
        #expect(refused > 250, "the checksum covers every byte")
    }

    @Test func aSecondBuildOfTheSameIndexIsRefusedWhileTheFirstRuns() throws {
        let dir = try Fixtures.temporaryDirectory("integrity")
        defer { try? FileManager.default.removeItem(at: dir) }
        let index = dir.appendingPathComponent("idx").path
        let first = try AtRestProcess(["index", "-", "--index", index], scratch: dir)
        let head = TemporaryFilesTests.unfinishedExport(entries: 10)
        try first.write(head)
        try AtRestProcess.waitUntil("the first build locks the index") {
            FileManager.default.fileExists(atPath: dir.appendingPathComponent(".idx.lock").path)
        }
        let second = try AtRestBinary.run(["index", Fixtures.path("etcd/export.json"), "--index", index])
        Self.expectOneLineError(second, "index.busy")
        try first.write(Array(#"],"count":10}"#.utf8))
        try first.closeInput()
        #expect(try first.wait() == .exited(0), "\(first.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().filter { !$0.hasSuffix(".out") && !$0.hasSuffix(".err") } == ["idx"])
        #expect(first.stdout.hasPrefix("indexed 10 keys"), "\(first.stdout)")
    }

    /// Needs a private mount namespace (root, `unshare`) for a small tmpfs.
    static var canMountTmpfs: Bool {
        geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")
    }

    @Test(.enabled(if: canMountTmpfs)) func aFullDiskIsReportedAsSuch() throws {
        let dir = try Fixtures.temporaryDirectory("integrity")
        defer { try? FileManager.default.removeItem(at: dir) }
        let export = dir.appendingPathComponent("export.json")
        var body = Array(#"{"header":{"cluster_id":1,"member_id":2,"revision":3,"raft_term":2},"kvs":["#.utf8)
        let value = Data(repeating: 0x78, count: 2000).base64EncodedString()
        for index in 0..<3000 {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            let key = Data("/registry/configmaps/ns/c-\(String(format: "%06d", index))".utf8).base64EncodedString()
            body += Array(#"{"key":"\#(key)","create_revision":2,"mod_revision":2,"version":1,"value":"\#(value)"}"#.utf8)
        }
        body += Array(#"],"count":3000}"#.utf8)
        try Data(body).write(to: export)
        let mount = dir.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: mount, withIntermediateDirectories: false)
        let binary = try AtRestBinary.executable().path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = ["-m", "/bin/sh", "-c", "mount -t tmpfs -o size=2m tmpfs \"$1\" && exec \"$2\" index \"$3\" --index \"$1/idx\"",
                             "sh", mount.path, binary, export.path]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 2, "\(message)")
        #expect(message.contains("No space left on device") && message.contains("[index.no-space]"), "\(message)")
    }

    @Test(.enabled(if: canMountTmpfs)) func anIndexOnReadOnlyMediaCanBeRead() throws {
        let (dir, index) = try Self.builtIndex()
        defer { try? FileManager.default.removeItem(at: dir) }
        let expected = try AtRestBinary.run(["stats", "--index", index])
        let result = try AtRestBinary.runProgram("/usr/bin/unshare", [
            "-m", "/bin/sh", "-c", "mount --bind \"$1\" \"$1\" && mount -o remount,ro,bind \"$1\" && exec \"$2\" stats --index \"$1\"",
            "sh", index, try AtRestBinary.executable().path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == expected.stdout)
    }

    /// Dropping to another user needs root and `setpriv`.
    static var canDropPrivileges: Bool {
        geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
    }

    @Test(.enabled(if: canDropPrivileges)) func anIndexTheUserMayOnlyReadCanBeRead() throws {
        let (dir, index) = try Self.builtIndex()
        defer { try? FileManager.default.removeItem(at: dir) }
        let expected = try AtRestBinary.run(["stats", "--index", index])
        // Shared read-only with another user (`nobody`), as on read-only media: no file may be created or opened for writing.
        for path in [dir.path, index] { #expect(chmod(path, 0o755) == 0) }
        for name in try FileManager.default.contentsOfDirectory(atPath: index) { #expect(chmod(index + "/" + name, 0o644) == 0) }
        let result = try AtRestBinary.runProgram("/usr/bin/setpriv", [
            "--reuid=65534", "--regid=65534", "--clear-groups", try AtRestBinary.executable().path, "stats", "--index", index],
            environment: ["TMPDIR": dir.path, "PATH": "/usr/bin:/bin"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == expected.stdout)
    }

    /// An export whose keys include the empty key, which etcd allows.
    static func exportWithTheEmptyKey(in dir: URL) throws -> String {
        let kvs = ["", "/a", "/b"].map { key in
            #"{"key":"\#(Data(key.utf8).base64EncodedString())","create_revision":2,"mod_revision":2,"version":1,"value":"\#(Data("v".utf8).base64EncodedString())"}"#
        }
        let path = dir.appendingPathComponent("empty-key.json").path
        try Data(#"{"header":{"cluster_id":1,"member_id":2,"revision":2,"raft_term":2},"kvs":[\#(kvs.joined(separator: ","))],"count":3}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func anEmptyPrefixMeansEveryKey() throws {
        let dir = try Fixtures.temporaryDirectory("integrity")
        defer { try? FileManager.default.removeItem(at: dir) }
        let export = try Self.exportWithTheEmptyKey(in: dir)
        let index = dir.appendingPathComponent("idx").path
        #expect(try AtRestBinary.run(["index", export, "--index", index]).status == 0)
        for source in [[export], ["--index", index]] {
            let result = try AtRestBinary.run(["inspect"] + source + ["--prefix", ""])
            #expect(result.status == 0, "\(source): \(result.stderr)")
            #expect(result.stdout.contains("/a") && result.stdout.contains("/b"), "\(source): \(result.stdout)")
        }
    }

    @Test func theEmptyKeyCanBeInspected() throws {
        let dir = try Fixtures.temporaryDirectory("integrity")
        defer { try? FileManager.default.removeItem(at: dir) }
        let export = try Self.exportWithTheEmptyKey(in: dir)
        let result = try AtRestBinary.run(["inspect", export, ""])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("MDB_"), "\(result.stderr)")
    }
}
