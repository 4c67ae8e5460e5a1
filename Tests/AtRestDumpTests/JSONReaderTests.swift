import Foundation
import Testing
@testable import AtRestDump
import AtRestTestSupport

@Suite struct JSONReaderTests {
    @Test func getAllSampleHasAllFourteenKeysInOrder() throws {
        let (sink, summary) = try TestInput.read([Fixtures.path("samples/get_all.json")])
        #expect(sink.entries.count == 14)
        #expect(sink.refusals.isEmpty)
        let keys = sink.entries.map(\.key)
        #expect(keys == keys.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(summary.completeness == .complete)
    }

    @Test func getAllSampleValuesAreExact() throws {
        let (sink, _) = try TestInput.read([Fixtures.path("samples/get_all.json")])
        let byKey = sink.byKey
        for (key, value) in TestInput.sampleValues {
            #expect(byKey[key]?.value == value, "value of \(key)")
        }
        let secret = try #require(byKey["/registry/secrets/default/mysecret"])
        #expect(secret.value.starts(with: Array("k8s:enc:aescbc:v1:key1:".utf8) + [0x00, 0x0A]))
        #expect(secret.value.count == 23 + 2 + 62)
    }

    @Test func revisionsAndVersionAreRead() throws {
        let (sink, _) = try TestInput.read([Fixtures.path("samples/get_all.json")])
        let config = try #require(sink.byKey["/app/config"])
        #expect(config.createRevision == 2)
        #expect(config.modRevision == 4)
        #expect(config.version == 3)
        #expect(config.lease == 0)
    }

    @Test func leaseAboveTwoToThe53IsExact() throws {
        let (sink, _) = try TestInput.read([Fixtures.path("samples/get_all.json")])
        #expect(sink.byKey["/leased/key"]?.lease == 2_324_035_560_561_583_377)
    }

    @Test func headerMetadataIsExact() throws {
        let (_, summary) = try TestInput.read([Fixtures.path("samples/get_all.json")])
        let metadata = try #require(summary.inputs.first?.metadata)
        #expect(metadata.format == .etcdctlJSON)
        #expect(metadata.clusterID == 324_952_591_200_643_719)
        #expect(metadata.memberID == 3_319_814_642_761_637_952)
        #expect(metadata.revision == 20)
        #expect(metadata.raftTerm == 2)
        #expect(metadata.declaredCount == 14)
        #expect(metadata.more == false)
        #expect(metadata.documents == 1)
    }

    @Test func provenanceDigestIsTheFileSHA256() throws {
        let path = Fixtures.path("samples/get_all.json")
        let bytes = try Fixtures.bytes("samples/get_all.json")
        let (_, summary) = try TestInput.read([path])
        #expect(summary.inputs.first?.byteCount == UInt64(bytes.count))
        #expect(summary.inputs.first?.sha256 == SHA256.hash(bytes))
        #expect(summary.inputs.first?.name == path)
    }

    @Test func hexFlagJSONIsReadTheSame() throws {
        let (a, _) = try TestInput.read([Fixtures.path("samples/get_all.json")])
        let (b, _) = try TestInput.read([Fixtures.path("samples/get_all.hex_flag.json")])
        #expect(a.entries == b.entries)
    }

    @Test func keysOnlyJSONGivesEmptyValues() throws {
        let (sink, _) = try TestInput.read([Fixtures.path("samples/get_all.keys_only.json")])
        #expect(sink.entries.count == 14)
        #expect(sink.entries.allSatisfy { $0.value.isEmpty })
    }

    @Test func nonexistentKeyDocumentHasNoEntriesAndIsComplete() throws {
        let (sink, summary) = try TestInput.read([Fixtures.path("samples/get_nonexistent.json")])
        #expect(sink.entries.isEmpty)
        #expect(summary.completeness == .complete)
        #expect(summary.inputs.first?.metadata.revision == 20)
        #expect(summary.inputs.first?.metadata.declaredCount == nil)
    }

