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
            let one = try AtRestBinary.run(["audit", Fixtures.path(input), "--config", Fixtures.path("audit/config.yaml"),
                                            "--output", format, "--jobs", "1", "--exit-zero"])
            #expect(one.status == 0, "\(input) \(format): \(one.stderr)")
            #expect(!one.stdout.isEmpty)
            for jobs in ["2", "3", "7"] {
                let many = try AtRestBinary.run(["audit", Fixtures.path(input), "--config", Fixtures.path("audit/config.yaml"),
                                                 "--output", format, "--jobs", jobs, "--exit-zero"])
                #expect(many.status == 0, "\(input) \(format) --jobs \(jobs): \(many.stderr)")
                #expect(many.stdout == one.stdout, "\(input) \(format): --jobs \(jobs) differs from --jobs 1")
            }
        }
    }

    @Test func jobsMustBeAtLeastOne() throws {
        let result = try AtRestBinary.run(["audit", Fixtures.path("etcd/export.json"), "--config", Fixtures.path("audit/config.yaml"), "--jobs", "0"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--jobs must be at least 1"))
    }
}
