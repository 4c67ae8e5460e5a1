import AtRestTestSupport
import Foundation
import Testing

/// A document that quotes atrest's output, the setup its commands run in, and the commands it quotes.
struct QuotingDocument: Sendable {
    /// Under `docs/`.
    var name: String
    /// The recordings' file names start with this.
    var recording: String
    /// Private 0600 copies of testdata files, by the name the document uses.
    var copies: [String: String]
    /// Links to testdata files or folders, by the name the document uses.
    var links: [String: String]
    /// Every `$ atrest` command whose output the document quotes, each recorded by `GoldenOutputTests`.
    var commands: [[String]]
    /// Commands whose inputs the document makes along the way (a k3s database, OpenShift's
    /// configurations, running KMS plugins): their quotes are not checked against a recording.
    var unchecked: [String] = []

    /// A private directory laid out as the document's setup.
    func workspace() throws -> URL {
        let directory = try Fixtures.temporaryDirectory("doc-setup")
        for (name, source) in copies {
            let created = FileManager.default.createFile(atPath: directory.appendingPathComponent(name).path,
                                                         contents: Data(try Fixtures.bytes(source)), attributes: [.posixPermissions: 0o600])
            #expect(created, "\(name)")
        }
        for (name, target) in links {
            try FileManager.default.createSymbolicLink(atPath: directory.appendingPathComponent(name).path, withDestinationPath: Fixtures.path(target))
        }
        return directory
    }

    /// The recording of command number `index`.
    func recordingName(_ index: Int) -> String { "\(recording)-\(index < 9 ? "0" : "")\(index + 1)" }

    /// docs/walkthrough.md ("Setup"): the configurations of every step as private copies (`cp1.yaml` to
    /// `cp3.yaml` are the hosts' copies of `step1.yaml`), and `sample` linking to testdata/sample.
    static let walkthrough = QuotingDocument(
        name: "walkthrough.md", recording: "walkthrough",
        copies: ["config.yaml": "audit/config.yaml", "step1.yaml": "sample/rotation/step1.yaml", "step2.yaml": "sample/rotation/step2.yaml",
                 "step4.yaml": "sample/rotation/step4.yaml", "cp1.yaml": "sample/rotation/step1.yaml", "cp2.yaml": "sample/rotation/step1.yaml",
                 "cp3.yaml": "sample/rotation/step1.yaml"],
        links: ["sample": "sample"],
        commands: [
            ["config", "check", "config.yaml"],
            ["config", "check", "--kube-version", "1.28", "config.yaml"],
            ["audit", "sample/snapshot.db", "--config", "config.yaml", "--kube-version", "1.28", "--history"],
            ["plan", "--config", "config.yaml", "--kube-version", "1.28", "--proposed", "step1.yaml", "sample/export.json"],
            ["plan", "--compare", "config.yaml", "step1.yaml", "--kube-version", "1.28"],
            ["plan", "--compare", "cp1.yaml", "cp2.yaml", "cp3.yaml", "--kube-version", "1.28", "sample/export.json"],
            ["plan", "--compare", "config.yaml", "step2.yaml", "--kube-version", "1.28"],
            ["plan", "--config", "step1.yaml", "--kube-version", "1.28", "--proposed", "step2.yaml", "sample/export.json"],
            ["audit", "sample/rotation/after-rewrite.snapshot.db", "--config", "step2.yaml", "--kube-version", "1.28"],
            ["plan", "--config", "step2.yaml", "--kube-version", "1.28", "--proposed", "step4.yaml", "sample/rotation/after-rewrite.json"],
            ["plan", "--config", "step2.yaml", "--kube-version", "1.28", "--proposed", "step4.yaml", "sample/export.json", "--limit", "3"],
            ["audit", "sample/rotation/after-rewrite.snapshot.db", "--config", "step2.yaml", "--kube-version", "1.28", "--history"],
            ["inspect", "sample/rotation/after-rewrite.snapshot.db", "/registry/secrets/default/gcm-key2", "--config", "step2.yaml", "--kube-version", "1.28"],
        ],
        unchecked: ["state.db", "--etcd-prefix /kubernetes.io", "$KMS"])

    /// docs/plan.md and docs/inspect.md: the audit fixture's configurations beside the sample's export.
    static func auditFixture(_ name: String, recording: String, commands: [[String]]) -> QuotingDocument {
        QuotingDocument(name: name, recording: recording,
                        copies: ["config.yaml": "audit/config.yaml", "config-rotated.yaml": "audit/config-rotated.yaml",
                                 "config-no-identity.yaml": "audit/config-no-identity.yaml"],
                        links: ["export.json": "sample/export.json"], commands: commands)
    }

