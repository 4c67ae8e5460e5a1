import Foundation
import Testing
@testable import AtRestDump
import AtRestTestSupport

@Suite struct FormatDetectorTests {
    private func detect(_ relative: String) throws -> ExportFormat {
        try FormatDetector.detect(head: Array(Fixtures.bytes(relative).prefix(FormatDetector.peekLength)), name: relative)
    }

    @Test func snapshotIsDetectedFromTheBboltMetaPage() throws {
        #expect(try detect("samples/snapshot_small.db") == .snapshot)
    }

    @Test func sqliteIsDetectedFromItsHeaderAsKine() throws {
        let head = Array("SQLite format 3\u{0}".utf8) + [UInt8](repeating: 0, count: 84)
        #expect(try FormatDetector.detect(head: head, name: "state.db") == .kine)
        // Not the whole header: not SQLite.
        #expect(try FormatDetector.detect(head: Array("SQLite format 3\n".utf8), name: "x") == .simple)
    }

    @Test func jsonIsDetectedFromTheFirstBrace() throws {
        #expect(try detect("samples/get_all.json") == .etcdctlJSON)
        #expect(try FormatDetector.detect(head: Array("\n  \t{}".utf8), name: "x") == .etcdctlJSON)
    }

    @Test func fieldsIsDetectedFromTheClusterIDLine() throws {
        #expect(try detect("samples/get_all.fields.txt") == .fields)
    }

    @Test func hexIsDetectedFromTheFirstEscape() throws {
        #expect(try detect("samples/get_all.simple_hex.txt") == .hex)
    }

    @Test func plainTextIsDetectedAsSimple() throws {
        #expect(try detect("samples/get_all.simple.txt") == .simple)
    }

    @Test func emptyInputIsUnknownFormat() throws {
        let error = TestInput.error { _ = try TestInput.read(text: "") }
        #expect(error?.code == .unknownFormat)
        #expect(error?.message == "empty input")
    }

    @Test func protobufOutputIsUnknownFormat() throws {
        let error = TestInput.error { _ = try detect("samples/get_all.pb.bin") }
        #expect(error?.code == .unknownFormat)
    }

    @Test func fileNameDoesNotMatter() throws {
        let path = try TestInput.file(Fixtures.bytes("samples/get_all.fields.txt"), name: "export.json")
        let (sink, summary) = try TestInput.read([path])
        #expect(summary.inputs.first?.metadata.format == .fields)
        #expect(sink.entries.count == 14)
    }

    @Test func mixingFormatsIsInconsistentBeforeAnyEntry() throws {
        var sink = RecordingSink()
        let error = TestInput.error {
            _ = try ExportReading.read([Fixtures.path("samples/get_all.json"), Fixtures.path("samples/get_all.fields.txt")], into: &sink)
        }
        #expect(error?.code == .inconsistentExport)
        #expect(sink.entries.isEmpty)
    }

    @Test func snapshotWithAnotherInputIsInconsistent() throws {
        var sink = RecordingSink()
        let error = TestInput.error {
            _ = try ExportReading.read([Fixtures.path("samples/get_all.json"), Fixtures.path("samples/snapshot_small.db")], into: &sink)
        }
        #expect(error?.code == .inconsistentExport)
    }

    @Test func snapshotIsHandedToTheSnapshotReader() throws {
        let path = Fixtures.path("samples/snapshot_small.db")
        var sink = RecordingSink()
        let summary = try ExportReading.read([path], into: &sink)
        #expect(summary.inputs.first?.metadata.format == .snapshot)
        #expect(summary.inputs.first?.sha256 == SHA256.hash(try Fixtures.bytes("samples/snapshot_small.db")))
        #expect(sink.historyCount > 0)
    }
}
