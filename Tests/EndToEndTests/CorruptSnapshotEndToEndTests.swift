import Foundation
import Testing
import AtRestTestSupport

/// The corrupt-snapshot suite through the binary: a representative case of every
/// category must exit 2 with one line on standard error naming a page or a byte,
/// from `stats` (through an index) and `audit` (two reads, no index) alike;
/// `--salvage` reads what is left and says the result is partial; hostile sizes are
/// refused without allocating what they claim.
@Suite(.enabled(if: EtcdServer.shouldRun)) struct CorruptSnapshotEndToEndTests {
    let generated: GeneratedSnapshot
    let layout: BoltLayout
    let original: [UInt8]
    let directory: URL

    init() throws {
        generated = try GeneratedSnapshot.shared.get()
        layout = generated.layout
        original = generated.database
        directory = try Fixtures.temporaryDirectory("corrupt-e2e")
    }

    private func le64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    private func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    private func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func patched(_ offset: Int, _ new: [UInt8], in bytes: [UInt8]? = nil) -> [UInt8] {
        var copy = bytes ?? original
        copy.replaceSubrange(offset..<offset + new.count, with: new)
        return copy
    }

    /// Rewrites meta page `page`'s field at `field` (offset in the meta struct) and its checksum,
    /// as a hostile file would: the meta stays valid by bbolt's own test.
    private func withMetaField(_ bytes: [UInt8], page: Int, field: Int, _ value: [UInt8]) -> [UInt8] {
        let base = page * layout.pageSize + 16
        var copy = patched(base + field, value, in: bytes)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in copy[base..<base + 56] { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        copy.replaceSubrange(base + 56..<base + 64, with: le64(hash))
        return copy
    }

    /// Runs `stats` on the damaged file: status 2 and one line naming the file and a page or byte.
    @discardableResult
    private func expectRefused(_ bytes: [UInt8], _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let path = try write(bytes, name)
        let result = try AtRestBinary.run(["stats", path])
        #expect(result.status == 2, "\(name): status \(result.status), stderr \(result.stderr)", sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == 1, "\(name): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("atrest: \(path): "), "\(name): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(": page ") || result.stderr.contains(": byte "), "\(name): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, sourceLocation: sourceLocation)
        // `audit` reads a snapshot twice without an index: the same refusal, nothing printed.
        let audit = try AtRestBinary.run(["audit", "--feature-gates", "KMSv1=true", path, "--config", Fixtures.path("audit/config.yaml")])
        #expect(audit.status == 2 && audit.stderr == result.stderr && audit.stdout.isEmpty,
                "\(name): audit says \(audit.status) \(audit.stderr)", sourceLocation: sourceLocation)
        return result.stderr
    }

    // MARK: one case per category

    @Test func truncatedSnapshotsAreRefusedNamingAPage() throws {
        try expectRefused(Array(original.prefix(5 * layout.pageSize)), "cut-at-page.db")
        try expectRefused(Array(original.prefix(7 * layout.pageSize + 100)), "cut-inside-page.db")
    }

    @Test func bothMetaPagesInvalidAreNamedOneByOne() throws {
        var bytes = original
        bytes[16 + 56] ^= 0x01
        bytes[layout.pageSize + 16] ^= 0xFF
        let stderr = try expectRefused(bytes, "both-metas.db")
        #expect(stderr.contains("both meta pages are invalid: page 0: checksum mismatch"), "\(stderr)")
        #expect(stderr.contains("page 1: bad magic"), "\(stderr)")
    }

    @Test func aDamagedMetaPageZeroFallsBackToTheSameResult() throws {
        let undamaged = try AtRestBinary.run(["stats", "--output", "json", try write(original, "undamaged.db")])
        #expect(undamaged.status == 0)
        var bytes = original
        bytes[16] ^= 0xFF  // page 0's magic: not even detected from page 0 any more
        let damaged = try AtRestBinary.run(["stats", "--output", "json", try write(bytes, "meta0.db")])
        #expect(damaged.status == 0, "\(damaged.stderr)")
        #expect(!damaged.stdout.isEmpty)
        let strip = { (text: String) in text.split(separator: "\n").filter { !$0.contains("\"name\"") && !$0.contains("\"sha256\"") } }
        #expect(strip(damaged.stdout) == strip(undamaged.stdout))
    }

    @Test func damagedKeyBucketHeadersAreRefusedNamingThePage() throws {
        let branch = try #require(layout.keyBucket.first { $0.isBranch })
        let leaf = try #require(layout.keyBucket.first { !$0.isBranch })
        try expectRefused(patched(Int(branch.id) * layout.pageSize + 10, [0xFF]), "branch-count.db")
        try expectRefused(patched(Int(leaf.id) * layout.pageSize + 16 + 4, [0x7F]), "leaf-pos.db")
        try expectRefused(patched(Int(leaf.id) * layout.pageSize + 8, [0x04]), "leaf-flags.db")
    }

    @Test func pageIdsAndOverflowPastTheEndAreRefused() throws {
        let branch = try #require(layout.keyBucket.first { $0.isBranch })
        try expectRefused(patched(branch.childOffsets[0], le64(layout.pageCount + 5)), "child-past-end.db")
        let big = try #require(layout.keyBucket.first { $0.overflow > 0 })
        try expectRefused(patched(Int(big.id) * layout.pageSize + 12, le32(.max)), "overflow-max.db")
    }

    @Test func branchCyclesAreRefused() throws {
        let branch = try #require(layout.keyBucket.first { $0.isBranch })
        let stderr = try expectRefused(patched(branch.childOffsets.last ?? 0, le64(branch.id)), "cycle.db")
        #expect(stderr.contains("reached twice"), "\(stderr)")
    }

    @Test func anotherBucketPastTheEndIsRefused() throws {
        let lease = try #require(layout.bucket("lease"))
        let stderr = try expectRefused(patched(lease.valueOffset, le64(layout.pageCount + 9)), "lease-past-end.db")
        #expect(stderr.contains("page \(layout.pageCount + 9)"), "\(stderr)")
    }

    @Test func aWrongTrailerIsRefusedAtItsByte() throws {
        var bytes = generated.snapshot
        bytes[bytes.count - 1] ^= 0xFF
        let stderr = try expectRefused(bytes, "trailer.db")
        #expect(stderr.contains("byte \(bytes.count - 32): sha256 trailer does not match"), "\(stderr)")
    }

    // MARK: hostile sizes

    /// Runs `stats` under /usr/bin/time when it is there; returns the status, stderr and peak RSS in KiB.
    private func runMeasured(_ path: String) throws -> (status: Int32, stderr: String, maxRSS: Int?) {
        let time = "/usr/bin/time"
        guard FileManager.default.isExecutableFile(atPath: time) else {
            let result = try AtRestBinary.run(["stats", path])
            return (result.status, result.stderr, nil)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: time)
        process.arguments = ["-f", "maxrss-kib=%M", try AtRestBinary.executable().path, "stats", path]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        let rss = lines.last.flatMap { $0.hasPrefix("maxrss-kib=") ? Int($0.dropFirst("maxrss-kib=".count)) : nil }
        if rss != nil { lines.removeLast() }
        lines.removeAll { $0.hasPrefix("Command exited with non-zero status") }
        return (process.terminationStatus, lines.joined(separator: "\n"), rss)
    }

    @Test func hostilePageSizesAndCountsAreRefusedWithinBoundedMemory() throws {
        let cases: [(String, [UInt8])] = [
            ("page-size-2^31.db", withMetaField(withMetaField(original, page: 0, field: 8, le32(1 << 31)), page: 1, field: 8, le32(1 << 31))),
            ("page-size-3000.db", withMetaField(withMetaField(original, page: 0, field: 8, le32(3000)), page: 1, field: 8, le32(3000))),
            ("page-count-2^60.db", withMetaField(withMetaField(original, page: 0, field: 40, le64(1 << 60)), page: 1, field: 40, le64(1 << 60))),
            ("overflow-in-range.db", {
                let leaf = layout.keyBucket.first { !$0.isBranch && $0.overflow == 0 } ?? layout.keyBucket[0]
                return patched(Int(leaf.id) * layout.pageSize + 12, le32(UInt32(layout.pageCount - leaf.id - 1)))
            }()),
        ]
        for (name, bytes) in cases {
            let path = try write(bytes, name)
            let result = try runMeasured(path)
            #expect(result.status == 2, "\(name): \(result.status) \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(name): \(result.stderr)")
            #expect(result.stderr.contains(": page ") || result.stderr.contains(": byte "), "\(name): \(result.stderr)")
            if FileManager.default.isExecutableFile(atPath: "/usr/bin/time") {
                let rss = try #require(result.maxRSS, "\(name): /usr/bin/time gave no peak RSS")
                #expect(rss < 256 * 1024, "\(name): peak RSS \(rss) KiB")
            }
        }
    }

    // MARK: --salvage

    private func zeroedMetas() -> [UInt8] {
        var bytes = original
        bytes.replaceSubrange(0..<(2 * layout.pageSize), with: [UInt8](repeating: 0, count: 2 * layout.pageSize))
        return bytes
    }

    @Test func salvageStatsSaysPartialInTextAndJSON() throws {
        let path = try write(zeroedMetas(), "zeroed.db")
        let refused = try AtRestBinary.run(["stats", path])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("both meta pages are invalid: page 0: bad magic"), "\(refused.stderr)")
        let text = try AtRestBinary.run(["stats", "--salvage", path])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("completeness: partial: salvaged: "), "\(text.stdout)")
        #expect(text.stdout.contains("unreadable pages: 0-1"), "\(text.stdout)")
        let json = try AtRestBinary.run(["stats", "--salvage", "--output", "json", path])
        #expect(json.stdout.contains(#""completeness" : "partial""#) || json.stdout.contains(#""completeness":"partial""#), "\(json.stdout)")
    }

    @Test func salvagedAuditWithoutFindingsExitsFour() throws {
        let path = try write(zeroedMetas(), "zeroed-audit.db")
        let config = directory.appendingPathComponent("identity.yaml")
        try Data("""
            apiVersion: apiserver.config.k8s.io/v1
            kind: EncryptionConfiguration
            resources:
              - resources: [secrets]
                providers:
                  - identity: {}

            """.utf8).write(to: config)
        let audit = try AtRestBinary.run(["audit", "--salvage", "--config", config.path, path])
        #expect(audit.status == 4, "\(audit.stdout)\(audit.stderr)")
        #expect(audit.stdout.contains("completeness: partial"), "\(audit.stdout)")
        let json = try AtRestBinary.run(["audit", "--salvage", "--config", config.path, "--output", "json", path])
        #expect(json.status == 4)
        #expect(json.stdout.contains("\"partial\""), "\(json.stdout)")
        let sound = try AtRestBinary.run(["audit", "--salvage", "--config", config.path, try write(original, "sound.db")])
        #expect(sound.status == 0, "\(sound.stdout)\(sound.stderr)")
        let plan = try AtRestBinary.run(["plan", "--salvage", "--config", config.path, "--proposed", config.path, path])
        #expect(plan.status == 4, "\(plan.stdout)\(plan.stderr)")
        #expect(plan.stdout.contains("completeness: partial"), "\(plan.stdout)")
    }

    @Test func salvagedInspectShowsARecoveredKey() throws {
        let path = try write(zeroedMetas(), "zeroed-inspect.db")
        let refused = try AtRestBinary.run(["inspect", path, "/registry/secrets/default/s-001"])
        #expect(refused.status == 2)
        let shown = try AtRestBinary.run(["inspect", "--salvage", path, "/registry/secrets/default/s-001"])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("/registry/secrets/default/s-001"), "\(shown.stdout)")
    }

    @Test func salvagedIndexWarnsThatItIsPartial() throws {
        let path = try write(zeroedMetas(), "zeroed-index.db")
        let index = directory.appendingPathComponent("index").path
        let result = try AtRestBinary.run(["index", "--salvage", path, "--index", index])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("warning: completeness: partial"), "\(result.stdout)")
    }
}