    static let plan = auditFixture("plan.md", recording: "doc-plan", commands: [
        ["plan", "--compare", "config.yaml", "config-rotated.yaml", "export.json", "--limit", "3", "--kube-version", "1.28"],
        ["plan", "--config", "config.yaml", "--proposed", "config-rotated.yaml", "export.json", "--kube-version", "1.28"],
        ["plan", "--config", "config.yaml", "--proposed", "config.yaml", "export.json", "--limit", "0", "--kube-version", "1.28"],
        ["plan", "--config", "config.yaml", "--proposed", "config-no-identity.yaml", "export.json", "--limit", "2", "--kube-version", "1.28"],
    ])

    static let inspect = auditFixture("inspect.md", recording: "doc-inspect", commands: [
        ["inspect", "export.json", "/registry/secrets/default/cbc1", "--config", "config.yaml", "--decrypt", "--kube-version", "1.28"],
    ])

    static let all = [walkthrough, plan, inspect]
}

/// What the docs quote of atrest's output is what atrest prints: each quoted command is recorded by
/// `GoldenOutputTests` (in the document's setup), and its quote must match the
/// recording line by line. A line that starts with `...` (a comment may follow) stands for any
/// number of lines, and `...` within a line for any text there; `$ echo $?` quotes the exit status.
@Suite struct DocQuoteTests {
    /// One quoted command and what the doc shows after it.
    struct Quote {
        var line: Int
        var command: String
        var output: [String] = []
        var status: Int32?
    }

    static func quotes(in document: String) -> [Quote] {
        var quotes: [Quote] = []
        var inBlock = false
        var current: Quote?
        var awaitingStatus = false
        func close() {
            if let quote = current { quotes.append(quote) }
            current = nil
        }
        for (number, line) in document.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.hasPrefix("```") {
                if inBlock { close() }
                inBlock.toggle()
                awaitingStatus = false
                continue
            }
            guard inBlock else { continue }
            if line.hasPrefix("$ atrest ") {
                close()
                current = Quote(line: number + 1, command: String(line.dropFirst("$ atrest ".count)))
            } else if line == "$ echo $?" {
                awaitingStatus = true
            } else if awaitingStatus {
                current?.status = Int32(line)
                awaitingStatus = false
            } else if line.hasPrefix("$ ") {
                close()
            } else {
                current?.output.append(String(line))
            }
        }
        return quotes
    }

    /// Whether `quoted` (with `...` elisions) matches `recorded`, line by line in order; else the first quoted line that does not.
    static func mismatch(_ quoted: [String], _ recorded: [String]) -> String? {
        var index = 0
        var mayskip = false
        /// `...` inside a quoted line stands for any text there.
        func matches(_ line: String, _ quote: String) -> Bool {
            let parts = quote.components(separatedBy: "...")
            guard parts.count > 1 else { return line == quote }
            guard let first = parts.first, let last = parts.last, line.hasPrefix(first), line.dropFirst(first.count).hasSuffix(last) else { return false }
            var rest = Substring(line.dropFirst(first.count).dropLast(last.count))
            for middle in parts.dropFirst().dropLast() where !middle.isEmpty {
                guard let found = rest.range(of: middle) else { return false }
                rest = rest[found.upperBound...]
            }
            return true
        }
        for quote in quoted {
            if quote.trimmingCharacters(in: .whitespaces).hasPrefix("...") {
                mayskip = true
                continue
            }
            if mayskip { while index < recorded.count && !matches(recorded[index], quote) { index += 1 } }
            guard index < recorded.count, matches(recorded[index], quote) else {
                return "quoted:   \(quote)\n  printed:  \(index < recorded.count ? recorded[index] : "(end of output)")"
            }
            index += 1
            mayskip = false
        }
        return nil
    }

    @Test(arguments: QuotingDocument.all.map(\.name))
    func everyQuoteIsWhatAtrestPrints(_ name: String) throws {
        let setup = try #require(QuotingDocument.all.first { $0.name == name })
        let document = String(decoding: try Data(contentsOf: Fixtures.root.appendingPathComponent("docs/" + name)), as: UTF8.self)
        let quotes = Self.quotes(in: document)
        #expect(quotes.count >= setup.commands.count)
        for quote in quotes {
            if setup.unchecked.contains(where: { quote.command.contains($0) }) { continue }
            guard let index = setup.commands.firstIndex(where: { $0.joined(separator: " ") == quote.command }) else {
                Issue.record("docs/\(name):\(quote.line): `atrest \(quote.command)` has no recording: add it to QuotingDocument.\(setup.recording)")
                continue
            }
            let file = setup.recordingName(index) + ".txt"
            let (status, printed) = GoldenOutputTests.parse(String(decoding: try Data(contentsOf: GoldenOutputTests.snapshots.appendingPathComponent(file)), as: UTF8.self))
            if let problem = Self.mismatch(quote.output, printed) {
                Issue.record("docs/\(name):\(quote.line): `atrest \(quote.command)` quotes what it does not print (\(file)):\n  \(problem)")
            }
            if let quoted = quote.status {
                #expect(quoted == status, "docs/\(name):\(quote.line): exit status \(quoted) quoted, \(status.map(String.init) ?? "?") recorded")
            }
        }
    }
}
