import AtRestEncryption
import AtRestTestSupport
import Testing

/// Upstream's golden KMS v2 values (k8s `kmsv2_transformation_test.go`, `testKMSv2ProviderLegacyData`),
/// whose test plugin "wraps" the DEK/seed by base64-encoding it.
@Suite struct KMSv2DataTests {
    static let aadPrefix = "/43da1478-5e9c-4ef3-a92a-2b19d540c8a5/registry/secrets/kms-v2-legacy-data/"

    struct Golden {
        var value: KMSv2Data.StoredValue
        var etcdKey: [UInt8]
        var plaintext: [UInt8]
        /// The mock plugin's unwrap: base64-decode.
        var unwrapped: SecretBytes
    }

    private func golden(_ stem: String, name: String) throws -> Golden {
        let raw = try Fixtures.bytes("vectors/kmsv2_\(stem).etcdvalue.bin")
        let value = try #require(KMSv2Data.StoredValue(etcdValue: raw))
        let unwrapped = try base64(String(decoding: value.encryptedDEKSource, as: UTF8.self))
        return Golden(value: value, etcdKey: Array((Self.aadPrefix + name).utf8),
                      plaintext: try Fixtures.bytes("vectors/kmsv2_\(stem).plaintext.bin"), unwrapped: SecretBytes(unwrapped))
    }

    private func aesGCMKey() throws -> Golden { try golden("AES_GCM_KEY", name: "dek-source-aes-gcm-key") }
    private func hkdfSeed() throws -> Golden { try golden("HKDF_SEED", name: "dek-source-hkdf-sha256-xnonce-aes-gcm-seed") }

    @Test func storedValueParsesProviderKeyIDAndType() throws {
        let key = try aesGCMKey(), seed = try hkdfSeed()
        #expect(key.value.providerName == "kms-provider")
        #expect(key.value.object.keyID == "1")
        #expect(key.value.object.dekSourceType == .aesGCMKey)
        #expect(key.value.object.annotations["local-kek.kms.kubernetes.io"] == Array("encrypted-local-kek".utf8))
        #expect(seed.value.object.dekSourceType == .hkdfSHA256XNonceAESGCMSeed)
        #expect(key.unwrapped.count == 32)
        #expect(seed.unwrapped.count == 32)
    }

    @Test func aesGCMKeyValueDecryptsToItsPlaintext() throws {
        let g = try aesGCMKey()
        let source = try #require(g.value.dekSource(unwrapped: g.unwrapped))
        #expect(try KMSv2Data.decrypt(g.value.encryptedData, dekSource: source, etcdKey: g.etcdKey) == g.plaintext)
    }

    @Test func hkdfSeedValueDecryptsToItsPlaintext() throws {
        let g = try hkdfSeed()
        let source = try #require(g.value.dekSource(unwrapped: g.unwrapped))
        #expect(try KMSv2Data.decrypt(g.value.encryptedData, dekSource: source, etcdKey: g.etcdKey) == g.plaintext)
    }

    @Test func hkdfSeedValueDerivesTheRecordedKey() throws {
        let g = try hkdfSeed()
        let key = try withBytes(Array(g.value.encryptedData.prefix(KMSv2Data.infoByteCount))) { info, _ throws(DecryptionFailure) in
            try KMSv2Data.derivedKey(seed: g.unwrapped, info: info)
        }
        #expect(key.withUnsafeBytes { Array($0) } == (try hexBytes("5cad1e7c7388618e86009092cac3eef592e41b9af5df436a59c0ab9570ac0d7f")))
    }

    @Test func upstreamExtendedNonceValueDecrypts() throws {
        // aes_test.go TestExtendedNonceGCMLegacyDataCompatibility (AAD "bamboo").
        let golden = try CryptoVectors.load().upstreamExtendedNonceGcm
        let seed = SecretBytes(try hexBytes(golden.seedHex))
        let data = try hexBytes(golden.encryptedDataHex)
        let key = try withBytes(Array(data.prefix(32))) { info, _ throws(DecryptionFailure) in try KMSv2Data.derivedKey(seed: seed, info: info) }
        #expect(key.withUnsafeBytes { Array($0) } == (try hexBytes(golden.derivedKeyHex)))
        let opened = try KMSv2Data.decrypt(data, dekSource: .hkdfSHA256XNonceAESGCMSeed(seed), etcdKey: Array(golden.aadAscii.utf8))
        #expect(opened == Array(golden.plaintextAscii.utf8))
    }

