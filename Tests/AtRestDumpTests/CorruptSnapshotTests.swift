import Foundation
import Testing
@testable import AtRestDump
import AtRestTestSupport

/// The corrupt-snapshot suite: a real etcd snapshot damaged in every way bbolt can
/// be damaged. The oracle is the same for every case: the read either fails with a
/// one-line `DumpError` naming a page or a byte, or gives exactly the undamaged
/// result (every revision, key, value and metadata byte-identical). Anything else
/// is a wrong answer and fails the test.
@Suite(.enabled(if: EtcdServer.shouldRun), .serialized) struct CorruptSnapshotTests {
    /// What one read gives, for comparison with the undamaged read.
    struct Reading: Equatable {
        var changes: [Change]
        var refusals: [Refusal]
        var revision: Int64?
        var consistentIndex: UInt64?

        struct Change: Equatable {
            var revision: Revision
            var tombstone: Bool
            var entry: KeyValue
        }
    }

    struct Sink: DumpSink {
        var changes: [Reading.Change] = []
        var refusals: [Refusal] = []
        mutating func live(_ entry: KeyValue) throws { Issue.record("a snapshot delivered a live entry") }
        mutating func history(_ revision: Revision, tombstone: Bool, _ entry: KeyValue) throws {
            changes.append(Reading.Change(revision: revision, tombstone: tombstone, entry: entry))
        }
        mutating func refused(_ refusal: Refusal) throws { refusals.append(refusal) }
    }

    /// Cases of one category and how they ended.
    struct Tally: CustomStringConvertible {
        var name: String
        var cases = 0
        var errors = 0
        var identical = 0
        /// A branch's child pointer redirected to a structurally valid stale copy of a
        /// leaf (bbolt pages carry no checksum): only the sha256 trailer can tell, and
        /// each such case is proven refused with the trailer in place.
        var caughtOnlyByTrailer = 0
        var wrong: Int { cases - errors - identical - caughtOnlyByTrailer }
        var description: String {
            "\(name): \(cases) cases, \(errors) DumpError, \(identical) identical, "
                + "\(caughtOnlyByTrailer) caught only by the sha256 trailer, \(wrong) wrong"
        }
    }

    let generated: GeneratedSnapshot
    let layout: BoltLayout
    let original: [UInt8]
    let expected: Reading
    let directory: URL

    init() throws {
        generated = try GeneratedSnapshot.shared.get()
        layout = generated.layout
        original = generated.database
        directory = try Fixtures.temporaryDirectory("corrupt-snapshot")
        let path = directory.appendingPathComponent("undamaged.db").path
        try Data(original).write(to: URL(fileURLWithPath: path))
        expected = try Self.read(path, skipHashCheck: false)
        #expect(expected.refusals.isEmpty)
        #expect(expected.changes.count > 140)
    }

    static func read(_ path: String, skipHashCheck: Bool) throws -> Reading {
        try salvage(path, skipHashCheck: skipHashCheck, salvaging: false).reading
    }

    static func salvage(_ path: String, skipHashCheck: Bool = false, salvaging: Bool = true) throws -> (reading: Reading, report: SalvageReport?) {
        var sink = Sink()
        let result = try SnapshotReader(path: path, displayName: "damaged.db", skipHashCheck: skipHashCheck, salvage: salvaging).read(into: &sink)
        return (Reading(changes: sink.changes, refusals: sink.refusals, revision: result.metadata.revision,
                        consistentIndex: result.metadata.consistentIndex), result.metadata.salvage)
    }

    /// Reads `bytes` and applies the oracle; returns whether it failed with an error.
    @discardableResult
    func check(_ bytes: [UInt8], _ label: @autoclosure () -> String, into tally: inout Tally, skipHashCheck: Bool = false,
               expecting reading: Reading? = nil, trailerDecidesRedirects: Bool = false,
               sourceLocation: SourceLocation = #_sourceLocation) throws -> DumpError? {
        tally.cases += 1
        let path = directory.appendingPathComponent("case.db").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do {
            let got = try Self.read(path, skipHashCheck: skipHashCheck)
            let want = reading ?? expected
            if got == want {
                tally.identical += 1
            } else if trailerDecidesRedirects, try refusedWithTrailer(bytes) {
                tally.caughtOnlyByTrailer += 1
            } else {
                Issue.record("wrong answer: \(label()): \(got.changes.count) changes, \(got.refusals.count) refusals, revision \(got.revision.map(String.init) ?? "nil")",
                             sourceLocation: sourceLocation)
            }
            return nil
        } catch let error as DumpError {
            tally.errors += 1
            let named: Bool
            switch error.location {
            case .page, .byte: named = true
            case .line, .row, .file: named = false
            }
            #expect(named, "\(label()): \(error)", sourceLocation: sourceLocation)
            #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
            #expect(error.description.hasPrefix("damaged.db: "), sourceLocation: sourceLocation)
            return error
        }
    }

    /// Whether `bytes`, followed by the undamaged database's sha256 trailer as
    /// `snapshot save` writes it, is refused.
    func refusedWithTrailer(_ bytes: [UInt8]) throws -> Bool {
        let path = directory.appendingPathComponent("case-with-trailer.db").path
        try Data(bytes + generated.snapshot.suffix(32)).write(to: URL(fileURLWithPath: path))
        do {
            _ = try Self.read(path, skipHashCheck: false)
            return false
        } catch is DumpError {
            return true
        }
    }

    /// Whether every change of `part` is one of `whole`, byte for byte, in the same order.
    static func isOrderedSubset(_ part: [Reading.Change], of whole: [Reading.Change]) -> Bool {
        var rest = whole[...]
        for change in part {
            guard let found = rest.firstIndex(of: change) else { return false }
            rest = rest[(found + 1)...]
        }
        return true
    }

    private func le64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    private func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    private func patched(_ offset: Int, _ new: [UInt8], in bytes: [UInt8]? = nil) -> [UInt8] {
        var copy = bytes ?? original
        copy.replaceSubrange(offset..<offset + new.count, with: new)
        return copy
    }
    private func report(_ tally: Tally) {
        print("corrupt-snapshot suite: \(tally)")
        #expect(tally.wrong == 0, "\(tally)")
    }

    // MARK: categories

    @Test func truncationAtEveryPageBoundaryAndInsidePagesIsAnError() throws {
        var tally = Tally(name: "truncation")
        let size = layout.pageSize
        for page in 0..<Int(layout.pageCount) {
            for inside in [0, 17, size / 2 + 3, size - 1] {
                let cut = page * size + inside
                guard cut < original.count else { continue }
                let error = try check(Array(original.prefix(cut)), "truncated at byte \(cut)", into: &tally)
                #expect(error != nil, "truncated at byte \(cut) was read")
            }
        }
        report(tally)
    }

    /// The read is a function of the meta it chooses and of pages 2 and up, so a flip
    /// that leaves the chosen meta as it was gives the undamaged result; every other
    /// flip is read in full. (Reading all 8192 mutants in full takes minutes in debug.)
    @Test func everyByteOfBothMetaPagesFlippedIsAnErrorOrTheSameResult() throws {
        var tally = Tally(name: "meta page bytes")
        // One file, patched in place and restored: rewriting it 8192 times is what would take the time.
        let path = directory.appendingPathComponent("meta.db").path
        try Data(original).write(to: URL(fileURLWithPath: path))
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        func chosenMeta() throws -> BoltMeta? {
            try? BoltMeta.load(from: try SnapshotFile(path: path, displayName: "damaged.db"), databaseSize: UInt64(original.count))
        }
        func poke(_ offset: Int, _ byte: UInt8) throws {
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: [byte])
        }
        let undamaged = try #require(try chosenMeta())
        var head = Array(original.prefix(FormatDetector.snapshotPeekLength))
        for offset in 0..<(2 * layout.pageSize) {
            try poke(offset, original[offset] ^ 0xFF)
            head[offset] ^= 0xFF
            defer { head[offset] ^= 0xFF }
            #expect(try FormatDetector.detect(head: head, name: "damaged.db") == .snapshot, "meta byte \(offset) flipped: not detected as a snapshot")
            let meta = try chosenMeta()
            try poke(offset, original[offset])
            if let meta, meta == undamaged {
                tally.cases += 1
                tally.identical += 1
            } else {
                var bytes = original
                bytes[offset] ^= 0xFF
                try check(bytes, "meta byte \(offset) flipped", into: &tally)
            }
        }
        report(tally)
    }

    @Test func bothMetaPagesInvalidSaysSoForEach() throws {
        var tally = Tally(name: "both meta pages")
        var bytes = original
        bytes[16 + 56] ^= 0x01  // page 0: checksum
        bytes[layout.pageSize + 16] ^= 0xFF  // page 1: magic
        let error = try check(bytes, "both metas", into: &tally)
        #expect(error?.code == .badMeta)
        #expect(error?.message.hasPrefix("both meta pages are invalid: page 0: checksum mismatch") == true, "\(String(describing: error))")
        #expect(error?.message.contains("page 1: bad magic") == true, "\(String(describing: error))")
    }

    @Test func flipsInEveryKeyBucketPageHeaderAndElementHeaderAreAnErrorOrTheSameResult() throws {
        var tally = Tally(name: "key bucket page and element headers")
        for page in layout.keyBucket {
            let base = Int(page.id) * layout.pageSize
            let childPointers = Set(page.childOffsets.flatMap { $0 ..< $0 + 8 })
            for offset in base..<(base + 16 + 16 * page.count) {
                for mask: UInt8 in [0xFF, 0x01] {
                    var bytes = original
                    bytes[offset] ^= mask
                    try check(bytes, "page \(page.id) byte \(offset - base) ^ \(mask)", into: &tally,
                              trailerDecidesRedirects: childPointers.contains(offset))
                }
            }
        }
        report(tally)
    }

    @Test func pageIdsPastTheEndAreOutOfRange() throws {
        var tally = Tally(name: "page ids past the end")
        let past = [layout.pageCount, layout.pageCount + 1, layout.pageCount + 1_000_000, UInt64.max]
        for page in layout.keyBucket where page.isBranch {
            for offset in page.childOffsets {
                for id in past {
                    let error = try check(patched(offset, le64(id)), "child of page \(page.id) at \(id)", into: &tally)
                    #expect(error?.code == .pageOutOfRange)
                }
            }
        }
        for bucket in layout.buckets {
            for id in past {
                let error = try check(patched(bucket.valueOffset, le64(id)), "bucket \(bucket.name) root at \(id)", into: &tally)
                #expect(error?.code == .pageOutOfRange, "bucket \(bucket.name): \(String(describing: error))")
            }
        }
        report(tally)
    }

    @Test func overflowCountsPastTheEndAreErrors() throws {
        var tally = Tally(name: "overflow counts")
        for page in layout.keyBucket {
            let at = Int(page.id) * layout.pageSize + 12
            let counts: [UInt32] = [UInt32(layout.pageCount - page.id), UInt32(layout.pageCount), .max, UInt32(page.overflow + 1)]
                + (page.overflow > 0 ? [UInt32(page.overflow - 1), 0] : [])
            for count in counts {
                let error = try check(patched(at, le32(count)), "page \(page.id) overflow \(count)", into: &tally)
                #expect(error != nil, "page \(page.id) overflow \(count) was read")
            }
        }
        report(tally)
    }

    @Test func branchCyclesAreErrors() throws {
        var tally = Tally(name: "branch cycles")
        for page in layout.keyBucket where page.isBranch {
            for offset in page.childOffsets {
                for target in [page.id, layout.rootPage] + page.ancestors {
                    let error = try check(patched(offset, le64(target)), "child of page \(page.id) -> \(target)", into: &tally)
                    #expect(error?.code == .cycle, "\(String(describing: error))")
                }
            }
        }
        // A leaf's child pointer to its sibling: the sibling is reached twice.
        for page in layout.keyBucket where page.isBranch && page.childOffsets.count >= 2 {
            let second = original[page.childOffsets[1]..<page.childOffsets[1] + 8]
            let error = try check(patched(page.childOffsets[0], Array(second)), "first child of page \(page.id) -> second", into: &tally)
            #expect(error != nil)
        }
        report(tally)
    }

    @Test func otherBucketsWithARootPastTheEndOrACycleAreErrors() throws {
        var tally = Tally(name: "other buckets")
        let keyRoot = try #require(layout.bucket("key")).root
        for bucket in layout.buckets where bucket.name != "key" {
            for (target, code) in [(layout.pageCount + 7, DumpError.Code.pageOutOfRange), (layout.rootPage, .cycle), (keyRoot, .cycle)] {
                let error = try check(patched(bucket.valueOffset, le64(target)), "bucket \(bucket.name) -> \(target)", into: &tally)
                #expect(error?.code == code, "bucket \(bucket.name) -> \(target): \(String(describing: error))")
            }
            // An inline bucket's page header: flags and count.
            if bucket.root == 0 {
                for offset in [16 + 8, 16 + 10] {
                    var bytes = original
                    bytes[bucket.valueOffset + offset] ^= 0xFF
                    let error = try check(bytes, "inline bucket \(bucket.name) byte \(offset)", into: &tally)
                    #expect(error != nil, "inline bucket \(bucket.name) byte \(offset) was read")
                }
            }
        }
        #expect(layout.bucket("lease") != nil)
        report(tally)
    }

    @Test func wrongSHA256TrailerIsAChecksumMismatchAtTheTrailer() throws {
        var tally = Tally(name: "sha256 trailer")
        let snapshot = generated.snapshot
        let trailerOffset = snapshot.count - 32
        for offset in trailerOffset..<snapshot.count {
            var bytes = snapshot
            bytes[offset] ^= 0xFF
            let error = try check(bytes, "trailer byte \(offset) flipped", into: &tally)
            #expect(error?.code == .checksumMismatch)
            #expect(error?.location == .byte(UInt64(trailerOffset)))
        }
        // One byte of every page: caught by the trailer, even where nothing is read.
        for page in 0..<Int(layout.pageCount) {
            var bytes = snapshot
            bytes[page * layout.pageSize + 1000] ^= 0x55
            let error = try check(bytes, "page \(page) body byte flipped", into: &tally)
            #expect(error?.code == .checksumMismatch)
        }
        report(tally)
    }

    @Test func skipHashCheckReadsTheSameEntriesPastAWrongTrailer() throws {
        var tally = Tally(name: "skip hash check")
        var bytes = generated.snapshot
        bytes[bytes.count - 1] ^= 0xFF
        try check(bytes, "trailer flipped, --skip-hash-check", into: &tally, skipHashCheck: true)
        #expect(tally.identical == 1)
    }

    // MARK: --salvage

    @Test func salvageOfASoundSnapshotIsTheNormalCompleteRead() throws {
        let path = directory.appendingPathComponent("sound.db").path
        try Data(original).write(to: URL(fileURLWithPath: path))
        let (reading, report) = try Self.salvage(path)
        #expect(report == nil)
        #expect(reading == expected)
    }

    @Test func salvagePastAWrongTrailerReadsTheTreeButIsPartial() throws {
        var bytes = generated.snapshot
        bytes[bytes.count - 1] ^= 0xFF
        let path = directory.appendingPathComponent("bad-trailer.db").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let (reading, report) = try Self.salvage(path)
        #expect(reading == expected)
        #expect(report?.leafPages == nil)
        #expect(report?.summary.contains("sha256 trailer does not match") == true)
    }

    @Test func salvageRecoversEveryRevisionWhenBothMetaPagesAreZeroed() throws {
        var bytes = original
        bytes.replaceSubrange(0..<(2 * layout.pageSize), with: [UInt8](repeating: 0, count: 2 * layout.pageSize))
        let path = directory.appendingPathComponent("zeroed-metas.db").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: DumpError.self) { _ = try Self.read(path, skipHashCheck: false) }
        let (reading, report) = try Self.salvage(path)
        #expect(reading.changes == expected.changes)
        #expect(reading.refusals.isEmpty)
        // Pages 0 and 1, and possibly freed pages that no longer hold a page (continuations of old overflow spans).
        let unreadable = try #require(report?.unreadable)
        #expect(unreadable.first == 0...1)
        let treePages = Set(layout.keyBucket.map(\.id))
        #expect(unreadable.dropFirst().allSatisfy { range in !range.contains { treePages.contains($0) } })
        #expect(report?.recovered == expected.changes.count)
        #expect(report?.cause.contains("both meta pages are invalid") == true)
    }

    @Test func salvageReportsADestroyedLeafAndRecoversTheRest() throws {
        let leaves = layout.keyBucket.filter { !$0.isBranch && $0.overflow == 0 }
        let victim = try #require(leaves.dropFirst().first)
        var bytes = original
        let start = Int(victim.id) * layout.pageSize
        bytes.replaceSubrange(start..<(start + layout.pageSize), with: [UInt8](repeating: 0xA5, count: layout.pageSize))
        let path = directory.appendingPathComponent("leaf-gone.db").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let (reading, report) = try Self.salvage(path)
        let unreadable = try #require(report?.unreadable)
        #expect(unreadable.contains { $0.contains(victim.id) })
        #expect(!unreadable.contains { $0.contains(0) || $0.contains(1) })
        // Every recovered revision is byte-identical to the snapshot's; what is missing was on the destroyed page.
        #expect(Self.isOrderedSubset(reading.changes, of: expected.changes))
        let victimRevisions = Set(leafRevisions(victim.id))
        let missing = expected.changes.filter { change in !reading.changes.contains(change) }
        #expect(!victimRevisions.isEmpty)
        #expect(missing.allSatisfy { victimRevisions.contains($0.revision) })
        #expect(reading.changes.count >= expected.changes.count - victimRevisions.count)
    }

    /// The revisions the undamaged leaf page `id` holds.
    private func leafRevisions(_ id: UInt64) -> [Revision] {
        let base = Int(id) * layout.pageSize
        func le(_ at: Int, _ width: Int) -> Int { (0..<width).reduce(0) { $0 | Int(original[at + $1]) << (8 * $1) } }
        func be(_ at: Int) -> Int64 { (0..<8).reduce(0) { $0 << 8 | Int64(original[at + $1]) } }
        return (0..<le(base + 10, 2)).map { index in
            let element = base + 16 + index * 16
            let key = element + le(element + 4, 4)
            return Revision(main: be(key), sub: be(key + 9))
        }
    }
}
