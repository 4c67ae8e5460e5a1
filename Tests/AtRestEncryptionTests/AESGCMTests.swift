import AtRestEncryption
import AtRestTestSupport
import Testing

@Suite struct AESGCMTests {
    let vectors: CryptoVectors
    init() throws { vectors = try CryptoVectors.load() }

    private var plaintext: [UInt8] { get throws { try hexBytes(vectors.plaintextHex) } }
    private var etcdKey: [UInt8] { Array(vectors.etcdKey.utf8) }

    @Test func decryptsGCMSpecTestCase16() throws {
        let tc = vectors.gcmSpecTestCase16
        let decryptor = try AESGCMDecryptor(key: SecretBytes(hexBytes(tc.keyHex)))
        let payload = try hexBytes(tc.nonceHex) + hexBytes(tc.ciphertextHex) + hexBytes(tc.tagHex)
        #expect(try decryptor.decrypt(payload, additionalData: hexBytes(tc.aadHex)) == hexBytes(tc.plaintextHex))
    }

    @Test func decryptsUpstreamRecordedValue() throws {
        // aes_test.go TestGCMLegacyDataCompatibility: AES-128, AAD "bamboo".
        let golden = vectors.upstreamGcm
        let decryptor = try AESGCMDecryptor(key: SecretBytes(Array(golden.keyAscii.utf8)))
        let opened = try decryptor.decrypt(hexBytes(golden.payloadHex), additionalData: Array(golden.aadAscii.utf8))
        #expect(opened == Array(golden.plaintextAscii.utf8))
    }

    @Test func decryptsSyntheticEtcdValue() throws {
        let synthetic = try SyntheticVectors.load()
        let entry = synthetic.aesgcmKey1Aes128
        let decryptor = try AESGCMDecryptor(key: SecretBytes(base64(entry.configSecretB64)))
        let body = try payload(of: hexBytes(entry.etcdValueHex), after: "k8s:enc:aesgcm:v1:\(entry.keyName):")
        #expect(try decryptor.decrypt(body, additionalData: Array(synthetic.etcdKey.utf8)) == hexBytes(synthetic.plaintextHex))
    }

    @Test func decryptsSyntheticKMSv1GCMData() throws {
        // KMS v1 ≥ 1.25: prefix, BE16 length, wrapped DEK, then nonce || ct || tag with AAD = etcd key.
        let synthetic = try SyntheticVectors.load()
        let entry = synthetic.kmsv1GcmMockbase64
        let rest = try payload(of: hexBytes(entry.etcdValueHex), after: "k8s:enc:kms:v1:\(entry.provider):")
        let dekLength = Int(rest[0]) << 8 | Int(rest[1])
        let data = Array(rest[(2 + dekLength)...])
        let decryptor = try AESGCMDecryptor(key: SecretBytes(hexBytes(entry.dekHex)))
        #expect(try decryptor.decrypt(data, additionalData: Array(synthetic.etcdKey.utf8)) == hexBytes(synthetic.plaintextHex))
    }

    @Test(arguments: [0, 1, 2])
    func decryptsWithEachAESKeySize(index: Int) throws {
        let entry = vectors.aesgcm[index]
        let key = try hexBytes(entry.keyHex)
        #expect(key.count == [16, 24, 32][index])
        let decryptor = try AESGCMDecryptor(key: SecretBytes(key))
        #expect(try decryptor.decrypt(hexBytes(entry.payloadHex), additionalData: etcdKey) == plaintext)
    }

    @Test func wrongKeyFailsAuthentication() throws {
        let entry = vectors.aesgcm[2]
        var key = try hexBytes(entry.keyHex)
        key[0] ^= 0x01
        let decryptor = try AESGCMDecryptor(key: SecretBytes(key))
        let payload = try hexBytes(entry.payloadHex)
        #expect(failure { () throws(DecryptionFailure) in try decryptor.decrypt(payload, additionalData: etcdKey) } == .authenticationFailed)
    }

