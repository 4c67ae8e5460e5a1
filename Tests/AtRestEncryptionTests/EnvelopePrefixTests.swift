import AtRestEncryption
import Testing

@Suite struct EnvelopePrefixTests {
    private func header(_ text: String) -> EnvelopePrefix.Header {
        Array(text.utf8).withUnsafeBytes { EnvelopePrefix.header($0) }
    }

    private func name(_ text: String, _ format: EnvelopeFormat, known: [String] = []) -> String? {
        let value = Array(text.utf8)
        guard case .known(_, let start) = header(text) else { return nil }
        let end = value.withUnsafeBytes { EnvelopePrefix.nameEnd($0, from: start, format: format, knownNames: known) }
        return end.map { String(decoding: value[start..<$0], as: UTF8.self) }
    }

    @Test func everyPrefixItBuildsParsesBackToItsFormatAndName() {
        for format in [EnvelopeFormat.keyed(.aescbc), .keyed(.aesgcm), .keyed(.secretbox), .kms(.v1), .kms(.v2)] {
            let prefix = String(decoding: EnvelopePrefix.bytes(format, name: "key1"), as: UTF8.self)
            #expect(header(prefix + "payload") == .known(format, nameStart: prefix.utf8.count - "key1:".utf8.count))
            #expect(name(prefix + "payload", format) == "key1")
        }
    }

    @Test func theApiserversPrefixesAreSpelledAsUpstreamWritesThem() {
        #expect(EnvelopePrefix.bytes(.keyed(.aesgcm), name: "k") == Array("k8s:enc:aesgcm:v1:k:".utf8))
        #expect(EnvelopePrefix.kmsV2 == Array("k8s:enc:kms:v2:".utf8))
    }

    @Test func aKeyNameWithAColonEndsAtTheLongestConfiguredNameThatFits() {
        #expect(name("k8s:enc:aesgcm:v1:key:v2:payload", .keyed(.aesgcm), known: ["key", "key:v2"]) == "key:v2")
        #expect(name("k8s:enc:aesgcm:v1:key:payload", .keyed(.aesgcm), known: ["key", "key:v2"]) == "key")
    }

    @Test func withoutAConfiguredNameAKeyNameEndsAtTheNextColon() {
        #expect(name("k8s:enc:aescbc:v1:key:v2:payload", .keyed(.aescbc)) == "key")
    }

    @Test func aKMSv2ProviderNameEndsAtTheFirstColonWhateverIsConfigured() {
        #expect(name("k8s:enc:kms:v2:a:b:payload", .kms(.v2), known: ["a:b"]) == "a")
    }

    @Test func aProviderAndVersionNoApiserverWritesAreUnknown() {
        #expect(header("k8s:enc:rot13:v1:x:") == .unknown(provider: 8..<13, version: 14..<16))
        #expect(header("k8s:enc:kms:v3:x:") == .unknown(provider: 8..<11, version: 12..<14))
    }

    @Test func aTruncatedPrefixSaysWhatIsMissing() {
        #expect(header("k8s:enc:") == .noProvider)
        #expect(header("k8s:enc:aesgcm") == .noProvider)
        #expect(header("k8s:enc:aesgcm:v1") == .noVersion(provider: 8..<14))
        #expect(header("k8s\u{0}plain") == .plaintext)
    }
}

@Suite struct StorageVocabularyTests {
    @Test func aResourceStringSplitsAtItsFirstDot() {
        #expect(GroupResource(parsing: "secrets") == GroupResource(group: "", resource: "secrets"))
        #expect(GroupResource(parsing: "secrets.") == GroupResource(group: "", resource: "secrets"))
        #expect(GroupResource(parsing: "widgets.example.com") == GroupResource(group: "example.com", resource: "widgets"))
        #expect(GroupResource(parsing: "*.*") == GroupResource(group: "*", resource: "*"))
    }

    @Test func encryptedValuesSortBeforePlaintextAndByProviderThenKey() {
        let sorted: [StoredAs] = [.plaintext(nil), .encrypted(.kms(.v2), keyName: "a", keyID: "1"),
                                  .encrypted(.keyed(.aesgcm), keyName: "k2", keyID: nil),
                                  .encrypted(.keyed(.aesgcm), keyName: "k1", keyID: nil)].sorted()
        #expect(sorted == [.encrypted(.keyed(.aesgcm), keyName: "k1", keyID: nil), .encrypted(.keyed(.aesgcm), keyName: "k2", keyID: nil),
                           .encrypted(.kms(.v2), keyName: "a", keyID: "1"), .plaintext(nil)])
    }

    @Test func theReadOrderHasOneElementPerKeyAndTheFirstKeyWrites() {
        let key = { (name: String) in NamedKey(name: name, secret: SecretBytes(Array(repeating: 1, count: 32))) }
        let order = ReadOrder([.aesgcm([key("new"), key("old")]), .kms(KMSConfiguration(apiVersion: .v2, name: "vault", endpoint: "unix:///k.sock")), .identity])
        #expect(order.elements.map(\.name) == ["new", "old", "vault", nil])
        #expect(order.elements.map(\.provider) == [0, 0, 1, 2])
        #expect(order.writer?.prefix == Array("k8s:enc:aesgcm:v1:new:".utf8))
        #expect(order.elements.last?.prefix == [])
    }
}
