import AtRestTestSupport
import Foundation
import Testing

/// `audit --jobs N` cuts the index into N key ranges audited in parallel; what it
/// prints must not depend on N.
@Suite struct ParallelAuditTests {
    static let inputs = ["sample/snapshot.db", "etcd/export.json", "etcd/snapshot.db"]

    @Test(arguments: inputs)
    func everyRenderingIsByteIdenticalWhateverTheNumberOfJobs(_ input: String) throws {
        for format in ["text", "json", "markdown", "sarif", "junit", "prometheus", "html", "jsonl"] {
            let one = try AtRestBinary.run(["audit", "--feature-gates", "KMSv1=true", Fixtures.path(input), "--config", Fixtures.path("audit/config.yaml"),
                                            "--output", format, "--jobs", "1", "--exit-zero"])
            #expect(one.status == 0, "\(input) \(format): \(one.stderr)")
            #expect(!one.stdout.isEmpty)
            for jobs in ["2", "3", "7"] {
                let many = try AtRestBinary.run(["audit", "--feature-gates", "KMSv1=true", Fixtures.path(input), "--config", Fixtures.path("audit/config.yaml"),
                                                 "--output", format, "--jobs", jobs, "--exit-zero"])
                #expect(many.status == 0, "\(input) \(format) --jobs \(jobs): \(many.stderr)")
                #expect(many.stdout == one.stdout, "\(input) \(format): --jobs \(jobs) differs from --jobs 1")
            }
        }
    }

    @Test func jobsMustBeAtLeastOne() throws {
        let result = try AtRestBinary.run(["audit", "--feature-gates", "KMSv1=true", Fixtures.path("etcd/export.json"), "--config", Fixtures.path("audit/config.yaml"), "--jobs", "0"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--jobs must be at least 1"))
    }
}

/// `audit FILE` on an export audits while it reads (no index), and on a snapshot in
/// two reads of it; it must print what `audit --index` prints for the same input,
/// and fall back to an index, with the same output, when pages are given out of key order.
@Suite struct StreamingAuditEndToEndTests {
    static let formats = ["text", "json", "markdown", "sarif", "junit", "prometheus", "html"]

    func audit(_ inputs: [String], _ format: String, jobs: String = "2") throws -> AtRestBinary.Result {
        try AtRestBinary.run(["audit", "--feature-gates", "KMSv1=true"] + inputs + ["--config", Fixtures.path("audit/config.yaml"), "--output", format, "--jobs", jobs, "--exit-zero"])
    }

    func index(_ inputs: [String], at directory: URL) throws -> String {
        let path = directory.appendingPathComponent("index").path
        let built = try AtRestBinary.run(["index"] + inputs + ["--index", path])
        #expect(built.status == 0, "index: \(built.stderr)")
        return path
    }

    @Test func anExportOfManyBatchesPrintsWhatItsIndexPrints() throws {
        let directory = try Fixtures.temporaryDirectory("streaming-e2e")
        defer { try? FileManager.default.removeItem(at: directory) }
        let export = directory.appendingPathComponent("export.json").path
        try GeneratedExport.write(entries: 20_000, to: export)
        let indexPath = try index([export], at: directory)
        for format in Self.formats {
            let viaIndex = try AtRestBinary.run(["audit", "--feature-gates", "KMSv1=true", "--index", indexPath, "--config", Fixtures.path("audit/config.yaml"),
                                                 "--output", format, "--exit-zero"])
            #expect(viaIndex.status == 0, "\(format): \(viaIndex.stderr)")
            for jobs in ["1", "2", "3"] {
                let streamed = try audit([export], format, jobs: jobs)
                #expect(streamed.status == 0, "\(format) --jobs \(jobs): \(streamed.stderr)")
                #expect(streamed.stdout == viaIndex.stdout, "\(format) --jobs \(jobs): the one-pass audit differs from audit --index")
            }
        }
    }

    /// A snapshot is audited in two reads without an index; history (overwrites,
    /// deletes, a key deleted and written again) puts its live revisions out of key order.
    @Test(arguments: ["etcd/snapshot.db", "etcd/member-snap.db", "sample/snapshot.db"])
    func aSnapshotPrintsWhatItsIndexPrints(_ input: String) throws {
        let directory = try Fixtures.temporaryDirectory("streaming-e2e")
        defer { try? FileManager.default.removeItem(at: directory) }
        let indexPath = try index([Fixtures.path(input)], at: directory)
        for format in Self.formats {
            let viaIndex = try AtRestBinary.run(["audit", "--feature-gates", "KMSv1=true", "--index", indexPath, "--config", Fixtures.path("audit/config.yaml"),
                                                 "--output", format, "--exit-zero"])
            #expect(viaIndex.status == 0, "\(input) \(format): \(viaIndex.stderr)")
            for jobs in ["1", "2", "3"] {
                let direct = try audit([Fixtures.path(input)], format, jobs: jobs)
                #expect(direct.status == 0, "\(input) \(format) --jobs \(jobs): \(direct.stderr)")
                #expect(direct.stdout == viaIndex.stdout, "\(input) \(format) --jobs \(jobs): the two-read audit differs from audit --index")
            }
        }
    }

    @Test func pagesOutOfKeyOrderPrintWhatTheirIndexPrints() throws {
        let directory = try Fixtures.temporaryDirectory("streaming-e2e")
        defer { try? FileManager.default.removeItem(at: directory) }
        let pages = (1...5).reversed().map { Fixtures.path("etcd/page-\($0).json") }
        let indexPath = try index(pages, at: directory)
        for format in ["text", "json"] {
            let viaIndex = try AtRestBinary.run(["audit", "--feature-gates", "KMSv1=true", "--index", indexPath, "--config", Fixtures.path("audit/config.yaml"),
                                                 "--output", format, "--exit-zero"])
            let direct = try audit(pages, format)
            #expect(direct.status == 0, "\(format): \(direct.stderr)")
            #expect(direct.stdout == viaIndex.stdout, "\(format): pages out of order")
        }
    }
}
