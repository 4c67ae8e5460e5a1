import Testing
@testable import AtRestDump

@Suite struct PaginationCheckTests {
    private func page(_ index: Int, _ first: String?, received: Int64, more: Bool = false, count: Int64?) -> PaginationCheck.Page {
        PaginationCheck.Page(index: index, firstKey: first.map { Array($0.utf8) }, received: received, more: more, count: count)
    }

    @Test func singleFullPageIsComplete() {
        #expect(PaginationCheck(pages: [page(1, "/a", received: 14, count: 14)]).completeness == .complete)
    }

    @Test func emptyResultWithoutCountIsComplete() {
        #expect(PaginationCheck(pages: [page(1, nil, received: 0, count: nil)]).completeness == .complete)
    }

    @Test func singlePageWithMoreIsIncomplete() {
        let verdict = PaginationCheck(pages: [page(1, "/a", received: 2, more: true, count: 14)]).completeness
        #expect(verdict == .incomplete(reason: "page 1 says more: true and no later page continues it"))
    }

    @Test func countAboveReceivedIsIncomplete() {
        let verdict = PaginationCheck(pages: [page(1, "/a", received: 2, count: 14)]).completeness
        #expect(verdict == .incomplete(reason: "count 14 but 2 keys received"))
    }

    @Test func chainedPagesAreComplete() {
        let pages = [page(1, "/a", received: 2, more: true, count: 5), page(2, "/c", received: 2, more: true, count: 3), page(3, "/e", received: 1, count: 1)]
        #expect(PaginationCheck(pages: pages).completeness == .complete)
    }

    @Test func pagesInAnyOrderAreSortedByFirstKey() {
        let pages = [page(1, "/e", received: 1, count: 1), page(2, "/a", received: 2, more: true, count: 5), page(3, "/c", received: 2, more: true, count: 3)]
        #expect(PaginationCheck(pages: pages).completeness == .complete)
    }

    @Test func missingMiddlePageIsIncomplete() {
        let pages = [page(1, "/a", received: 2, more: true, count: 5), page(2, "/e", received: 1, count: 1)]
        guard case .incomplete(let reason) = PaginationCheck(pages: pages).completeness else {
            Issue.record("expected incomplete")
            return
        }
        #expect(reason.contains("5 != 2 + 1"))
    }

    @Test func missingLastPageIsIncomplete() {
        let pages = [page(1, "/a", received: 2, more: true, count: 5), page(2, "/c", received: 2, more: true, count: 3)]
        #expect(PaginationCheck(pages: pages).completeness == .incomplete(reason: "page 2 says more: true and no later page continues it"))
    }

    @Test func noPagesIsIncomplete() {
        #expect(!PaginationCheck(pages: []).completeness.isComplete)
    }

    @Test func duplicateKeyAcrossPagesIsCaughtByTheGuard() {
        var guardKeys = PageKeyGuard()
        func admit(_ key: String) -> Bool { guardKeys.admit(Array(key.utf8)) }
        guardKeys.beginPage()
        let first = [admit("/a"), admit("/c")]
        guardKeys.endPage()
        let second = [admit("/c"), admit("/b"), admit("/d"), admit("/d")]
        #expect(first == [true, true])
        #expect(second == [false, false, true, false])
    }
}
