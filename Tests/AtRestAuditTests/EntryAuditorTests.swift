import AtRestAudit
import AtRestEncryption
import AtRestTestSupport
import Foundation
import Testing

/// Verdicts for single entries, against configurations built in memory and the
/// synthetic vectors (values encrypted independently, with Python).
@Suite struct EntryAuditorTests {
    struct Vector {
        var key: String
        var secret: [UInt8]
        var keyName: String
        var value: [UInt8]
    }

    static var vectors: [String: Any] {
        let data = (try? Data(contentsOf: URL(fileURLWithPath: Fixtures.path("vectors/synthetic_vectors.json")))) ?? Data()
        return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    static var etcdKey: String { vectors["etcd_key"] as? String ?? "" }

    func vector(_ name: String) throws -> Vector {
        let v = try #require(Self.vectors[name] as? [String: Any])
        let secret = try #require(Data(base64Encoded: v["config_secret_b64"] as? String ?? ""))
        return Vector(key: Self.etcdKey, secret: Array(secret), keyName: try #require(v["key_name"] as? String),
                      value: try hexBytes(try #require(v["etcd_value_hex"] as? String)))
    }

    func key(_ name: String, _ secret: [UInt8]) -> NamedKey { NamedKey(name: name, secret: SecretBytes(secret)) }

    func audit(_ key: String, _ value: [UInt8], _ providers: [ProviderConfiguration], resources: [String] = ["secrets"]) -> EntryAudit? {
        let configuration = EncryptionConfiguration(rules: [ResourceRule(resources: resources, providers: providers)])
        let auditor = EntryAuditor(configuration: configuration, resolver: ResourceResolver())
        return Array(key.utf8).withUnsafeBytes { k in value.withUnsafeBytes { auditor.audit(key: k, value: $0) } }
    }

    let protobuf: [UInt8] = [0x6b, 0x38, 0x73, 0x00, 0x0a, 0x02, 0x76, 0x31]

    @Test func firstProviderAndFirstKeyIsCurrent() throws {
        let v = try vector("aesgcm_key1_aes128")
        let result = audit(v.key, v.value, [.aesgcm([key(v.keyName, v.secret)])])
        #expect(result?.verdict == .current)
        #expect(result?.storedAs == .encrypted(.keyed(.aesgcm), keyName: "key1", keyID: nil))
        #expect(result?.namespace == "secret-encryption-test")
    }

    @Test func secondKeyOfTheFirstProviderIsStale() throws {
        let v = try vector("aesgcm_key1_aes128")
        let result = audit(v.key, v.value, [.aesgcm([key("new", Array(repeating: 7, count: 32)), key(v.keyName, v.secret)])])
        #expect(result?.verdict == .stale)
    }

    @Test func laterProviderIsStale() throws {
        let v = try vector("aescbc_key2_aes256")
        let result = audit(v.key, v.value, [.aesgcm([key("key1", Array(repeating: 1, count: 32))]), .aescbc([key(v.keyName, v.secret)])])
        #expect(result?.verdict == .stale)
        #expect(result?.storedAs.keyName == "key2")
    }

    @Test func secretboxDecrypts() throws {
        let v = try vector("secretbox_key1")
        #expect(audit(v.key, v.value, [.secretbox([key(v.keyName, v.secret)])])?.verdict == .current)
    }

    @Test func plaintextBehindAnEncryptingFirstProviderIsUnencrypted() {
        let result = audit("/registry/secrets/default/s", protobuf, [.aesgcm([key("k", Array(repeating: 1, count: 32))]), .identity])
        #expect(result?.verdict == .unencrypted)
        #expect(result?.storedAs == .plaintext(nil))
    }

    @Test func plaintextUnderIdentityFirstIsCurrent() {
        #expect(audit("/registry/secrets/default/s", protobuf, [.identity, .aesgcm([key("k", Array(repeating: 1, count: 32))])])?.verdict == .current)
    }

    @Test func plaintextWithoutIdentityIsUndecryptable() {
        let result = audit("/registry/secrets/default/s", protobuf, [.aesgcm([key("k", Array(repeating: 1, count: 32))])])
        #expect(result?.verdict == .undecryptable)
        #expect(result?.failure == .plaintextWithoutIdentity)
    }

    @Test func aesgcmValueMovedToAnotherKeyFailsAuthentication() throws {
        let v = try vector("aesgcm_key1_aes128")
        let result = audit("/registry/secrets/default/copied", v.value, [.aesgcm([key(v.keyName, v.secret)])])
        #expect(result?.verdict == .undecryptable)
        guard case .attempts(let attempts)? = result?.failure else { Issue.record("no attempts"); return }
        #expect(attempts.map(\.reason) == [.decryption(.authenticationFailed)])
    }

    @Test func undecryptableValueNamesTheConfiguredKeyThatFailed() throws {
        let v = try vector("aesgcm_key1_aes128")
        let result = audit("/registry/secrets/default/copied", v.value, [.aesgcm([key(v.keyName, v.secret)])])
        #expect(result?.claimedBy?.keyName == "key1")
        #expect(result?.claimedBy?.format == .keyed(.aesgcm))
        #expect(result?.readBy == nil)
    }

    @Test func undecryptableValueOfAKeyTheRuleDoesNotListClaimsNoKey() throws {
        let v = try vector("aesgcm_key1_aes128")
        let result = audit(v.key, v.value, [.aesgcm([key("other", v.secret)]), .identity])
        #expect(result?.verdict == .undecryptable)
        #expect(result?.claimedBy == nil)
        #expect(result?.storedAs.keyName == "key1")
    }

    @Test func wrongAESCBCKeyIsUndecryptable() throws {
        let v = try vector("aescbc_key2_aes256")
        #expect(audit(v.key, v.value, [.aescbc([key(v.keyName, Array(repeating: 9, count: 32))])])?.verdict == .undecryptable)
    }

    @Test func retiredKeyNameIsUndecryptable() throws {
        let v = try vector("aesgcm_key1_aes128")
        let result = audit(v.key, v.value, [.aesgcm([key("key2", v.secret)]), .identity])
        #expect(result?.verdict == .undecryptable)
        #expect(result?.failure == .noProviderMatchesPrefix)
    }

    @Test func truncatedValueIsUndecryptable() throws {
        let v = try vector("aesgcm_key1_aes128")
        #expect(audit(v.key, Array(v.value.prefix(40)), [.aesgcm([key(v.keyName, v.secret)])])?.verdict == .undecryptable)
    }

    @Test func kmsV2ValueOfAListedProviderIsUnverifiable() throws {
        let value = try Fixtures.bytes("vectors/kmsv2_AES_GCM_KEY.etcdvalue.bin")
        let name = "kms-provider"
        let kms = KMSConfiguration(apiVersion: .v2, name: name, endpoint: "unix:///kms.sock")
        let result = audit("/registry/secrets/default/k", value, [.kms(kms)])
        #expect(result?.verdict == .unverifiable)
        #expect(result?.storedAs == .encrypted(.kms(.v2), keyName: name, keyID: "1"))
    }

    @Test func kmsV2ValueUnderAKMSV1ProviderOfTheSameNameIsUndecryptable() throws {
        let value = try Fixtures.bytes("vectors/kmsv2_AES_GCM_KEY.etcdvalue.bin")
        let kms = KMSConfiguration(apiVersion: .v1, name: "kms-provider", endpoint: "unix:///kms.sock")
        #expect(audit("/registry/secrets/default/k", value, [.kms(kms)])?.verdict == .undecryptable)
    }

    @Test func keyNameWithColonIsMatchedExactly() throws {
        var v = try vector("aesgcm_key1_aes128")
        // The same ciphertext stored under the name "key:v2" does not decrypt (the name
        // is not authenticated, but the key differs); with the right key it does.
        let payload = Array(v.value.dropFirst("k8s:enc:aesgcm:v1:key1:".utf8.count))
        v.value = Array("k8s:enc:aesgcm:v1:key:v2:".utf8) + payload
        let result = audit(v.key, v.value, [.aesgcm([key("key", Array(repeating: 3, count: 16)), key("key:v2", v.secret)])])
        #expect(result?.verdict == .stale)
        #expect(result?.storedAs.keyName == "key:v2")
    }

    @Test func masterleasesAreExempt() {
        #expect(audit("/registry/masterleases/10.0.0.1", protobuf, [.aesgcm([key("k", Array(repeating: 1, count: 32))])], resources: ["*.*"])?.verdict == .exempt)
    }

    @Test func resourceWithoutRuleReadsPlaintextOnly() throws {
        let v = try vector("aesgcm_key1_aes128")
        #expect(audit("/registry/configmaps/default/c", protobuf, [.aesgcm([key(v.keyName, v.secret)])])?.verdict == .current)
        #expect(audit("/registry/configmaps/default/c", v.value, [.aesgcm([key(v.keyName, v.secret)])])?.verdict == .undecryptable)
    }

    @Test func wildcardRuleCoversCustomResources() {
        let result = audit("/registry/example.com/widgets/default/w", Array("{\"kind\":\"Widget\"}".utf8),
                           [.aesgcm([key("k", Array(repeating: 1, count: 32))]), .identity], resources: ["*.*"])
        #expect(result?.verdict == .unencrypted)
        #expect(result?.group == "example.com")
        #expect(result?.resource == "widgets")
    }

    @Test func keysOutsideThePrefixGetNoVerdict() {
        #expect(audit("compact_rev_key", Array("1".utf8), [.identity]) == nil)
    }
}
