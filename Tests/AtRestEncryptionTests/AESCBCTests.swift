import AtRestEncryption
import AtRestTestSupport
import Testing

@Suite struct AESCBCTests {
    let vectors: CryptoVectors
    init() throws { vectors = try CryptoVectors.load() }

    private var plaintext: [UInt8] { get throws { try hexBytes(vectors.plaintextHex) } }

    private func decryptor(_ keyHex: String) throws -> AESCBCDecryptor {
        try AESCBCDecryptor(key: SecretBytes(hexBytes(keyHex)))
    }

    @Test func decryptsSyntheticAES128EtcdValue() throws {
        let synthetic = try SyntheticVectors.load()
        let entry = synthetic.aescbcKey1Aes128
        let body = try payload(of: hexBytes(entry.etcdValueHex), after: "k8s:enc:aescbc:v1:\(entry.keyName):")
        let decryptor = try AESCBCDecryptor(key: SecretBytes(base64(entry.configSecretB64)))
        #expect(try decryptor.decrypt(body) == hexBytes(synthetic.plaintextHex))
    }

    @Test func decryptsSyntheticAES256EtcdValue() throws {
        let synthetic = try SyntheticVectors.load()
        let entry = synthetic.aescbcKey2Aes256
        let body = try payload(of: hexBytes(entry.etcdValueHex), after: "k8s:enc:aescbc:v1:\(entry.keyName):")
        let decryptor = try AESCBCDecryptor(key: SecretBytes(base64(entry.configSecretB64)))
        #expect(try decryptor.decrypt(body) == hexBytes(synthetic.plaintextHex))
    }

    @Test func decryptsSyntheticKMSv1Pre125CBCData() throws {
        let synthetic = try SyntheticVectors.load()
        let entry = synthetic.kmsv1CbcPre125Mockbase64
        let rest = try payload(of: hexBytes(entry.etcdValueHex), after: "k8s:enc:kms:v1:\(entry.provider):")
        let dekLength = Int(rest[0]) << 8 | Int(rest[1])
        let decryptor = try AESCBCDecryptor(key: SecretBytes(hexBytes(entry.dekHex)))
        #expect(try decryptor.decrypt(Array(rest[(2 + dekLength)...])) == hexBytes(synthetic.plaintextHex))
    }

    @Test(arguments: [0, 1, 2])
    func decryptsWithEachAESKeySize(index: Int) throws {
        let entry = vectors.aescbc[index]
        #expect(try hexBytes(entry.keyHex).count == [16, 24, 32][index])
        #expect(try decryptor(entry.keyHex).decrypt(hexBytes(entry.payloadHex)) == plaintext)
    }

    /// An audit authenticates values into a scratch buffer; it must fail exactly when
    /// `decrypt` fails, with the same failure, on every damaged byte and every length.
    @Test func authenticatingAgreesWithDecryptingOnEveryDamagedByte() throws {
        let synthetic = try SyntheticVectors.load()
        let entry = synthetic.aescbcKey2Aes256
        let full = try payload(of: hexBytes(entry.etcdValueHex), after: "k8s:enc:aescbc:v1:\(entry.keyName):")
        let decryptor = try AESCBCDecryptor(key: SecretBytes(base64(entry.configSecretB64)))
        let scratch = ScratchBuffer()
        func outcome(_ payload: [UInt8]) -> (decrypt: DecryptionFailure?, authenticate: DecryptionFailure?) {
            (failure { () throws(DecryptionFailure) in _ = try decryptor.decrypt(payload) },
             failure { () throws(DecryptionFailure) in
                 try payload.withUnsafeBytes { p in Result { () throws(DecryptionFailure) in try decryptor.authenticate(p, scratch: scratch) } }.get()
             })
        }
        let intact = outcome(full)
        #expect(intact.decrypt == nil && intact.authenticate == nil)
        var failures = 0
        for index in full.indices {
            for flip: UInt8 in [0x01, 0x80] {
                var damaged = full
                damaged[index] ^= flip
                let result = outcome(damaged)
                #expect(result.authenticate == result.decrypt, "byte \(index) ^ \(flip)")
                if result.decrypt != nil { failures += 1 }
            }
        }
        #expect(failures > 0, "damage in the last blocks must break the padding or the encoding")
        for length in [0, 16, 31, 33, full.count - 1] {
            let short = outcome(Array(full.prefix(length)))
            #expect(short.authenticate == short.decrypt && short.decrypt != nil, "length \(length)")
        }
    }

    @Test func decryptorIsReusableAcrossValuesAndFailures() throws {
        let entry = vectors.aescbc[2]
        let decryptor = try decryptor(entry.keyHex)
        let good = try hexBytes(entry.payloadHex)
        let bad = try hexBytes(vectors.aescbcEdge.zeroPaddingPayloadHex)
        #expect(try decryptor.decrypt(good) == plaintext)
        #expect(failure { () throws(DecryptionFailure) in try decryptor.decrypt(bad) } == .invalidPadding)
        #expect(try decryptor.decrypt(good) == plaintext)
    }

    @Test func wrongKeyWithInvalidPaddingIsInvalidPadding() throws {
        let decryptor = try decryptor(vectors.aescbcWrongKeys.invalidPaddingKeyHex)
        let payload = try hexBytes(vectors.aescbc[2].payloadHex)
        #expect(failure { () throws(DecryptionFailure) in try decryptor.decrypt(payload) } == .invalidPadding)
    }

