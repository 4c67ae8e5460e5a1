import Foundation
import Testing
@testable import AtRestDump
import AtRestTestSupport

@Suite struct FieldsReaderTests {
    @Test func fieldsSampleGivesTheSameEntriesAsJSON() throws {
        let (json, _) = try TestInput.read([Fixtures.path("samples/get_all.json")])
        let (fields, summary) = try TestInput.read([Fixtures.path("samples/get_all.fields.txt")])
        #expect(fields.entries == json.entries)
        #expect(fields.refusals.isEmpty)
        #expect(summary.completeness == .complete)
    }

    @Test func fieldsSampleGivesTheSameMetadataAsJSON() throws {
        let (_, json) = try TestInput.read([Fixtures.path("samples/get_all.json")])
        let (_, fields) = try TestInput.read([Fixtures.path("samples/get_all.fields.txt")])
        var expected = try #require(json.inputs.first?.metadata)
        expected.format = .fields
        #expect(fields.inputs.first?.metadata == expected)
    }

    @Test func goUnquoteHandlesEveryEscape() throws {
        let quoted = #""\a\b\f\n\r\t\v\\\"\'\x00\xff\377\101\u00e9\U0001F600ключ""#
        let bytes = try Array(quoted.utf8).withUnsafeBytes { try GoUnquote.unquote($0) }
        let expected: [UInt8] = [7, 8, 12, 10, 13, 9, 11, 0x5C, 0x22, 0x27, 0x00, 0xFF, 0xFF, 0x41]
            + Array("é😀ключ".utf8)
        #expect(bytes == expected)
    }

    @Test func goUnquoteRejectsSurrogateEscape() {
        #expect(throws: GoUnquote.Failure.self) {
            _ = try Array(#""\ud800""#.utf8).withUnsafeBytes { try GoUnquote.unquote($0) }
        }
    }

    @Test func goUnquoteRejectsOctalAbove377() {
        #expect(throws: GoUnquote.Failure.self) {
            _ = try Array(#""\400""#.utf8).withUnsafeBytes { try GoUnquote.unquote($0) }
        }
    }

    @Test func badEscapeIsMalformedLineWithLocation() throws {
        let text = "\"ClusterID\" : 1\n\"MemberID\" : 2\n\"Revision\" : 3\n\"RaftTerm\" : 4\n\"Key\" : \"/a\\q\"\n"
        let error = TestInput.error { _ = try TestInput.read(text: text) }
        #expect(error?.code == .malformedLine)
        #expect(error?.location == .line(5, byte: 61))
    }

    @Test func unknownFieldNameIsShownEscapedInAOneLineMessage() throws {
        let text = "\"ClusterID\" : 1\n\"MemberID\" : 2\n\"Revision\" : 3\n\"RaftTerm\" : 4\n\"\r\u{1B}Key\" : 1\n"
        let error = TestInput.error { _ = try TestInput.read(text: text) }
        #expect(error?.code == .malformedLine)
        #expect(error?.location == .line(5, byte: 61))
        #expect(error?.message == #"unknown field "\r\x1bKey""#)
    }

    @Test func fieldOutOfOrderIsMalformedLine() throws {
        let text = "\"ClusterID\" : 1\n\"Revision\" : 3\n"
        let error = TestInput.error { _ = try TestInput.read(text: text) }
        #expect(error?.code == .malformedLine)
        #expect(error?.location == .line(2, byte: 16))
    }

    @Test func outputWithoutCountLineIsTruncated() throws {
        let bytes = try Fixtures.bytes("samples/get_all.fields.txt")
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        let cut = lines.prefix(20).joined(separator: [0x0A]) + [0x0A]
        let error = TestInput.error { _ = try TestInput.read([TestInput.file(Array(cut))]) }
        #expect(error?.code == .truncated)
    }

    @Test func revisionOverflowIsIntegerOverflow() throws {
        let text = "\"ClusterID\" : 1\n\"MemberID\" : 2\n\"Revision\" : 9223372036854775808\n"
        let error = TestInput.error { _ = try TestInput.read(text: text) }
        #expect(error?.code == .integerOverflow)
        #expect(error?.location == .line(3, byte: 31))
    }

    @Test func moreTrueFieldsOutputIsIncomplete() throws {
        let text = "\"ClusterID\" : 1\n\"MemberID\" : 2\n\"Revision\" : 3\n\"RaftTerm\" : 4\n\"Key\" : \"/a\"\n\"CreateRevision\" : 2\n\"ModRevision\" : 2\n\"Version\" : 1\n\"Value\" : \"x\"\n\"Lease\" : 0\n\"More\" : true\n\"Count\" : 5\n"
        let (sink, summary) = try TestInput.read(text: text)
        #expect(sink.entries.count == 1)
        #expect(!summary.completeness.isComplete)
    }
}