    @Test func limitTwoPageIsReportedIncomplete() throws {
        let (sink, summary) = try TestInput.read([Fixtures.path("samples/get_all_limit2.json")])
        #expect(sink.entries.count == 2)
        #expect(summary.inputs.first?.metadata.more == true)
        guard case .incomplete(let reason) = summary.completeness else {
            Issue.record("expected incomplete, got \(summary.completeness)")
            return
        }
        #expect(reason.contains("more: true"))
    }

    @Test func gatewayStringIntegersAreExact() throws {
        let text = #"{"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"53","raft_term":"2"},"kvs":[{"key":"L2E=","create_revision":"5","mod_revision":"6","version":"2","value":"eA==","lease":"2324035560561583377"}],"count":"1"}"#
        let (sink, summary) = try TestInput.read(text: text)
        let metadata = try #require(summary.inputs.first?.metadata)
        #expect(metadata.format == .gatewayJSON)
        #expect(metadata.clusterID == 324_952_591_200_643_719)
        #expect(metadata.revision == 53)
        #expect(sink.entries == [KeyValue(key: Array("/a".utf8), value: Array("x".utf8), createRevision: 5, modRevision: 6, version: 2, lease: 2_324_035_560_561_583_377)])
        #expect(summary.completeness == .complete)
    }

    @Test func membersInAnyOrderAndUnknownMembersAreSkipped() throws {
        let text = #"{"count":1,"x":{"a":[1,2.5e3,{"b":null}],"c":"\"}"},"kvs":[{"value":"eQ==","unknown":[[]],"key":"L2I="}],"header":{"revision":7,"extra":true}}"#
        let (sink, summary) = try TestInput.read(text: text)
        #expect(sink.entries == [KeyValue(key: Array("/b".utf8), value: Array("y".utf8))])
        #expect(summary.inputs.first?.metadata.revision == 7)
    }

    @Test func escapedBase64StringsAreUnescaped() throws {
        // "L2E=" with the slash-free letters escaped as \u0032 ('2') and an escaped '/' in value "Lw==" -> "/".
        let text = #"{"header":{"revision":2},"kvs":[{"key":"L\u0032E=","value":"L\/8="}],"count":1}"#
        let (sink, _) = try TestInput.read(text: text)
        #expect(sink.entries.first?.key == Array("/a".utf8))
        #expect(sink.entries.first?.value == [0x2F, 0xFF])
    }

    @Test func concatenatedDocumentsFormOnePaginatedExport() throws {
        let text = """
        {"header":{"cluster_id":1,"revision":9},"kvs":[{"key":"L2E=","value":"MQ=="},{"key":"L2I=","value":"Mg=="}],"more":true,"count":3}
        {"header":{"cluster_id":1,"revision":10},"kvs":[{"key":"L2M=","value":"Mw=="}],"count":1}

        """
        let (sink, summary) = try TestInput.read(text: text)
        #expect(sink.entries.map { String(decoding: $0.key, as: UTF8.self) } == ["/a", "/b", "/c"])
        #expect(summary.completeness == .complete)
        #expect(summary.inputs.first?.metadata.documents == 2)
        #expect(summary.inputs.first?.metadata.revision == 10)
    }

