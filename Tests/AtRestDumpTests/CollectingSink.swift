import Foundation
@testable import AtRestDump
import AtRestTestSupport

/// A sink that keeps everything it is given, for assertions. (Named apart from
/// the `CollectingSink` in SnapshotReaderTests.swift: same test module.)
struct RecordingSink: DumpSink {
    var entries: [KeyValue] = []
    var refusals: [Refusal] = []
    var historyCount = 0

    mutating func live(_ entry: KeyValue) throws { entries.append(entry) }
    mutating func history(_ revision: Revision, tombstone: Bool, _ entry: KeyValue) throws { historyCount += 1 }
    mutating func refused(_ refusal: Refusal) throws { refusals.append(refusal) }

    /// Entries by key, as text (keys in the samples are UTF-8, one has a newline).
    var byKey: [String: KeyValue] {
        Dictionary(entries.map { (String(decoding: $0.key, as: UTF8.self), $0) }, uniquingKeysWith: { first, _ in first })
    }
}

/// Helpers shared by the reader tests.
enum TestInput {
    /// Writes `bytes` to a fresh temporary file and returns its path.
    static func file(_ bytes: [UInt8], name: String = "input") throws -> String {
        let url = try Fixtures.temporaryDirectory("text").appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    static func file(_ text: String, name: String = "input") throws -> String {
        try file(Array(text.utf8), name: name)
    }

    /// Reads paths through the dispatcher into a collecting sink.
    static func read(_ paths: [String]) throws -> (RecordingSink, ExportSummary) {
        var sink = RecordingSink()
        let summary = try ExportReading.read(paths, into: &sink)
        return (sink, summary)
    }

    static func read(text: String) throws -> (RecordingSink, ExportSummary) {
        try read([file(text)])
    }

    /// The DumpError thrown by `body`, or nil.
    static func error(_ body: () throws -> Void) -> DumpError? {
        do {
            try body()
            return nil
        } catch let error as DumpError {
            return error
        } catch {
            return DumpError(.io, file: "?", at: .file, "unexpected error \(error)")
        }
    }

    /// The exact keys and values of testdata/samples/get_all.json (spec §0).
    static let sampleValues: [String: [UInt8]] = [
        "/app/config": Array("v3".utf8),
        "/app/multiline": Array("line1\nline2\n".utf8),
        "/bin/blob": [0x00, 0x01, 0x02, 0x0A] + Array("NUL".utf8) + [0x00] + Array("inside".utf8) + [0x0A, 0xFF, 0xFE, 0x0A],
        "/empty": [],
        "/leased/key": Array("leased-value".utf8),
        "/recreated": Array("second".utf8),
        "/spoof": Array("harmless\n/app/config\nEVIL".utf8),
        "/todelete/b": Array("B".utf8),
        "/txn/one": Array("1".utf8),
        "/txn/two": Array("2".utf8),
        "/unicode/ключ": Array("значение ✓".utf8),
        "/weird\nkey": Array("value-of-weird-key".utf8),
        "noslash/key": Array("outside-slash-prefix".utf8),
    ]
}
