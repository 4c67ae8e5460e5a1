import AtRestDump
import AtRestEncryption
import AtRestTestSupport
import Testing

@Suite struct StorageClassifierTests {
    private func classify(_ text: String, _ tail: [UInt8] = [0x00, 0x0a, 0xff]) -> StorageClass {
        StorageClassifier.classify(Array(text.utf8) + tail)
    }

    @Test func aescbcValueNamesProviderAndKey() {
        #expect(classify("k8s:enc:aescbc:v1:key1:") == .encrypted(.keyed(provider: .aescbc, keyName: "key1")))
    }

    @Test func aesgcmAndSecretboxAreRecognized() {
        #expect(classify("k8s:enc:aesgcm:v1:k2:") == .encrypted(.keyed(provider: .aesgcm, keyName: "k2")))
        #expect(classify("k8s:enc:secretbox:v1:s:") == .encrypted(.keyed(provider: .secretbox, keyName: "s")))
    }

    @Test func kmsV1NamesTheProvider() {
        #expect(classify("k8s:enc:kms:v1:my-kms:") == .encrypted(.kmsV1(providerName: "my-kms")))
    }

    @Test func unknownProviderIsEncryptedButUnknown() {
        #expect(classify("k8s:enc:rot13:v1:x:") == .encrypted(.unknown(provider: "rot13:v1")))
    }

    @Test func envelopeWithoutKeyNameHasNilKeyName() {
        #expect(StorageClassifier.classify(Array("k8s:enc:aesgcm:v1:nocolon".utf8)) == .encrypted(.keyed(provider: .aesgcm, keyName: nil)))
    }

    @Test func plaintextEncodingsAreToldApart() {
        #expect(StorageClassifier.classify([0x6b, 0x38, 0x73, 0x00, 0x0a]) == .plaintext(.protobuf))
        #expect(StorageClassifier.classify(Array("{\"kind\":\"Widget\"}\n".utf8)) == .plaintext(.json))
        #expect(StorageClassifier.classify([0xd9, 0xd9, 0xf7, 0xa1]) == .plaintext(.cbor))
        #expect(StorageClassifier.classify([]) == .plaintext(.empty))
        #expect(StorageClassifier.classify(Array("apiVersion: v1\n".utf8)) == .plaintext(.other))
    }

    @Test func kmsV2GoldenValueGivesKeyIDAndDEKType() throws {
        // Upstream golden value (k8s.io/apiserver kmsv2 tests): key ID "1", AES-GCM DEK (field 5 absent).
        let value = try Fixtures.bytes("vectors/kmsv2_AES_GCM_KEY.etcdvalue.bin")
        guard case .encrypted(.kmsV2(let name, let object?)) = StorageClassifier.classify(value) else {
            Issue.record("not a KMS v2 value")
            return
        }
        #expect(name != nil)
        #expect(object.keyID == "1")
        #expect(object.dekSourceType == .aesGCMKey)
        #expect(object.encryptedDataCount > 28)
    }

    @Test func kmsV2SeedValueIsHKDFType() throws {
        let value = try Fixtures.bytes("vectors/kmsv2_HKDF_SEED.etcdvalue.bin")
        guard case .encrypted(.kmsV2(_, let object?)) = StorageClassifier.classify(value) else {
            Issue.record("not a KMS v2 value")
            return
        }
        #expect(object.dekSourceType == .hkdfSHA256XNonceAESGCMSeed)
    }

    @Test func kmsV2WithGarbagePayloadKeepsProviderButNoObject() {
        #expect(classify("k8s:enc:kms:v2:p:", [0xff, 0xff, 0xff]) == .encrypted(.kmsV2(providerName: "p", object: nil)))
    }
}