    @Test func wrongKeyWithValidPaddingIsNotAKubernetesEncoding() throws {
        // The ~1/256 case the apiserver itself would accept as garbage.
        let decryptor = try decryptor(vectors.aescbcWrongKeys.validPaddingKeyHex)
        let payload = try hexBytes(vectors.aescbc[2].payloadHex)
        #expect(failure { () throws(DecryptionFailure) in try decryptor.decrypt(payload) } == .notAKubernetesEncoding)
    }

    @Test func wrongKeyWithValidPaddingPassesLikeUpstreamWhenEncodingCheckIsOff() throws {
        let decryptor = try decryptor(vectors.aescbcWrongKeys.validPaddingKeyHex)
        let garbage = try decryptor.decrypt(hexBytes(vectors.aescbc[2].payloadHex), verifyingEncoding: false)
        #expect(try !(garbage == plaintext))
        #expect(garbage.count > 0)
    }

    @Test func paddingLongerThanOneBlockIsAcceptedLikeUpstream() throws {
        let edge = vectors.aescbcEdge
        #expect(try decryptor(edge.keyHex).decrypt(hexBytes(edge.longPaddingPayloadHex)) == hexBytes(edge.longPaddingPlaintextHex))
    }

    @Test func zeroPaddingByteIsInvalidPadding() throws {
        let decryptor = try decryptor(vectors.aescbcEdge.keyHex)
        let payload = try hexBytes(vectors.aescbcEdge.zeroPaddingPayloadHex)
        #expect(failure { () throws(DecryptionFailure) in try decryptor.decrypt(payload, verifyingEncoding: false) } == .invalidPadding)
    }

    @Test func mismatchedPaddingBytesAreInvalidPadding() throws {
        let decryptor = try decryptor(vectors.aescbcEdge.keyHex)
        let payload = try hexBytes(vectors.aescbcEdge.mismatchedPaddingPayloadHex)
        #expect(failure { () throws(DecryptionFailure) in try decryptor.decrypt(payload, verifyingEncoding: false) } == .invalidPadding)
    }

    @Test func paddingLongerThanThePlaintextIsInvalidPadding() throws {
        let decryptor = try decryptor(vectors.aescbcEdge.keyHex)
        let payload = try hexBytes(vectors.aescbcEdge.oversizedPaddingPayloadHex)
        #expect(failure { () throws(DecryptionFailure) in try decryptor.decrypt(payload, verifyingEncoding: false) } == .invalidPadding)
    }

    @Test func jsonPlaintextPassesTheEncodingCheck() throws {
        let opened = try decryptor(vectors.aescbcEdge.keyHex).decrypt(hexBytes(vectors.aescbcEdge.jsonPayloadHex))
        #expect(opened.withUnsafeBytes { $0.first } == UInt8(ascii: "{"))
    }

    @Test func plainTextThatIsNoKubernetesEncodingIsRejected() throws {
        let decryptor = try decryptor(vectors.aescbcEdge.keyHex)
        let payload = try hexBytes(vectors.aescbcEdge.notKubernetesPayloadHex)
        #expect(failure { () throws(DecryptionFailure) in try decryptor.decrypt(payload) } == .notAKubernetesEncoding)
        #expect(try decryptor.decrypt(payload, verifyingEncoding: false) == Array("hello, this is not an object".utf8))
    }

    @Test func encodingCheckRecognizesEachSerialization() {
        func check(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { AESCBCDecryptor.looksLikeKubernetesEncoding($0) } }
        #expect(check([0x6b, 0x38, 0x73, 0x00, 0x0a]))
        #expect(check(Array("{\"kind\":\"Widget\"}\n".utf8)))
        #expect(check([0xd9, 0xd9, 0xf7, 0xa1]))
        #expect(check(Array("apiVersion: v1\nkind: Secret\n".utf8)))
        #expect(!check([]))
        #expect(!check(Array("{garbage".utf8)))
        #expect(!check(Array("k8s:enc:aescbc:v1:".utf8)))
        #expect(!check([0x01, 0x9f, 0x33, 0x00]))
        #expect(!check(Array("apiVersion:v1".utf8)))
    }

    @Test func everyPayloadShorterThanIVAndOneBlockIsTruncated() throws {
        let decryptor = try decryptor(vectors.aescbc[0].keyHex)
        let full = try hexBytes(vectors.aescbc[0].payloadHex)
        for length in 0..<AESCBCDecryptor.minimumPayloadByteCount {
            let short = Array(full.prefix(length))
            #expect(failure { () throws(DecryptionFailure) in try decryptor.decrypt(short) } == .truncated, "length \(length)")
        }
    }

    @Test func payloadThatIsNotWholeBlocksIsTruncated() throws {
        let decryptor = try decryptor(vectors.aescbc[0].keyHex)
        let full = try hexBytes(vectors.aescbc[0].payloadHex)
        for length in [33, 40, 47, full.count - 1] {
            let cut = Array(full.prefix(length))
            #expect(failure { () throws(DecryptionFailure) in try decryptor.decrypt(cut) } == .truncated, "length \(length)")
        }
    }

    @Test(arguments: [0, 8, 15, 20, 31, 33, 48])
    func keyOfWrongLengthIsRejected(length: Int) {
        let key = SecretBytes([UInt8](repeating: 1, count: length))
        #expect(failure { () throws(DecryptionFailure) in try AESCBCDecryptor(key: key) } == .invalidKeyLength(length))
    }
}
