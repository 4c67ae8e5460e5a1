import AtRestTestSupport
import Foundation
import Testing

/// Temporary data (a copy of every value, plaintext Secrets included) never
/// outlives the run that made it: not when the run is stopped by a signal or
/// its reader goes away, and
/// not when it is killed outright (the next run sweeps it). Each test gives
/// atrest a `TMPDIR` of its own and checks it is empty afterwards.
@Suite struct TemporaryFilesTests {
    /// A scratch directory with an empty `tmp/` inside, used as atrest's `TMPDIR`.
    struct Scratch {
        let root: URL
        var tmp: URL { root.appendingPathComponent("tmp") }
        var environment: [String: String] { ["TMPDIR": tmp.path] }

        init() throws {
            root = try Fixtures.temporaryDirectory("tmpfiles")
            try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: false)
        }

        func remove() { try? FileManager.default.removeItem(at: root) }

        /// Every path under `tmp/`, relative to it.
        func leftovers() -> [String] {
            (FileManager.default.enumerator(atPath: tmp.path)?.allObjects as? [String] ?? []).sorted()
        }

        /// Whether `tmp/` holds a file named like `name` (a prefix) somewhere below it.
        func holds(fileNamed name: String) -> Bool {
            leftovers().contains { $0.split(separator: "/").last?.hasPrefix(name) == true }
        }
    }

    /// The first half of an etcdctl JSON export: atrest reads it into its
    /// temporary index, then waits for the rest.
    static func unfinishedExport(entries: Int = 2000) -> [UInt8] {
        var out = #"{"header":{"cluster_id":1,"member_id":2,"revision":3,"raft_term":2},"kvs":["#
        for index in 0..<entries {
            if index > 0 { out += "," }
            let key = Data("/registry/secrets/ns/s-\(String(format: "%06d", index))".utf8).base64EncodedString()
            out += #"{"key":"\#(key)","create_revision":2,"mod_revision":2,"version":1,"value":"\#(Data("plaintext".utf8).base64EncodedString())"}"#
        }
        return Array(out.utf8)
    }

    @Test(arguments: [("SIGINT", SIGINT), ("SIGTERM", SIGTERM), ("SIGHUP", SIGHUP)])
    func aSignalMidReadLeavesNothingInTMPDIR(_ name: String, _ number: Int32) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let atrest = try AtRestProcess(["stats", "-"], environment: scratch.environment, scratch: scratch.root)
        try atrest.write(Self.unfinishedExport())
        try AtRestProcess.waitUntil("\(name): the temporary index appears") { scratch.holds(fileNamed: "data.mdb") }
        atrest.signal(number)
        #expect(try atrest.wait() == .signalled(number), "\(name): dies of the signal, as if uncaught")
        #expect(scratch.leftovers().isEmpty, "\(name): \(scratch.leftovers())")
    }

    /// Twenty times: whether the failed write or the SIGPIPE handler comes first is a race, and a
    /// write that trapped on EPIPE once died of SIGILL with the temporary index left behind.
    @Test func aReaderThatStopsEarlyLeavesNothingInTMPDIR() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        for _ in 0..<20 {
            // `atrest inspect FILE --prefix / | head -0`: the first write to standard output raises
            // SIGPIPE while the temporary index still exists. (`env` undoes the
            // tests' own SIG_IGN, which a child would inherit.)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["--default-signal=PIPE", try AtRestBinary.executable().path, "inspect", Fixtures.path("etcd/export.json"), "--prefix", "/"]
            process.environment = ProcessInfo.processInfo.environment.merging(scratch.environment) { $1 }
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try out.fileHandleForReading.close()
            try process.run()
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            let ending = (process.terminationReason, process.terminationStatus)
            #expect(ending == (.uncaughtSignal, SIGPIPE) || ending == (.exit, 0), "\(ending)")
            #expect(scratch.leftovers().isEmpty, "\(scratch.leftovers())")
            guard scratch.leftovers().isEmpty else { return }
        }
    }

    @Test func aSignalWhileStandardInputIsSpooledLeavesNothingInTMPDIR() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let snapshot = try Fixtures.bytes("etcd/snapshot.db")
        let atrest = try AtRestProcess(["stats", "-"], environment: scratch.environment, scratch: scratch.root)
        // More than format detection looks at (64 KiB), and standard input left
        // open: atrest spools it, waiting for its end.
        try atrest.write(snapshot + [UInt8](repeating: 0, count: 128 << 10))
        try AtRestProcess.waitUntil("the spool of standard input appears") { scratch.holds(fileNamed: "spool-") }
        atrest.signal(SIGTERM)
        #expect(try atrest.wait() == .signalled(SIGTERM))
        #expect(scratch.leftovers().isEmpty, "\(scratch.leftovers())")
    }

    @Test func aSignalDuringIndexLeavesNothingBesideTheDestination() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let out = scratch.root.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: false)
        let atrest = try AtRestProcess(["index", "-", "--index", out.appendingPathComponent("idx").path],
                                       environment: scratch.environment, scratch: scratch.root)
        try atrest.write(Self.unfinishedExport())
        try AtRestProcess.waitUntil("the staging directory appears") {
            try FileManager.default.contentsOfDirectory(atPath: out.path).contains { $0.hasPrefix(".idx.partial-") }
        }
        atrest.signal(SIGINT)
        #expect(try atrest.wait() == .signalled(SIGINT))
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
        #expect(scratch.leftovers().isEmpty, "\(scratch.leftovers())")
    }

    @Test func theNextRunRemovesWhatAKilledRunLeft() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let atrest = try AtRestProcess(["stats", "-"], environment: scratch.environment, scratch: scratch.root)
        try atrest.write(Self.unfinishedExport())
        try AtRestProcess.waitUntil("the temporary index appears") { scratch.holds(fileNamed: "data.mdb") }
        atrest.signal(SIGKILL)
        #expect(try atrest.wait() == .signalled(SIGKILL))
        #expect(scratch.holds(fileNamed: "data.mdb"), "SIGKILL cannot be caught: the copy stays until the next run")

        let next = try AtRestProcess.run(["stats", Fixtures.path("etcd/export.json")], environment: scratch.environment, scratch: scratch.root)
        #expect(next.ending == .exited(0), "\(next.stderr)")
        #expect(scratch.leftovers().isEmpty, "\(scratch.leftovers())")
    }

    @Test func theSweepLeavesAloneWhatIsNotALeftoverOfAtrest() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let fm = FileManager.default
        // A live run's directory (this test's own pid), another program's, and a
        // link named like a leftover: none may be touched.
        let live = scratch.tmp.appendingPathComponent("atrest-\(getpid())-AbCdEf")
        try fm.createDirectory(at: live, withIntermediateDirectories: false)
        try Data("x".utf8).write(to: live.appendingPathComponent("keep"))
        let other = scratch.tmp.appendingPathComponent("atrest-notes")
        try fm.createDirectory(at: other, withIntermediateDirectories: false)
        let target = scratch.root.appendingPathComponent("target")
        try fm.createDirectory(at: target, withIntermediateDirectories: false)
        try Data("x".utf8).write(to: target.appendingPathComponent("keep"))
        // PID 2^22 + 1 is above Linux's pid_max: no such process exists.
        try fm.createSymbolicLink(atPath: scratch.tmp.appendingPathComponent("atrest-4194305-link").path, withDestinationPath: target.path)

        let run = try AtRestProcess.run(["stats", Fixtures.path("etcd/export.json")], environment: scratch.environment, scratch: scratch.root)
        #expect(run.ending == .exited(0), "\(run.stderr)")
        #expect(scratch.leftovers() == ["atrest-4194305-link", "atrest-\(getpid())-AbCdEf", "atrest-\(getpid())-AbCdEf/keep", "atrest-notes"].sorted())
        #expect(fm.fileExists(atPath: target.appendingPathComponent("keep").path))
    }

    @Test func privateDirectoriesAre0700WhateverTheUmask() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let out = scratch.root.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: false)
        let atrest = try AtRestProcess(["index", "-", "--index", out.appendingPathComponent("idx").path],
                                       environment: scratch.environment, umask: "000", scratch: scratch.root)
        try atrest.write(Self.unfinishedExport())
        var staging: String?
        try AtRestProcess.waitUntil("the staging directory appears") {
            staging = try FileManager.default.contentsOfDirectory(atPath: out.path).first { $0.hasPrefix(".idx.partial-") }
            return staging != nil
        }
        let mode = try FileManager.default.attributesOfItem(atPath: out.appendingPathComponent(staging ?? "").path)[.posixPermissions] as? Int
        #expect(mode == 0o700)
        try atrest.closeInput()
        #expect(try atrest.wait() != .exited(0), "the export was cut short")
    }

    /// The mode is given in the `mkdir` call itself, so no other user ever sees the directory open,
    /// whatever the umask: `strace` lists every `mkdir` of `stats` (the temporary area and its index)
    /// and `index` (the staging directory), and none asks for more than 0700 (the reviewed code made
    /// them 0777, then narrowed them with `chmod`: D17).
    @Test(arguments: [["stats", "EXPORT"], ["index", "EXPORT", "--index", "OUT/idx"]])
    func privateDirectoriesAreMadeWithMode0700InTheirMkdirCall(_ command: [String]) throws {
        let strace = "/usr/bin/strace"
        try #require(FileManager.default.isExecutableFile(atPath: strace), "install strace (scripts/install-deps.sh does)")
        let scratch = try Scratch()
        defer { scratch.remove() }
        let out = scratch.root.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: false)
        let log = scratch.root.appendingPathComponent("strace.log").path
        let arguments = command.map { $0 == "EXPORT" ? Fixtures.path("etcd/export.json") : $0.replacingOccurrences(of: "OUT", with: out.path) }
        let result = try AtRestBinary.runProgram(strace, ["-f", "-qq", "-e", "trace=mkdir,mkdirat", "-o", log, try AtRestBinary.executable().path] + arguments,
                                                 environment: ProcessInfo.processInfo.environment.merging(scratch.environment) { $1 })
        #expect(result.status == 0, "\(result.stderr)")
        let calls = String(decoding: try Data(contentsOf: URL(fileURLWithPath: log)), as: UTF8.self)
            .split(separator: "\n").filter { $0.contains("mkdir") && $0.contains(scratch.root.path) }
        #expect(!calls.isEmpty, "no mkdir under the scratch directory was traced")
        for call in calls {
            #expect(call.contains(", 0700)"), "\(call)")
        }
    }
}
