import AtRestTestSupport
import Foundation
import Testing

/// Every input a reader refuses gives, in every command that reads inputs, exit
/// status 2, one line on standard error naming the file and where (byte, line or
/// page), with the error's stable identifier, and no index. scripts/test.sh runs
/// this against the release binary as well as the debug one: the optimiser once
/// turned each of these refusals into a crash.
@Suite struct RefusedInputTests {
    /// A refused input, made from the committed real etcd exports.
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var identifier: String
        /// Where the error must point (`byte `, `line `, `page `), or nil for file-wide errors.
        var location: String?
        var make: @Sendable (URL) throws -> Void

        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "truncated JSON", identifier: "dump.truncated", location: "byte ") { url in
            try Data(Fixtures.bytes("etcd/export.json").prefix(3000)).write(to: url)
        },
        Case(name: "truncated snapshot", identifier: "dump.", location: "page ") { url in
            try Data(Fixtures.bytes("etcd/snapshot.db").prefix(4096 * 3 + 100)).write(to: url)
        },
        Case(name: "snapshot with both meta pages corrupt", identifier: "dump.", location: nil) { url in
            var bytes = try Fixtures.bytes("etcd/snapshot.db")
            for page in 0..<2 { for offset in (page * 4096 + 16)..<(page * 4096 + 80) { bytes[offset] ^= 0xA5 } }
            try Data(bytes).write(to: url)
        },
        Case(name: "ambiguous plain etcdctl get output", identifier: "dump.ambiguous-plain-output", location: "line ") { url in
            try Data("/spoof\nharmless\n/app/config\nEVIL\n".utf8).write(to: url)
        },
        Case(name: "unknown format", identifier: "dump.unknown-format", location: nil) { url in
            try Data([0x00, 0x01, 0xFE, 0xFF] + Array("garbage".utf8)).write(to: url)
        },
    ]

    static let commands: [[String]] = [["stats"], ["audit", "--config", Fixtures.path("audit/config.yaml"), "--feature-gates", "KMSv1=true"]]

    private func expectOneLineRefusal(_ result: AtRestBinary.Result, _ file: String, _ refusal: Case, _ label: String) {
        #expect(result.status == 2, "\(label): \(result.stderr)")
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[1].isEmpty, "\(label): exactly one line: \(result.stderr)")
        #expect(result.stderr.hasPrefix("atrest: \(file): "), "\(label): \(result.stderr)")
        #expect(result.stderr.contains("[\(refusal.identifier)"), "\(label): \(result.stderr)")
        if let location = refusal.location { #expect(result.stderr.contains(location), "\(label): \(result.stderr)") }
        #expect(!result.stderr.contains("crashed"), "\(label): \(result.stderr)")
        #expect(result.stdout.isEmpty, "\(label): nothing on standard output")
    }

    @Test(arguments: cases)
    func everyCommandRefusesWithOneLineAndStatus2(_ refusal: Case) throws {
        let dir = try Fixtures.temporaryDirectory("refused")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("input")
        try refusal.make(input)
        for command in Self.commands {
            let result = try AtRestBinary.run([command[0], input.path] + command.dropFirst())
            expectOneLineRefusal(result, input.path, refusal, "\(refusal.name), \(command[0])")
        }
        let stdin = try AtRestBinary.run(["stats", "-"], stdin: Array(try Data(contentsOf: input)))
        if refusal.name.contains("snapshot") {
            // A snapshot is spooled from standard input first; it is still refused, naming <stdin>.
            #expect(stdin.status == 2, "\(stdin.stderr)")
        } else {
            expectOneLineRefusal(stdin, "<stdin>", refusal, "\(refusal.name), stats -")
        }
    }

    @Test(arguments: cases)
    func aRefusedBuildLeavesNoIndex(_ refusal: Case) throws {
        let dir = try Fixtures.temporaryDirectory("refused")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("input")
        try refusal.make(input)
        let result = try AtRestBinary.run(["index", input.path, "--index", dir.appendingPathComponent("idx").path])
        expectOneLineRefusal(result, input.path, refusal, "\(refusal.name), index")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["input"])
    }
}
