import AtRestTestSupport
import Foundation
import Testing

/// Long reads show progress on a terminal, and nothing when the output is not one.
@Suite struct ProgressBarTests {
    @Test func progressIsDrawnOnATerminal() throws {
        let dir = try Fixtures.temporaryDirectory("progress")
        defer { try? FileManager.default.removeItem(at: dir) }
        // `script` (util-linux) runs the command on a pseudo-terminal and copies what it prints.
        let command = "\(try AtRestBinary.executable().path) index \(Fixtures.path("etcd/snapshot.db")) --index \(dir.appendingPathComponent("idx").path)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", command, "/dev/null"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(printed)")
        #expect(printed.contains("\rindexing ["))
        #expect(printed.contains("\r\u{1B}[K"), "the bar is erased before the result is printed")
    }

    @Test func nothingIsDrawnWhenStandardErrorIsNotATerminal() throws {
        let dir = try Fixtures.temporaryDirectory("progress")
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try AtRestBinary.run(["index", Fixtures.path("etcd/snapshot.db"), "--index", dir.appendingPathComponent("idx").path])
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty)
    }
}
