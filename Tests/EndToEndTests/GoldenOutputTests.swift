import AtRestTestSupport
import Foundation
import Testing

/// Every command in every output format, on the committed fixtures, compared byte for byte with its
/// recording in `Snapshots/` (exit status, standard output, standard error). A change of behaviour
/// shows as a diff of these files: re-record them with `scripts/record-golden.sh` after a deliberate
/// change, and name the change in the commit.
///
/// The binary runs in the repository root with relative paths, so the recordings hold no path of the
/// machine that made them.
@Suite struct GoldenOutputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        /// The recording's file name, without `.txt`.
        var name: String
        var arguments: [String]
        /// The document whose setup it runs in (`QuotingDocument.workspace()`), instead of the repository root.
        var document: String?
        var testDescription: String { name }
    }

    static let sample = "testdata/sample/snapshot.db"
    static let config = "testdata/audit/config.yaml"
    /// The sample's configuration still lists a KMS v1 provider: the sample cluster's release reads it.
    static let release = ["--kube-version", "1.28"]

    static let cases: [Case] = {
        var cases: [Case] = []
        for (name, input) in [("sample", sample), ("etcd-json", "testdata/etcd/export.json"), ("etcd-fields", "testdata/etcd/export.fields.txt"),
                              ("etcd-hex", "testdata/etcd/export.hex.txt"), ("etcd-simple", "testdata/etcd/export.simple.txt"),
                              ("etcd-snapshot", "testdata/etcd/snapshot.db"), ("etcd-member", "testdata/etcd/member-snap.db")] {
            cases.append(Case(name: "stats-\(name)", arguments: ["stats", input]))
            cases.append(Case(name: "stats-\(name)-json", arguments: ["stats", input, "--output", "json"]))
        }
        for format in ["text", "json", "jsonl", "markdown", "html", "sarif", "junit", "prometheus"] {
            cases.append(Case(name: "audit-sample-\(format)", arguments: ["audit", sample, "--config", config, "--output", format] + release))
        }
        cases.append(Case(name: "audit-sample-history", arguments: ["audit", sample, "--config", config, "--history"] + release))
        cases.append(Case(name: "audit-sample-history-json", arguments: ["audit", sample, "--config", config, "--history", "--output", "json"] + release))
        cases.append(Case(name: "audit-etcd-json", arguments: ["audit", "testdata/etcd/export.json", "--config", config] + release))
        for format in ["text", "json", "markdown"] {
            cases.append(Case(name: "plan-sample-rotated-\(format)",
                              arguments: ["plan", "--config", config, "--proposed", "testdata/audit/config-rotated.yaml", sample, "--output", format] + release))
        }
        cases.append(Case(name: "plan-sample-no-identity",
                          arguments: ["plan", "--config", config, "--proposed", "testdata/audit/config-no-identity.yaml", sample] + release))
        for (name, key) in [("gcm", "/registry/secrets/default/gcm-key1"), ("cbc", "/registry/secrets/default/cbc1"),
                            ("kms-v2", "/registry/secrets/default/kms-v2"), ("plain", "/registry/secrets/default/plain")] {
            cases.append(Case(name: "inspect-sample-\(name)", arguments: ["inspect", sample, key, "--config", config] + release))
        }
        cases.append(Case(name: "inspect-sample-gcm-raw", arguments: ["inspect", sample, "/registry/secrets/default/gcm-key1", "--raw"]))
        cases.append(Case(name: "inspect-sample-prefix", arguments: ["inspect", sample, "--prefix", "/registry/configmaps/", "--limit", "2"]))
        cases.append(Case(name: "config-check-valid", arguments: ["config", "check", "testdata/configs/valid/aesgcm-identity.yaml"]))
        cases.append(Case(name: "config-check-invalid", arguments: ["config", "check", "testdata/configs/invalid/aesgcm-short-secret.yaml"]))
        for document in QuotingDocument.all {
            for (number, command) in document.commands.enumerated() {
                cases.append(Case(name: document.recordingName(number), arguments: command, document: document.name))
            }
        }
        return cases
    }()

    /// What a run printed, as recorded.
    static func render(_ testCase: Case, _ result: AtRestBinary.Result) -> String {
        "$ atrest \(testCase.arguments.joined(separator: " "))\nexit \(result.status)\n--- stdout\n\(result.stdout)--- stderr\n\(result.stderr)"
    }

    /// A recording's exit status, and the lines it printed (standard output, then standard error):
    /// what `render` wrote.
    static func parse(_ recording: String) -> (status: Int32?, printed: [String]) {
        let parts = recording.components(separatedBy: "\n--- stdout\n")
        let status = Int32(parts[0].split(separator: "\n").last?.dropFirst("exit ".count) ?? "")
        guard parts.count > 1 else { return (status, []) }
        let printed = parts[1].replacingOccurrences(of: "--- stderr\n", with: "").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return (status, printed)
    }

    static let snapshots = Fixtures.root.appendingPathComponent("Tests/EndToEndTests/Snapshots")

    @Test(arguments: cases)
    func outputMatchesItsRecording(_ testCase: Case) throws {
        let result: AtRestBinary.Result
        if let name = testCase.document, let document = QuotingDocument.all.first(where: { $0.name == name }) {
            let workspace = try document.workspace()
            defer { try? FileManager.default.removeItem(at: workspace) }
            result = try AtRestBinary.run(testCase.arguments, in: workspace)
        } else {
            result = try AtRestBinary.run(testCase.arguments, in: Fixtures.root)
        }
        let rendered = Self.render(testCase, result)
        let file = Self.snapshots.appendingPathComponent(testCase.name + ".txt")
        if ProcessInfo.processInfo.environment["ATREST_RECORD_GOLDEN"] == "1" {
            try Data(rendered.utf8).write(to: file)
            return
        }
        let recorded = try #require(FileManager.default.contents(atPath: file.path),
                                    "no recording \(file.lastPathComponent): run scripts/record-golden.sh")
        let expected = String(decoding: recorded, as: UTF8.self)
        #expect(rendered == expected, "\(testCase.name) differs from its recording:\n\(Self.firstDifference(rendered, expected))")
    }

    /// Every recording belongs to a case: a renamed or dropped case leaves no stale file behind.
    @Test func everyRecordingHasACase() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.snapshots.path).filter { $0.hasSuffix(".txt") }
        #expect(Set(files) == Set(Self.cases.map { $0.name + ".txt" }))
    }

    /// The first line that differs, both ways, for the failure message.
    static func firstDifference(_ actual: String, _ expected: String) -> String {
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        for index in 0..<max(a.count, e.count) where index >= a.count || index >= e.count || a[index] != e[index] {
            let got = index < a.count ? String(a[index].prefix(300)) : "(end)"
            let want = index < e.count ? String(e[index].prefix(300)) : "(end)"
            return "line \(index + 1):\n  recorded: \(want)\n  now:      \(got)"
        }
        return "(no line differs)"
    }
}
