import Foundation
import Testing
@testable import AtRestDump
import AtRestTestSupport

/// A salvage's page scan holds at most one run of recovered entries in memory and
/// merges sorted runs from a temporary file (the security review's D13): the result
/// must be the one an unbounded, in-memory salvage gives.
struct SalvageRunsTests {
    struct Sink: DumpSink {
        var changes: [(Revision, Bool, KeyValue)] = []
        var refusals = 0
        mutating func live(_ entry: KeyValue) throws { Issue.record("a snapshot delivered a live entry") }
        mutating func history(_ revision: Revision, tombstone: Bool, _ entry: KeyValue) throws {
            changes.append((revision, tombstone, entry))
        }
        mutating func refused(_ refusal: Refusal) throws { refusals += 1 }
    }

    /// No meta pages, then `pages` leaf pages: page p holds revisions p×10 … p×10+3
    /// (values naming the page) and revision 25, so every page after the first two
    /// repeats one the scan found earlier; pages are written in descending revision order.
    private func scattered(pages: Int) -> [UInt8] {
        var file = [UInt8](repeating: 0, count: 2 * CraftedBolt.pageSize)
        for index in 0..<pages {
            let id = UInt64(2 + index)
            let base = (pages - index) * 10
            let mains = ([25] + (base..<base + 4)).sorted()
            file += CraftedBolt.leafPage(id, mains.map { main in
                (0, CraftedBolt.revisionKey(main), CraftedBolt.keyValue(main, value: Array("page \(id)".utf8)))
            })
        }
        return file
    }

    private func salvage(_ bytes: [UInt8], runBudget: Int) throws -> (Sink, SalvageReport) {
        let directory = try Fixtures.temporaryDirectory("salvage-runs")
        let path = directory.appendingPathComponent("scattered.db").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let file = try SnapshotFile(path: path, displayName: "scattered.db")
        let salvager = SnapshotSalvage(file: file, databaseSize: UInt64(bytes.count), pageSize: CraftedBolt.pageSize)
        var sink = Sink()
        let (report, _) = try salvager.scan(into: &sink, displayName: "scattered.db", cause: "test", runBudget: runBudget)
        return (sink, report)
    }

    @Test func runsSpilledToDiskGiveTheInMemoryResult() throws {
        let bytes = scattered(pages: 60)
        let (inMemory, wholeReport) = try salvage(bytes, runBudget: 1 << 30)
        // About three pages' entries per run: twenty runs to merge.
        let (spilled, spilledReport) = try salvage(bytes, runBudget: 1024)
        #expect(spilled.changes.map(\.0) == inMemory.changes.map(\.0))
        #expect(spilled.changes.map(\.2) == inMemory.changes.map(\.2))
        #expect(spilledReport == wholeReport)
        #expect(inMemory.changes.count == 60 * 4 + 1)
    }

    @Test func revisionsComeInOrderEachOnceAsFirstFound() throws {
        let (sink, report) = try salvage(scattered(pages: 30), runBudget: 1024)
        let revisions = sink.changes.map(\.0)
        #expect(revisions == revisions.sorted())
        #expect(Set(revisions).count == revisions.count)
        // Revision 25 is on every page; the copy kept is the one on page 2, scanned first.
        let kept = try #require(sink.changes.first { $0.0.main == 25 })
        #expect(kept.2.value == Array("page 2".utf8))
        #expect(report.recovered == revisions.count)
    }

    @Test func unreadablePageRangesPastTheListedOnesAreCounted() throws {
        // Every other page destroyed: one range per destroyed page.
        var bytes = scattered(pages: 200)
        for index in stride(from: 1, to: 200, by: 2) {
            let base = (2 + index) * CraftedBolt.pageSize
            bytes.replaceSubrange(base..<base + 16, with: [UInt8](repeating: 0xA5, count: 16))
        }
        let (_, report) = try salvage(bytes, runBudget: 1 << 20)
        // Pages 0-1 and then 100 single pages: 64 listed ranges, 37 pages counted.
        #expect(report.unreadable.count == SnapshotSalvage.listedRanges)
        #expect(report.moreUnreadable == 37)
        #expect(report.summary.contains(", and 37 more;"), "\(report.summary)")
    }
}
