import AtRestEncryption
import AtRestTestSupport
import Testing

@Suite struct ProviderDecryptorTests {
    @Test func dispatchesToTheProviderAndUsesTheEtcdKeyOnlyForAESGCM() throws {
        let synthetic = try SyntheticVectors.load()
        let plaintext = try hexBytes(synthetic.plaintextHex)
        let etcdKey = Array(synthetic.etcdKey.utf8)
        let cases: [(KeyedProvider, SyntheticVectors.Keyed)] = [
            (.aescbc, synthetic.aescbcKey1Aes128), (.aesgcm, synthetic.aesgcmKey1Aes128), (.secretbox, synthetic.secretboxKey1),
        ]
        for (provider, entry) in cases {
            let decryptor = try ProviderDecryptor(provider: provider, key: SecretBytes(base64(entry.configSecretB64)))
            #expect(decryptor.provider == provider)
            let body = try payload(of: hexBytes(entry.etcdValueHex), after: "k8s:enc:\(provider.rawValue):v1:\(entry.keyName):")
            let opened = try withBytes(body, etcdKey) { p, k throws(DecryptionFailure) in try decryptor.decrypt(p, etcdKey: k) }
            #expect(opened == plaintext)
            let other = Array("/registry/secrets/x/y".utf8)
            let moved = failure { () throws(DecryptionFailure) in
                try withBytes(body, other) { p, k throws(DecryptionFailure) in try decryptor.decrypt(p, etcdKey: k) }
            }
            #expect(moved == (provider == .aesgcm ? .authenticationFailed : nil))
        }
    }

    @Test func secretboxKeyLengthIsCheckedThroughTheEnum() {
        let key = SecretBytes([UInt8](repeating: 0, count: 16))
        #expect(failure { () throws(DecryptionFailure) in try ProviderDecryptor(provider: .secretbox, key: key) } == .invalidKeyLength(16))
        #expect(failure { () throws(DecryptionFailure) in try ProviderDecryptor(provider: .aesgcm, key: key) } == nil)
    }

    /// `authenticate` (into a reused scratch buffer) accepts and refuses exactly what
    /// `decrypt` does, also after the buffer grew for a longer value or a failure.
    @Test func authenticateAcceptsAndRefusesExactlyWhatDecryptDoes() throws {
        let synthetic = try SyntheticVectors.load()
        let etcdKey = Array(synthetic.etcdKey.utf8)
        let other = Array("/registry/secrets/x/y".utf8)
        let scratch = ScratchBuffer()
        let cases: [(KeyedProvider, SyntheticVectors.Keyed)] = [
            (.aescbc, synthetic.aescbcKey1Aes128), (.aesgcm, synthetic.aesgcmKey1Aes128), (.secretbox, synthetic.secretboxKey1),
        ]
        for (provider, entry) in cases {
            let decryptor = try ProviderDecryptor(provider: provider, key: SecretBytes(base64(entry.configSecretB64)))
            let body = try payload(of: hexBytes(entry.etcdValueHex), after: "k8s:enc:\(provider.rawValue):v1:\(entry.keyName):")
            var damaged = body
            damaged[damaged.count / 2] ^= 0x01
            for (value, key) in [(body, etcdKey), (body, other), (damaged, etcdKey), (Array(body.prefix(20)), etcdKey), (body, etcdKey)] {
                let viaDecrypt = failure { () throws(DecryptionFailure) in
                    _ = try withBytes(value, key) { p, k throws(DecryptionFailure) in try decryptor.decrypt(p, etcdKey: k) }
                }
                let viaAuthenticate = failure { () throws(DecryptionFailure) in
                    try withBytes(value, key) { p, k throws(DecryptionFailure) in try decryptor.authenticate(p, etcdKey: k, scratch: scratch) }
                }
                #expect(viaAuthenticate == viaDecrypt, "\(provider): \(value.count) bytes")
            }
        }
    }
}