    @Test func pagesAcrossFilesFormOneExport() throws {
        let first = try TestInput.file(#"{"header":{"cluster_id":1},"kvs":[{"key":"L2E="}],"more":true,"count":2}"#, name: "p1.json")
        let second = try TestInput.file(#"{"header":{"cluster_id":1},"kvs":[{"key":"L2I="}],"count":1}"#, name: "p2.json")
        let (sink, summary) = try TestInput.read([second, first])
        #expect(sink.entries.count == 2)
        #expect(summary.inputs.count == 2)
        #expect(summary.completeness == .complete)
    }

    @Test func keyRepeatedInALaterPageIsRefusedAsDuplicate() throws {
        let text = """
        {"header":{"revision":4},"kvs":[{"key":"L2E=","value":"MQ=="},{"key":"L2M=","value":"Mw=="}],"more":true,"count":3}
        {"header":{"revision":4},"kvs":[{"key":"L2M=","value":"OQ=="}],"count":1}
        """
        let (sink, _) = try TestInput.read(text: text)
        #expect(sink.entries.count == 2)
        #expect(sink.byKey["/c"]?.value == Array("3".utf8))
        #expect(sink.refusals.map(\.reason) == [.duplicateKey])
        #expect(sink.refusals.first?.key == Array("/c".utf8))
    }

    @Test func documentsFromDifferentClustersAreInconsistent() throws {
        let text = #"{"header":{"cluster_id":1}}{"header":{"cluster_id":2}}"#
        let error = TestInput.error { _ = try TestInput.read(text: text) }
        #expect(error?.code == .inconsistentExport)
    }

    @Test func kvWithoutKeyIsRefusedAsMissingKey() throws {
        let text = #"{"header":{"revision":2},"kvs":[{"value":"eA=="},{"key":"L2E="}],"count":2}"#
        let (sink, _) = try TestInput.read(text: text)
        #expect(sink.entries.count == 1)
        #expect(sink.refusals.map(\.reason) == [.missingKey])
        #expect(sink.refusals.first?.location == .byte(32))
    }

    @Test func invalidBase64ReportsTheStringOffset() throws {
        let text = #"{"kvs":[{"key":"L2E=","value":"ab!d"}]}"#
        let error = TestInput.error { _ = try TestInput.read(text: text) }
        #expect(error?.code == .invalidBase64)
        #expect(error?.location == .byte(30))
    }

    @Test func base64WithoutPaddingIsRejected() throws {
        let error = TestInput.error { _ = try TestInput.read(text: #"{"kvs":[{"key":"L2E"}]}"#) }
        #expect(error?.code == .invalidBase64)
        #expect(error?.location == .byte(15))
    }

    @Test func base64WithNonZeroPaddingBitsIsRejected() throws {
        let error = TestInput.error { _ = try TestInput.read(text: #"{"kvs":[{"key":"L2F="}]}"#) }
        #expect(error?.code == .invalidBase64)
    }

    @Test func base64DecoderMatchesFoundation() throws {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let encoded = Array(Data(bytes).base64EncodedString().utf8)
            #expect(Base64.decode(encoded) == bytes)
        }
    }

    @Test func integerOverflowIsReportedAtTheNumber() throws {
        let text = #"{"header":{"revision":9223372036854775808}}"#
        let error = TestInput.error { _ = try TestInput.read(text: text) }
        #expect(error?.code == .integerOverflow)
        #expect(error?.location == .byte(22))
    }

    @Test func unsignedAboveUInt64MaxOverflows() throws {
        let error = TestInput.error { _ = try TestInput.read(text: #"{"header":{"cluster_id":18446744073709551616}}"#) }
        #expect(error?.code == .integerOverflow)
    }

    @Test func int64MinimumIsAccepted() throws {
        let (sink, _) = try TestInput.read(text: #"{"header":{"revision":2},"kvs":[{"key":"L2E=","lease":-9223372036854775808}],"count":1}"#)
        #expect(sink.entries.first?.lease == Int64.min)
    }

    @Test func fractionalIntegerIsMalformed() throws {
        let error = TestInput.error { _ = try TestInput.read(text: #"{"count":1.5}"#) }
        #expect(error?.code == .malformedJSON)
        #expect(error?.location == .byte(9))
    }

    @Test func missingCommaInKvsArrayIsMalformedWithOffset() throws {
        let text = #"{"kvs":[{"key":"L2E="} {"key":"L2I="}]}"#
        let error = TestInput.error { _ = try TestInput.read(text: text) }
        #expect(error?.code == .malformedJSON)
        #expect(error?.location == .byte(23))
        #expect(error?.message == "expected ',' or ']' in kvs array")
    }

    @Test func garbageAfterDocumentIsMalformed() throws {
        let error = TestInput.error { _ = try TestInput.read(text: "{\"header\":{}}\nxyz") }
        #expect(error?.code == .malformedJSON)
        #expect(error?.location == .byte(14))
    }

    @Test func invalidEscapeIsShownEscapedInAOneLineMessage() throws {
        // DEL passes the control-byte check (below 0x20) but is no JSON escape.
        let error = TestInput.error { _ = try TestInput.read(text: "{\"a\\\u{7f}\":1}") }
        #expect(error?.code == .malformedJSON)
        #expect(error?.location == .byte(3))
        #expect(error?.message == #"invalid escape '\\x7f' in a string"#)
    }

    @Test func duplicateMemberIsMalformed() throws {
        let error = TestInput.error { _ = try TestInput.read(text: #"{"kvs":[],"kvs":[]}"#) }
        #expect(error?.code == .malformedJSON)
    }

    @Test func deepNestingInUnknownMemberIsRefusedNotCrashed() throws {
        let text = "{\"x\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        let error = TestInput.error { _ = try TestInput.read(text: text) }
        #expect(error?.code == .malformedJSON)
    }

    @Test func everyTruncationThrowsDumpError() throws {
        let bytes = try Fixtures.bytes("samples/get_all_limit2.json")
        let trimmed = Array(bytes.dropLast())  // without the final newline the last '}' ends it
        let directory = try Fixtures.temporaryDirectory("truncate")
        for length in 1..<trimmed.count {
            let url = directory.appendingPathComponent("p\(length).json")
            try Data(trimmed[0..<length]).write(to: url)
            let error = TestInput.error { _ = try TestInput.read([url.path]) }
            #expect(error != nil, "prefix of \(length) bytes was accepted")
            if let error, trimmed[0..<length].contains(where: { $0 != 0x20 }) {
                #expect(error.code == .truncated || error.code == .invalidBase64 || error.code == .malformedJSON, "prefix \(length): \(error)")
            }
        }
    }

    @Test func truncationInsideADocumentIsTruncated() throws {
        let error = TestInput.error { _ = try TestInput.read(text: #"{"kvs":[{"key":"L2E="#) }
        #expect(error?.code == .truncated)
    }

    @Test func largeValueSpanningBufferRefillsIsDecoded() throws {
        let value = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let text = #"{"header":{"revision":2},"kvs":[{"key":"L2E=","value":""# + Data(value).base64EncodedString() + #""}],"count":1}"#
        let (sink, _) = try TestInput.read(text: text)
        #expect(sink.entries.first?.value == value)
    }

    // MARK: What etcdctl never writes

    @Test func emptyObjectIsNotAnExport() throws {
        let error = TestInput.error { _ = try TestInput.read(text: "{}\n") }
        #expect(error?.code == .unknownFormat)
        #expect(error?.location == .byte(0))
        #expect(error?.message.contains("without \"header\"") == true)
    }

    @Test func documentWithKvsButNoHeaderIsNotAnExport() throws {
        let error = TestInput.error { _ = try TestInput.read(text: #"{"kvs":[{"key":"L2E=","value":"eA=="}],"count":1}"#) }
        #expect(error?.code == .unknownFormat)
        #expect(error?.location == .byte(0))
    }

    @Test func nullHeaderIsRefused() throws {
        let error = TestInput.error { _ = try TestInput.read(text: #"{"header":null,"kvs":[]}"#) }
        #expect(error?.code == .malformedJSON)
        #expect(error?.location == .byte(10))
    }

    @Test func laterPageWithoutHeaderIsRefusedAtItsStart() throws {
        let text = #"{"header":{"revision":3},"kvs":[{"key":"L2E="}],"more":true,"count":2}"# + "\n" + #"{"kvs":[{"key":"L2I="}],"count":1}"#
        let error = TestInput.error { _ = try TestInput.read(text: text) }
        #expect(error?.code == .unknownFormat)
        #expect(error?.location == .byte(71))
    }

    @Test func headerOnlyDocumentOfAnEmptyRangeIsAccepted() throws {
        // etcdctl's answer for a range with no keys: kvs and count are omitted (omitempty).
        let (sink, summary) = try TestInput.read([Fixtures.path("samples/get_config_rev1.json")])
        #expect(sink.entries.isEmpty)
        #expect(sink.refusals.isEmpty)
        #expect(summary.completeness == .complete)
    }

    @Test func invalidUTF8InAnIgnoredMemberIsRefusedAtTheByte() throws {
        let bytes = Array(#"{"header":{"revision":2},"note":"caf"#.utf8) + [0xC3] + Array(#"!"}"#.utf8)
        let error = TestInput.error { _ = try TestInput.read([TestInput.file(bytes)]) }
        #expect(error?.code == .malformedJSON)
        #expect(error?.location == .byte(36))
        #expect(error?.message.contains("invalid UTF-8") == true)
    }

    @Test func invalidUTF8InAMemberNameIsRefused() throws {
        let bytes = Array(#"{"header":{"revision":2,"x"#.utf8) + [0xFF] + Array(#"":1}}"#.utf8)
        let error = TestInput.error { _ = try TestInput.read([TestInput.file(bytes)]) }
        #expect(error?.code == .malformedJSON)
        #expect(error?.location == .byte(26))
    }

    @Test func invalidUTF8InsideABase64ValueIsReportedAtTheByte() throws {
        let bytes = Array(#"{"header":{"revision":2},"kvs":[{"key":"L2E=","value":"eA"#.utf8) + [0xE2, 0x82] + Array(#"=="}]}"#.utf8)
        let error = TestInput.error { _ = try TestInput.read([TestInput.file(bytes)]) }
        #expect(error?.code == .malformedJSON)
        #expect(error?.location == .byte(57))
        #expect(error?.message.contains("invalid UTF-8") == true)
    }

    @Test func invalidUTF8InAnEscapedStringIsRefused() throws {
        let bytes = Array(#"{"header":{"revision":2},"note":"\n"#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}"#.utf8)
        let error = TestInput.error { _ = try TestInput.read([TestInput.file(bytes)]) }
        #expect(error?.code == .malformedJSON)
        #expect(error?.location == .byte(35))
    }

    @Test func wellFormedUTF8IsAcceptedEverywhere() throws {
        let text = #"{"header":{"revision":2},"ключ ✓":"значение 😀 \u00e9","kvs":[{"key":"L2E=","zone":"東京"}],"count":1}"#
        let (sink, _) = try TestInput.read(text: text)
        #expect(sink.entries.count == 1)
    }

    // MARK: Hostile sizes

    @Test func stringLongerThanTheLimitIsRefusedAtItsOpeningQuote() throws {
        var bytes = Array(#"{"header":{"revision":2},"kvs":[{"key":"L2E=","value":""#.utf8)
        let quote = bytes.count - 1
        bytes += [UInt8](repeating: UInt8(ascii: "A"), count: JSONScanner.maxStringBytes + 4)
        bytes += Array(#""}]}"#.utf8)
        let error = TestInput.error { _ = try TestInput.read([TestInput.file(bytes)]) }
        #expect(error?.code == .tooLarge)
        #expect(error?.location == .byte(UInt64(quote)))
        #expect(error?.message.contains("longer than 32 MiB") == true)
    }

    @Test func valueWhoseBase64FillsTheLimitIsAccepted() throws {
        // 24 MiB decoded is exactly 32 MiB of base64: sixteen times etcd's default request limit.
        let value = [UInt8](repeating: 0xA5, count: JSONScanner.maxStringBytes / 4 * 3)
        let text = #"{"header":{"revision":2},"kvs":[{"key":"L2E=","value":""# + Data(value).base64EncodedString() + #""}],"count":1}"#
        let (sink, _) = try TestInput.read(text: text)
        #expect(sink.entries.first?.value.count == value.count)
        #expect(sink.entries.first?.value == value)
    }

    @Test func millionNestedArraysAreRefusedWithoutRecursion() throws {
        let text = #"{"header":{},"x":"# + String(repeating: "[", count: 1_000_000)
        let error = TestInput.error { _ = try TestInput.read(text: text) }
        #expect(error?.code == .malformedJSON)
        #expect(error?.message.contains("deeper than 1000") == true)
    }
}