    @Test func valueUnderAnotherEtcdKeyFailsAuthentication() throws {
        let entry = vectors.aesgcm[0]
        let decryptor = try AESGCMDecryptor(key: SecretBytes(hexBytes(entry.keyHex)))
        let payload = try hexBytes(entry.payloadHex)
        let moved = Array(vectors.otherEtcdKey.utf8)
        #expect(failure { () throws(DecryptionFailure) in try decryptor.decrypt(payload, additionalData: moved) } == .authenticationFailed)
        #expect(failure { () throws(DecryptionFailure) in try decryptor.decrypt(payload, additionalData: []) } == .authenticationFailed)
    }

    @Test func flippedCiphertextBitFailsAuthentication() throws {
        let entry = vectors.aesgcm[1]
        let decryptor = try AESGCMDecryptor(key: SecretBytes(hexBytes(entry.keyHex)))
        var payload = try hexBytes(entry.payloadHex)
        payload[20] ^= 0x80
        #expect(failure { () throws(DecryptionFailure) in try decryptor.decrypt(payload, additionalData: etcdKey) } == .authenticationFailed)
    }

    @Test func decryptorIsReusableAfterAFailure() throws {
        let entry = vectors.aesgcm[2]
        let decryptor = try AESGCMDecryptor(key: SecretBytes(hexBytes(entry.keyHex)))
        let payload = try hexBytes(entry.payloadHex)
        #expect(failure { () throws(DecryptionFailure) in try decryptor.decrypt(payload, additionalData: []) } == .authenticationFailed)
        #expect(try decryptor.decrypt(payload, additionalData: etcdKey) == plaintext)
        #expect(try decryptor.decrypt(payload, additionalData: etcdKey) == plaintext)
    }

    @Test func everyPayloadShorterThanNonceAndTagIsTruncated() throws {
        let decryptor = try AESGCMDecryptor(key: SecretBytes(hexBytes(vectors.aesgcm[0].keyHex)))
        let full = try hexBytes(vectors.aesgcm[0].payloadHex)
        for length in 0..<AESGCMDecryptor.minimumPayloadByteCount {
            let short = Array(full.prefix(length))
            #expect(failure { () throws(DecryptionFailure) in try decryptor.decrypt(short, additionalData: etcdKey) } == .truncated,
                    "length \(length)")
        }
    }

    @Test func payloadOfOnlyNonceAndTagIsCheckedNotTruncated() throws {
        let decryptor = try AESGCMDecryptor(key: SecretBytes(hexBytes(vectors.aesgcm[0].keyHex)))
        let bare = [UInt8](repeating: 0xab, count: AESGCMDecryptor.minimumPayloadByteCount)
        #expect(failure { () throws(DecryptionFailure) in try decryptor.decrypt(bare, additionalData: etcdKey) } == .authenticationFailed)
    }

    @Test(arguments: [0, 1, 15, 17, 23, 31, 33, 64])
    func keyOfWrongLengthIsRejected(length: Int) {
        let key = SecretBytes([UInt8](repeating: 7, count: length))
        #expect(failure { () throws(DecryptionFailure) in try AESGCMDecryptor(key: key) } == .invalidKeyLength(length))
    }

    @Test func secretBytesDescriptionNeverShowsTheKey() throws {
        let bytes = try hexBytes(vectors.aesgcm[2].keyHex)
        let key = SecretBytes(bytes)
        for text in [String(describing: key), String(reflecting: key), "\(key)"] {
            #expect(!text.contains(vectors.aesgcm[2].keyHex))
            #expect(!text.contains(bytes.map(String.init).joined(separator: ", ")))
            #expect(text.contains("redacted"))
        }
    }

    @Test func failureCodesAreStable() {
        let all: [DecryptionFailure] = [.truncated, .authenticationFailed, .invalidPadding, .notAKubernetesEncoding,
                                        .invalidKeyLength(3), .backend("x")]
        #expect(all.map(\.code) == ["truncated", "authentication-failed", "invalid-padding", "not-a-kubernetes-encoding",
                                    "invalid-key-length", "backend"])
    }
}
