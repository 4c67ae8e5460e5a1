import AtRestEncryption
import AtRestTestSupport
import Testing

@Suite struct SecretBoxTests {
    let vectors: CryptoVectors
    init() throws { vectors = try CryptoVectors.load() }

    private var decryptor: SecretBoxDecryptor { get throws { try SecretBoxDecryptor(key: SecretBytes(hexBytes(vectors.secretbox.keyHex))) } }

    @Test func decryptsSyntheticEtcdValue() throws {
        let synthetic = try SyntheticVectors.load()
        let entry = synthetic.secretboxKey1
        let body = try payload(of: hexBytes(entry.etcdValueHex), after: "k8s:enc:secretbox:v1:\(entry.keyName):")
        let decryptor = try SecretBoxDecryptor(key: SecretBytes(base64(entry.configSecretB64)))
        #expect(try decryptor.decrypt(body) == hexBytes(synthetic.plaintextHex))
    }

    @Test func decryptsPyNaClVector() throws {
        #expect(try decryptor.decrypt(hexBytes(vectors.secretbox.payloadHex)) == hexBytes(vectors.plaintextHex))
    }

    @Test func emptyPlaintextOpens() throws {
        let payload = try hexBytes(vectors.secretbox.emptyPlaintextPayloadHex)
        #expect(payload.count == SecretBoxDecryptor.minimumPayloadByteCount)
        #expect(try decryptor.decrypt(payload) == [])
    }

    @Test func wrongKeyFailsAuthentication() throws {
        var key = try hexBytes(vectors.secretbox.keyHex)
        key[31] ^= 0x40
        let wrong = try SecretBoxDecryptor(key: SecretBytes(key))
        let payload = try hexBytes(vectors.secretbox.payloadHex)
        #expect(failure { () throws(DecryptionFailure) in try wrong.decrypt(payload) } == .authenticationFailed)
    }

    @Test func flippedTagOrCiphertextBitFailsAuthentication() throws {
        let decryptor = try decryptor
        for index in [24, 39, 40, 100] {
            var payload = try hexBytes(vectors.secretbox.payloadHex)
            payload[index] ^= 0x01
            #expect(failure { () throws(DecryptionFailure) in try decryptor.decrypt(payload) } == .authenticationFailed, "byte \(index)")
        }
    }

    @Test func everyPayloadShorterThanNonceAndTagIsTruncated() throws {
        let decryptor = try decryptor
        let full = try hexBytes(vectors.secretbox.payloadHex)
        for length in 0..<SecretBoxDecryptor.minimumPayloadByteCount {
            let short = Array(full.prefix(length))
            #expect(failure { () throws(DecryptionFailure) in try decryptor.decrypt(short) } == .truncated, "length \(length)")
        }
    }

    /// The audit checks secretbox values by their tag alone; it must accept and refuse
    /// exactly what decrypting does, whichever byte of the payload or key is damaged.
    @Test func authenticatingAgreesWithDecryptingOnEveryDamagedByte() throws {
        let decryptor = try decryptor
        let full = try hexBytes(vectors.secretbox.payloadHex)
        func outcome(_ decryptor: SecretBoxDecryptor, _ payload: [UInt8]) -> (decrypt: DecryptionFailure?, authenticate: DecryptionFailure?) {
            (failure { () throws(DecryptionFailure) in _ = try decryptor.decrypt(payload) },
             failure { () throws(DecryptionFailure) in
                 try payload.withUnsafeBytes { p in Result { () throws(DecryptionFailure) in try decryptor.authenticate(p) } }.get()
             })
        }
        let intact = outcome(decryptor, full)
        #expect(intact.decrypt == nil && intact.authenticate == nil)
        let empty = outcome(decryptor, try hexBytes(vectors.secretbox.emptyPlaintextPayloadHex))
        #expect(empty.decrypt == nil && empty.authenticate == nil)
        for index in full.indices {
            var payload = full
            payload[index] ^= 0x20
            let damaged = outcome(decryptor, payload)
            #expect(damaged.authenticate == damaged.decrypt && damaged.decrypt == .authenticationFailed, "byte \(index)")
        }
        for length in [0, 23, 24, 39] {
            let short = outcome(decryptor, Array(full.prefix(length)))
            #expect(short.authenticate == .truncated && short.decrypt == .truncated, "length \(length)")
        }
        var key = try hexBytes(vectors.secretbox.keyHex)
        key[0] ^= 0x01
        let wrong = outcome(try SecretBoxDecryptor(key: SecretBytes(key)), full)
        #expect(wrong.authenticate == .authenticationFailed && wrong.decrypt == .authenticationFailed)
    }

    @Test(arguments: [0, 16, 24, 31, 33, 64])
    func keyOfWrongLengthIsRejected(length: Int) {
        let key = SecretBytes([UInt8](repeating: 2, count: length))
        #expect(failure { () throws(DecryptionFailure) in try SecretBoxDecryptor(key: key) } == .invalidKeyLength(length))
    }

    @Test func secretBytesDescriptionNeverShowsTheKey() throws {
        let key = SecretBytes(Array("abcdefghijklmnopqrstuvwxyz123456".utf8))
        let decryptor = try SecretBoxDecryptor(key: key)
        for text in [String(describing: key), String(reflecting: key), String(describing: decryptor), String(reflecting: decryptor)] {
            #expect(!text.contains("abcdefghijklmnopqrstuvwxyz123456"))
            #expect(!text.contains("97, 98, 99"))
        }
    }
}
