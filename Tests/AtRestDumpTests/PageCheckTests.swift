import Foundation
import Testing
@testable import AtRestDump
import AtRestTestSupport

/// bbolt's consistency check (`tx.Check`, which `etcdctl snapshot status` runs) on
/// small bbolt files built byte by byte: every page below the high-water mark is
/// reachable exactly once or free, never both, and the freelist is readable.
struct PageCheckTests {
    let directory: URL

    init() throws {
        directory = try Fixtures.temporaryDirectory("page-check")
    }

    struct Sink: DumpSink {
        var revisions: [Revision] = []
        mutating func live(_ entry: KeyValue) throws { Issue.record("a snapshot delivered a live entry") }
        mutating func history(_ revision: Revision, tombstone: Bool, _ entry: KeyValue) throws { revisions.append(revision) }
        mutating func refused(_ refusal: Refusal) throws { Issue.record("unexpected refusal \(refusal)") }
    }

    private func write(_ bolt: CraftedBolt, _ name: String = "crafted.db") throws -> String {
        let path = directory.appendingPathComponent(name).path
        try Data(bolt.bytes()).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func read(_ bolt: CraftedBolt, salvage: Bool = false) throws -> (revisions: [Revision], metadata: ExportMetadata) {
        var sink = Sink()
        let result = try SnapshotReader(path: try write(bolt), displayName: "crafted.db", salvage: salvage).read(into: &sink)
        return (sink.revisions, result.metadata)
    }

    /// The error the read gives, checked to be one line naming the file and a page.
    private func refusal(_ bolt: CraftedBolt, sourceLocation: SourceLocation = #_sourceLocation) throws -> DumpError {
        let error = try #require(throws: DumpError.self, sourceLocation: sourceLocation) { _ = try read(bolt) }
        #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
        #expect(error.description.hasPrefix("crafted.db: page "), "\(error)", sourceLocation: sourceLocation)
        return error
    }

    @Test func aConsistentFileWithAFreelistIsRead() throws {
        let (revisions, metadata) = try read(CraftedBolt())
        #expect(revisions.map(\.main) == [1, 2, 3])
        #expect(metadata.salvage == nil)
    }

    @Test func aPageFreedTwiceIsRefused() throws {
        var bolt = CraftedBolt()
        bolt.freeIDs = [CraftedBolt.stalePage, CraftedBolt.stalePage]
        let error = try refusal(bolt)
        #expect(error.code == .inconsistentPages)
        #expect(error.location == .page(CraftedBolt.stalePage))
        #expect(error.message.hasSuffix("1 error found: page 5: already freed"), "\(error)")
    }

    @Test func aReachablePageThatIsAlsoFreeIsRefused() throws {
        var bolt = CraftedBolt()
        bolt.freeIDs = [CraftedBolt.keyBucketPage, CraftedBolt.stalePage]
        let error = try refusal(bolt)
        #expect(error.code == .inconsistentPages)
        #expect(error.message.hasSuffix("page 3: reachable freed"), "\(error)")
    }

    @Test func anUnreachablePageThatIsNotFreeIsRefused() throws {
        var bolt = CraftedBolt()
        bolt.freeIDs = []
        let error = try refusal(bolt)
        #expect(error.code == .inconsistentPages)
        #expect(error.message.hasSuffix("page 5: unreachable unfreed"), "\(error)")
    }

    @Test func aFreedPagePastTheHighWaterMarkIsRefused() throws {
        var bolt = CraftedBolt()
        bolt.freeIDs = [CraftedBolt.stalePage, 9]
        let error = try refusal(bolt)
        #expect(error.code == .inconsistentPages)
        #expect(error.message.contains("page 9: freed beyond the high-water mark (6 pages)"), "\(error)")
    }

    @Test func aFreedMetaPageIsRefused() throws {
        var bolt = CraftedBolt()
        bolt.freeIDs = [1, CraftedBolt.stalePage]
        #expect(try refusal(bolt).message.contains("page 1: freed meta page"))
    }

    @Test func problemsAreNamedInPageOrderAfterTheDoubleFreesAsBboltListsThem() throws {
        var bolt = CraftedBolt()
        bolt.freeIDs = [CraftedBolt.keyBucketPage, CraftedBolt.keyBucketPage]
        let error = try refusal(bolt)
        #expect(error.message.hasSuffix("3 errors found: page 3: already freed, page 3: reachable freed, page 5: unreachable unfreed"), "\(error)")
        #expect(error.location == .page(3))
    }

    @Test func manyProblemsAreCountedAfterTheFirstFive() throws {
        var bolt = CraftedBolt()
        bolt.pageCount = 40
        bolt.freeIDs = []
        let error = try refusal(bolt)
        // Pages 5 to 39: 35 pages, none reachable, none free.
        #expect(error.message.contains("35 errors found: page 5: unreachable unfreed, page 6: unreachable unfreed"), "\(error)")
        #expect(error.message.hasSuffix("page 9: unreachable unfreed, and 30 more"), "\(error)")
    }

    @Test func aFreelistPageWithOtherFlagsIsUnreadable() throws {
        var bolt = CraftedBolt()
        bolt.freelistFlags = 0x02
        let error = try refusal(bolt)
        #expect(error.code == .badFreelist)
        #expect(error.location == .page(CraftedBolt.freelistPage))
        #expect(error.message.contains("expected a freelist page (0x10)"), "\(error)")
    }

    @Test func aMetaNamingATreePageAsItsFreelistIsReadAsWithoutASyncedFreelist() throws {
        // bbolt's first NoFreelistSync (mid-2017) left the meta's freelist id stale and reused the page.
        var bolt = CraftedBolt()
        bolt.freelist = CraftedBolt.keyBucketPage
        bolt.pageCount = 8
        #expect(try read(bolt).revisions.count == 3)
    }

    @Test func aFreelistCountPastItsPagesIsUnreadable() throws {
        var bolt = CraftedBolt()
        bolt.freelistCount = 0xFFFF
        bolt.freeIDs = [UInt64.max, CraftedBolt.stalePage]  // the first slot holds the real count
        let error = try refusal(bolt)
        #expect(error.code == .badFreelist)
        #expect(error.message.contains("page ids, which do not fit in its 4096 bytes"), "\(error)")
    }

    @Test func aFreelistOverflowPastTheHighWaterMarkIsUnreadable() throws {
        var bolt = CraftedBolt()
        bolt.freelistOverflow = 2
        let error = try refusal(bolt)
        #expect(error.code == .badFreelist)
        #expect(error.message.contains("past the meta's high-water mark"), "\(error)")
    }

    @Test func aMetaNamingAFreelistPastTheHighWaterMarkIsUnreadable() throws {
        var bolt = CraftedBolt()
        bolt.freelist = 6
        let error = try refusal(bolt)
        #expect(error.code == .badFreelist)
        #expect(error.location == .page(6))
    }

    @Test func aLongFreelistCountedInItsFirstSlotIsRead() throws {
        var bolt = CraftedBolt()
        bolt.freelistCount = 0xFFFF
        bolt.freeIDs = [1, CraftedBolt.stalePage]
        #expect(try read(bolt).revisions.count == 3)
    }

    @Test func withoutASyncedFreelistEveryUnreachablePageIsFreeAsBboltRebuildsIt() throws {
        var bolt = CraftedBolt()
        bolt.freelist = BoltMeta.noFreelist
        bolt.pageCount = 12
        #expect(try read(bolt).revisions.count == 3)
    }

    @Test func readingTwiceRefusesAnInconsistentFile() throws {
        var bolt = CraftedBolt()
        bolt.freeIDs = []
        let reader = SnapshotReader(path: try write(bolt), displayName: "crafted.db")
        var first = Sink()
        let error = try #require(throws: DumpError.self) {
            _ = try reader.readTwice(into: &first) { _ in Sink() }
        }
        #expect(error.code == .inconsistentPages)
    }

    @Test func salvageOfAnInconsistentFileIsPartialWithTheReason() throws {
        var bolt = CraftedBolt()
        bolt.freeIDs = [CraftedBolt.stalePage, CraftedBolt.stalePage]
        let (revisions, metadata) = try read(bolt, salvage: true)
        let report = try #require(metadata.salvage)
        #expect(report.cause.contains("page 5: already freed"), "\(report.cause)")
        #expect(report.summary.contains("already freed"))
        // The page scan finds the tree's leaf and the stale copy of revision 1.
        #expect(revisions.map(\.main) == [1, 2, 3])
    }
}