    @Test func rfc5869ExpandTestCases() throws {
        for testCase in try CryptoVectors.load().rfc5869Expand {
            let prk = SecretBytes(try hexBytes(testCase.prkHex))
            let okm = try withBytes(hexBytes(testCase.infoHex)) { info, _ throws(DecryptionFailure) in
                try HKDFSHA256.expand(pseudoRandomKey: prk, info: info, outputByteCount: testCase.length)
            }
            #expect(okm.withUnsafeBytes { Array($0) } == (try hexBytes(testCase.okmHex)), "RFC 5869 \(testCase.name)")
        }
    }

    @Test func expandRejectsOutputLongerThan255Blocks() {
        let prk = SecretBytes([UInt8](repeating: 1, count: 32))
        let result = failure { () throws(DecryptionFailure) in
            try withBytes([]) { info, _ throws(DecryptionFailure) in
                try HKDFSHA256.expand(pseudoRandomKey: prk, info: info, outputByteCount: 255 * 32 + 1)
            }
        }
        #expect(result == .invalidKeyLength(255 * 32 + 1))
    }

    @Test func valueUnderAnotherEtcdKeyFailsAuthentication() throws {
        for g in [try aesGCMKey(), try hkdfSeed()] {
            let source = try #require(g.value.dekSource(unwrapped: g.unwrapped))
            let other = Array((Self.aadPrefix + "moved").utf8)
            #expect(failure { () throws(DecryptionFailure) in try KMSv2Data.decrypt(g.value.encryptedData, dekSource: source, etcdKey: other) }
                    == .authenticationFailed)
        }
    }

    @Test func wrongSeedFailsAuthentication() throws {
        let g = try hkdfSeed()
        let wrong = KMSv2Data.DEKSource.hkdfSHA256XNonceAESGCMSeed(SecretBytes([UInt8](repeating: 9, count: 32)))
        #expect(failure { () throws(DecryptionFailure) in try KMSv2Data.decrypt(g.value.encryptedData, dekSource: wrong, etcdKey: g.etcdKey) }
                == .authenticationFailed)
    }

    @Test func seedShorterThan32BytesIsRejected() throws {
        let g = try hkdfSeed()
        let short = KMSv2Data.DEKSource.hkdfSHA256XNonceAESGCMSeed(SecretBytes([UInt8](repeating: 9, count: 31)))
        #expect(failure { () throws(DecryptionFailure) in try KMSv2Data.decrypt(g.value.encryptedData, dekSource: short, etcdKey: g.etcdKey) }
                == .invalidKeyLength(31))
    }

    @Test func dekOfWrongLengthIsRejected() throws {
        let g = try aesGCMKey()
        let bad = KMSv2Data.DEKSource.aesGCMKey(SecretBytes([UInt8](repeating: 9, count: 20)))
        #expect(failure { () throws(DecryptionFailure) in try KMSv2Data.decrypt(g.value.encryptedData, dekSource: bad, etcdKey: g.etcdKey) }
                == .invalidKeyLength(20))
    }

    @Test func everyEncryptedDataBelowTheMinimumIsTruncated() throws {
        for (g, minimum) in [(try aesGCMKey(), 28), (try hkdfSeed(), 60)] {
            let source = try #require(g.value.dekSource(unwrapped: g.unwrapped))
            for length in 0..<minimum {
                let short = Array(g.value.encryptedData.prefix(length))
                #expect(failure { () throws(DecryptionFailure) in try KMSv2Data.decrypt(short, dekSource: source, etcdKey: g.etcdKey) }
                        == .truncated, "length \(length)")
            }
        }
    }

    @Test func unknownDEKSourceTypeHasNoDEKSource() throws {
        // The seed value ends with field 5 = 1 (`28 01`); make it 7.
        var raw = try Fixtures.bytes("vectors/kmsv2_HKDF_SEED.etcdvalue.bin")
        try #require(raw.suffix(2) == [0x28, 0x01])
        raw[raw.count - 1] = 0x07
        let value = try #require(KMSv2Data.StoredValue(etcdValue: raw))
        #expect(value.object.dekSourceType == .unknown(7))
        #expect(value.dekSource(unwrapped: SecretBytes([UInt8](repeating: 0, count: 32))) == nil)
    }

    @Test func valuesThatAreNotKMSv2AreNotParsed() throws {
        let raw = try Fixtures.bytes("vectors/kmsv2_AES_GCM_KEY.etcdvalue.bin")
        #expect(KMSv2Data.StoredValue(etcdValue: Array("k8s:enc:aesgcm:v1:key1:abc".utf8)) == nil)
        #expect(KMSv2Data.StoredValue(etcdValue: Array(raw.prefix(40))) == nil)  // cut inside encryptedData
        #expect(KMSv2Data.StoredValue(etcdValue: Array("k8s:enc:kms:v2:no-colon".utf8)) == nil)
        #expect(KMSv2Data.StoredValue(etcdValue: Array("k8s:enc:kms:v2:p:".utf8)) == nil)  // no encryptedData
    }

    /// Upstream's test plugin: its "wrapped" DEK source is the base64 of the plaintext one.
    struct Base64Plugin: KMSPlugin {
        var endpoint: String { "unix:///upstream-test-plugin.sock" }
        func status() throws(KMSPluginError) -> KMSPluginStatus { KMSPluginStatus(version: "v2", healthz: "ok", keyID: "1") }
        func decrypt(_ request: KMSDecryptRequest) throws(KMSPluginError) -> SecretBytes {
            guard case .v2(let ciphertext, _, _) = request, let bytes = try? base64(String(decoding: ciphertext, as: UTF8.self)) else {
                throw .refused(code: "INVALID_ARGUMENT", message: "not base64")
            }
            return SecretBytes(bytes)
        }
    }

    /// The audit's own read path (`KMSSession` and a thread's `KMSv2Reader`, which keys one
    /// HMAC and one GCM context anew per seed value) opens both golden values.
    @Test func goldenValuesOpenThroughTheAuditsReadPath() throws {
        let provider = KMSSession.Provider(apiVersion: .v2, plugin: Base64Plugin(), currentKeyID: "1")
        let session = KMSSession(providers: ["kms-provider": provider], writesSeed: true)
        let reader = KMSv2Reader(session: session)
        for g in [try hkdfSeed(), try aesGCMKey(), try hkdfSeed()] {
            let raw = try Fixtures.bytes("vectors/kmsv2_\(g.value.object.dekSourceType == .aesGCMKey ? "AES_GCM_KEY" : "HKDF_SEED").etcdvalue.bin")
            let prefix = "k8s:enc:kms:v2:kms-provider:".utf8.count
            let read = raw.withUnsafeBytes { value in
                g.etcdKey.withUnsafeBytes { key in
                    session.read(payload: UnsafeRawBufferPointer(rebasing: value[prefix...]), provider: "kms-provider", provider, etcdKey: key,
                                 keepingPlaintext: true, reader: reader)
                }
            }
            guard case .read(let staleness, let plaintext?, let keyID) = read else {
                Issue.record("not read: \(read)")
                continue
            }
            #expect(plaintext.withUnsafeBytes { Array($0) } == g.plaintext)
            #expect(keyID == "1")
            #expect(staleness == (g.value.object.dekSourceType == .aesGCMKey ? .sourceType(stored: .aesGCMKey) : nil))
        }
        // One Decrypt per distinct source, though the seed value was read twice.
        #expect(session.callCounts.map(\.decryptCalls) == [2])
    }
}
