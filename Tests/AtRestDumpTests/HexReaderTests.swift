import Foundation
import Testing
@testable import AtRestDump
import AtRestTestSupport

@Suite struct HexReaderTests {
    @Test func hexSampleGivesTheSameKeysAndValuesAsJSON() throws {
        let (json, _) = try TestInput.read([Fixtures.path("samples/get_all.json")])
        let (hex, summary) = try TestInput.read([Fixtures.path("samples/get_all.simple_hex.txt")])
        #expect(hex.entries.map(\.key) == json.entries.map(\.key))
        #expect(hex.entries.map(\.value) == json.entries.map(\.value))
        #expect(summary.inputs.first?.metadata.format == .hex)
    }

    @Test func hexOutputHasNoRevisions() throws {
        let (hex, _) = try TestInput.read([Fixtures.path("samples/get_all.simple_hex.txt")])
        #expect(hex.entries.allSatisfy { $0.createRevision == 0 && $0.modRevision == 0 && $0.version == 0 && $0.lease == 0 })
    }

    @Test func hexOutputCompletenessIsUnverifiable() throws {
        let (_, summary) = try TestInput.read([Fixtures.path("samples/get_all.simple_hex.txt")])
        guard case .unverifiable = summary.completeness else {
            Issue.record("expected unverifiable, got \(summary.completeness)")
            return
        }
    }

    @Test func upperCaseHexIsAccepted() throws {
        let (sink, _) = try TestInput.read(text: "\\x2F\\x41\n\\xFF\\x0a\n")
        #expect(sink.entries == [KeyValue(key: [0x2F, 0x41], value: [0xFF, 0x0A])])
    }

    @Test func lineThatIsNotPureHexIsMalformedLine() throws {
        let error = TestInput.error { _ = try TestInput.read(text: "\\x2f\\x61\n\\x76x\n") }
        #expect(error?.code == .malformedLine)
        #expect(error?.location == .line(2, byte: 9))
    }

    @Test func keyWithoutValueIsTruncated() throws {
        let error = TestInput.error { _ = try TestInput.read(text: "\\x2f\\x61\n\\x76\n\\x2f\\x62\n") }
        #expect(error?.code == .truncated)
    }
}
