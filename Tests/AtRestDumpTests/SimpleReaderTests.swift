import Foundation
import Testing
@testable import AtRestDump
import AtRestTestSupport

@Suite struct SimpleReaderTests {
    @Test func ambiguousSampleIsRefusedWithTheJSONHint() throws {
        var sink = RecordingSink()
        let error = TestInput.error { _ = try ExportReading.read([Fixtures.path("samples/get_all.simple.txt")], into: &sink) }
        #expect(error?.code == .ambiguousPlainOutput)
        #expect(error?.message.contains("-w json") == true)
        #expect(sink.entries.isEmpty)
    }

    @Test func printableSingleLineValuesAreAccepted() throws {
        let (sink, summary) = try TestInput.read(text: "/app/a\none\n/app/b\ntwo words\n/app/c\n\n")
        #expect(sink.entries == [
            KeyValue(key: Array("/app/a".utf8), value: Array("one".utf8)),
            KeyValue(key: Array("/app/b".utf8), value: Array("two words".utf8)),
            KeyValue(key: Array("/app/c".utf8), value: []),
        ])
        #expect(summary.inputs.first?.metadata.format == .simple)
    }

    @Test func spoofedRecordOutOfOrderIsRefused() {
        let error = TestInput.error { _ = try TestInput.read(text: "/spoof\nharmless\n/app/config\nEVIL\n") }
        #expect(error?.code == .ambiguousPlainOutput)
        #expect(error?.location == .line(3, byte: 16))
    }

    @Test func valueStartingWithSlashIsRefused() {
        let error = TestInput.error { _ = try TestInput.read(text: "/a\n/b\n") }
        #expect(error?.code == .ambiguousPlainOutput)
    }

    @Test func oddNumberOfLinesIsRefused() {
        let error = TestInput.error { _ = try TestInput.read(text: "/a\nx\ny\n") }
        #expect(error?.code == .ambiguousPlainOutput)
    }

    @Test func controlByteInValueIsRefused() {
        let error = TestInput.error { _ = try TestInput.read([TestInput.file(Array("/a\nx".utf8) + [0x00] + Array("y\n".utf8))]) }
        #expect(error?.code == .ambiguousPlainOutput)
    }

    @Test func keysOnlyOutputIsRefused() {
        let error = TestInput.error { _ = try TestInput.read(text: "/a\n\n/b\n\n") }
        #expect(error?.code == .ambiguousPlainOutput)
    }

    @Test func missingFinalNewlineIsRefused() {
        let error = TestInput.error { _ = try TestInput.read(text: "/a\nx") }
        #expect(error?.code == .ambiguousPlainOutput)
    }
}
