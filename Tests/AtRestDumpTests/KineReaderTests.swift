import Foundation
import Testing
@testable import AtRestDump
import AtRestTestSupport

/// What `KineReader` delivers for a kine database built by SQLite in kine's write
/// pattern (`testdata/kine/make_kine_db.py`, whose docstring lists the rows).
@Suite struct KineReaderTests {
    struct Delivered: Equatable, CustomStringConvertible {
        var main: Int64, sub: Int64, tombstone: Bool, key: String, modRevision: Int64, plaintext: Bool
        var description: String { "\(main)_\(sub)\(tombstone ? "t" : "") \(key) mod=\(modRevision)\(plaintext ? " plain" : "")" }
    }

    struct Sink: DumpSink {
        var delivered: [Delivered] = []
        mutating func live(_ entry: KeyValue) throws { Issue.record("a kine database has history, not live entries") }
        mutating func history(_ revision: Revision, tombstone: Bool, _ entry: KeyValue) throws {
            delivered.append(Delivered(main: revision.main, sub: revision.sub, tombstone: tombstone,
                                       key: String(decoding: entry.key, as: UTF8.self), modRevision: entry.modRevision,
                                       plaintext: entry.value.starts(with: [0x6b, 0x38, 0x73, 0x00])))
        }
        mutating func refused(_ refusal: Refusal) throws { Issue.record("refused \(refusal)") }
    }

    @Test func rowsAndTheCopiesTheyHoldArriveInRevisionOrder() throws {
        let dir = try Fixtures.temporaryDirectory("kine-reader")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try GeneratedKine.make(in: dir)
        var sink = Sink()
        let summary = try ExportReading.read([files.database], into: &sink)
        let s = "/registry/secrets/default/"
        #expect(sink.delivered.map(\.description) == [
            "2_0 /registry/health mod=2",
            "3_8 \(s)a mod=3 plain",
            "4_0 \(s)b mod=4 plain",
            "4_12 \(s)b mod=4 plain",
            "5_9 \(s)c mod=5",
            "7_0 /registry/configmaps/default/cm mod=7 plain",
            "8_0 \(s)a mod=8",
            "9_0 \(s)c mod=9",
            "10_11 \(s)e mod=10",
            "11_0 \(s)e mod=11",
            "12_0 \(s)b mod=12",
            "13_0 \(s)d mod=13 plain",
            "13_14 \(s)d mod=13 plain",
            "14_0t \(s)d mod=14",
            "16_0 \(s)f mod=16 plain",
        ])
        let metadata = try #require(summary.inputs.first?.metadata)
        #expect(metadata.format == .kine)
        #expect(metadata.revision == 16)
        #expect(metadata.finishedCompactRevision == 11)
        #expect(metadata.kine?.rows == 12)
        #expect(metadata.kine?.compactRevKeyRows == 1)
        #expect(metadata.kine?.gapRows == 1)
        #expect(metadata.kine?.oldValueCopies == 5)
    }

    @Test func aCopyBelongsToTheKeyOfTheRowItCopies() throws {
        let dir = try Fixtures.temporaryDirectory("kine-reader")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try GeneratedKine.make(in: dir, oldValueBySelect: true)
        var sink = Sink()
        _ = try ExportReading.read([files.database], into: &sink)
        // Row 13 (the first create of secret d) holds the value of row 12 in old_value: secret b's.
        #expect(sink.delivered.contains { $0.description == "12_13 /registry/secrets/default/b mod=12" }, "\(sink.delivered)")
        #expect(!sink.delivered.contains { $0.main == 12 && $0.key != "/registry/secrets/default/b" })
        // Row 4 (the first create of b) holds row 3's value, but row 3 was compacted:
        // the copy is taken as b's own (docs/formats.md says so).
        #expect(sink.delivered.contains { $0.description == "3_4 /registry/secrets/default/b mod=3 plain" })
    }

    @Test func aKineDatabaseMustBeTheOnlyInput() throws {
        let dir = try Fixtures.temporaryDirectory("kine-reader")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try GeneratedKine.make(in: dir)
        var sink = Sink()
        #expect(throws: DumpError.self) { _ = try ExportReading.read([files.database, Fixtures.path("etcd/export.json")], into: &sink) }
        #expect(sink.delivered.isEmpty)
    }
}
