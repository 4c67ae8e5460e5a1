import AtRestAudit
import AtRestDump
import AtRestEncryption
import AtRestIndex
import AtRestTestSupport
import Foundation
import Testing

/// `audit FILE` audits an export as it is read (`StreamingAudit`); it must give
/// exactly the audit of the same export's index, and step aside, before printing
/// anything, for inputs it cannot read in one pass.
@Suite struct StreamingAuditTests {
    static let exports = [["etcd/export.json"], ["etcd/gateway.json"], ["etcd/export.fields.txt"], ["etcd/export.hex.txt"],
                          ["sample/export.json"],
                          (1...5).map { "etcd/page-\($0).json" }]

    /// The fixture configuration lists a KMS v1 provider, which the newest rules accept only with the gate on.
    func auditor() throws -> Auditor {
        let rules = try KubernetesRules(featureGates: FeatureGates([.kmsV1: true]))
        return Auditor(configuration: try EncryptionConfiguration(contentsOf: Fixtures.path("audit/config.yaml"), rules: rules), resolver: ResourceResolver())
    }

    /// The audit of `inputs` through an index, as `audit --index` runs it.
    func indexed(_ inputs: [String], options: ReadOptions = ReadOptions(), jobs: Int = 1) throws -> (AuditResult, IndexProvenance) {
        let auditor = try auditor()
        return try IndexBuilder.withTemporaryIndex(inputs: inputs, options: options) { index in (try auditor.run(index, jobs: jobs), index.provenance) }
    }

    /// The generated snapshot with overwritten keys, `damaged` as asked, in a temporary
    /// directory that `body` gets the file's path in.
    func withGeneratedSnapshot(_ name: String, damaged: (inout [UInt8]) -> Void = { _ in },
                               _ body: (String) throws -> Void) throws {
        var bytes = try GeneratedSnapshot.shared.get().snapshot
        damaged(&bytes)
        let directory = try Fixtures.temporaryDirectory(name)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("snapshot.db").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try body(path)
    }

    func expectSame(_ streamed: (result: AuditResult, provenance: IndexProvenance), _ indexed: (AuditResult, IndexProvenance),
                    _ label: String) {
        #expect(streamed.result.summary == indexed.0.summary, "\(label): summaries differ")
        #expect(streamed.result.outsidePrefix == indexed.0.outsidePrefix, "\(label): keys outside the prefix differ")
        #expect(streamed.result.readiness == indexed.0.readiness, "\(label): readiness differs")
        #expect(streamed.provenance == indexed.1, "\(label): provenance differs")
    }

    @Test(arguments: exports)
    func streamedAuditOfAnExportIsTheAuditOfItsIndex(_ relative: [String]) throws {
        let inputs = relative.map(Fixtures.path)
        #expect(ExportReading.isSequentialExport(inputs))
        expectSame(try StreamingAudit.run(inputs, auditor: try auditor(), jobs: 2), try indexed(inputs), relative.joined(separator: " "))
    }

    @Test func manyBatchesGiveTheSameResultWhateverTheNumberOfJobs() throws {
        let directory = try Fixtures.temporaryDirectory("streaming")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("export.json").path
        try GeneratedExport.write(entries: 30_000, to: path)
        let reference = try indexed([path])
        #expect(reference.0.summary.audited == 30_000)
        #expect(reference.0.summary.byVerdict.count >= 4, "the generated export should hold several verdicts")
        for jobs in [1, 2, 3, 7] {
            expectSame(try StreamingAudit.run([path], auditor: try auditor(), jobs: jobs), reference, "--jobs \(jobs)")
        }
    }

    @Test func pagesGivenOutOfKeyOrderAreNotSequential() throws {
        let inputs = (1...5).reversed().map { Fixtures.path("etcd/page-\($0).json") }
        #expect(throws: StreamingAudit.NotSequential.self) { try StreamingAudit.run(inputs, auditor: try auditor(), jobs: 2) }
    }

    @Test(arguments: ["etcd/snapshot.db", "etcd/member-snap.db"])
    func aSnapshotAuditedInTwoReadsIsTheAuditOfItsIndex(_ relative: String) throws {
        let path = Fixtures.path(relative)
        #expect(ExportReading.isSnapshotFile([path]))
        let reference = try indexed([path])
        for jobs in [1, 2] {
            expectSame(try StreamingAudit.runSnapshot(path, auditor: try auditor(), jobs: jobs), reference, "\(relative) --jobs \(jobs)")
        }
    }

    /// Overwritten keys' live revisions come long after their neighbours', so the
    /// entries arrive out of key order; the examples must still be the smallest keys.
    @Test func aSnapshotWhoseLiveRevisionsAreOutOfKeyOrderGivesTheSameExamples() throws {
        try withGeneratedSnapshot("snapshot-audit") { path in
            let reference = try indexed([path])
            #expect(reference.0.summary.readByIdentityExamples.count == 20, "more identity reads than examples are needed")
            for jobs in [1, 2, 3] {
                expectSame(try StreamingAudit.runSnapshot(path, auditor: try auditor(), jobs: jobs), reference, "--jobs \(jobs)")
            }
        }
    }

    @Test func aSnapshotWithAMismatchingTrailerIsRefusedAsByTheIndex() throws {
        try withGeneratedSnapshot("snapshot-trailer", damaged: { $0[$0.count - 1] ^= 0xFF }) { path in
            let error = #expect(throws: DumpError.self) { try StreamingAudit.runSnapshot(path, auditor: try auditor(), jobs: 2) }
            #expect(error?.code == .checksumMismatch)
            let skipped = ReadOptions(skipHashCheck: true)
            let streamed = try StreamingAudit.runSnapshot(path, options: skipped, auditor: try auditor(), jobs: 2)
            expectSame(streamed, try indexed([path], options: skipped), "--skip-hash-check")
            #expect(streamed.provenance.inputs.first?.trailer == .skipped)
        }
    }

    @Test func onlyOneSnapshotInARegularFileIsReadTwice() {
        #expect(!ExportReading.isSnapshotFile(["-"]))
        #expect(!ExportReading.isSnapshotFile([Fixtures.path("etcd/export.json")]))
        #expect(!ExportReading.isSnapshotFile([Fixtures.path("etcd/snapshot.db")], options: ReadOptions(salvage: true)))
        #expect(!ExportReading.isSnapshotFile([Fixtures.path("etcd/snapshot.db"), Fixtures.path("etcd/snapshot.db")]))
    }

    @Test func aSnapshotIsNotSequential() throws {
        let snapshot = Fixtures.path("etcd/snapshot.db")
        #expect(!ExportReading.isSequentialExport([snapshot]))
        #expect(throws: StreamingAudit.NotSequential.self) { try StreamingAudit.run([snapshot], auditor: try auditor(), jobs: 2) }
    }

    @Test func standardInputAndSalvageAreNotSequential() {
        #expect(!ExportReading.isSequentialExport(["-"]))
        #expect(!ExportReading.isSequentialExport([Fixtures.path("etcd/export.json")], options: ReadOptions(salvage: true)))
    }
}
