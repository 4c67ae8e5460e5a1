import AtRestEncryption
import AtRestTestSupport
import Foundation
import Testing

/// `testdata/vectors/crypto_vectors.json` (made by `make_vectors.py` beside it) and
/// `synthetic_vectors.json` (from the shared spec), decoded.
struct CryptoVectors: Decodable {
    struct KeyPayload: Decodable { var keyHex: String; var payloadHex: String }
    struct GCMSpecCase: Decodable { var keyHex, nonceHex, aadHex, plaintextHex, ciphertextHex, tagHex: String }
    struct CBCEdge: Decodable {
        var keyHex, longPaddingPayloadHex, longPaddingPlaintextHex, zeroPaddingPayloadHex: String
        var mismatchedPaddingPayloadHex, oversizedPaddingPayloadHex, jsonPayloadHex, notKubernetesPayloadHex: String
    }
    struct CBCWrongKeys: Decodable { var invalidPaddingKeyHex, validPaddingKeyHex: String }
    struct SecretBox: Decodable { var keyHex, payloadHex, emptyPlaintextPayloadHex: String }
    struct ExpandCase: Decodable { var name, prkHex, infoHex, okmHex: String; var length: Int }
    struct UpstreamGCM: Decodable { var keyAscii, aadAscii, plaintextAscii, payloadHex: String }
    struct UpstreamXNonce: Decodable { var seedHex, aadAscii, plaintextAscii, encryptedDataHex, derivedKeyHex: String }

    var plaintextHex: String
    var etcdKey: String
    var otherEtcdKey: String
    var gcmSpecTestCase16: GCMSpecCase
    var aesgcm: [KeyPayload]
    var aescbc: [KeyPayload]
    var aescbcEdge: CBCEdge
    var aescbcWrongKeys: CBCWrongKeys
    var secretbox: SecretBox
    var rfc5869Expand: [ExpandCase]
    var upstreamGcm: UpstreamGCM
    var upstreamExtendedNonceGcm: UpstreamXNonce

    static func load() throws -> CryptoVectors {
        try decode("vectors/crypto_vectors.json")
    }
}

/// The spec's synthetic values (not produced by Kubernetes: format conformance only).
struct SyntheticVectors: Decodable {
    struct Keyed: Decodable { var configSecretB64, keyName, etcdValueHex: String }
    struct KMSv1: Decodable { var provider, dekHex, etcdValueHex: String }

    var plaintextHex: String
    var etcdKey: String
    var aescbcKey1Aes128: Keyed
    var aescbcKey2Aes256: Keyed
    var aesgcmKey1Aes128: Keyed
    var secretboxKey1: Keyed
    var kmsv1GcmMockbase64: KMSv1
    var kmsv1CbcPre125Mockbase64: KMSv1

    static func load() throws -> SyntheticVectors {
        try decode("vectors/synthetic_vectors.json")
    }
}

private func decode<T: Decodable>(_ relative: String) throws -> T {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(T.self, from: Data(Fixtures.bytes(relative)))
}

func base64(_ text: String) throws -> [UInt8] {
    try [UInt8](#require(Data(base64Encoded: text)))
}

/// The payload after `prefix` (e.g. `k8s:enc:aesgcm:v1:key1:`) of an etcd value.
func payload(of value: [UInt8], after prefix: String) throws -> [UInt8] {
    let head = Array(prefix.utf8)
    try #require(value.starts(with: head))
    return Array(value[head.count...])
}

/// Runs `body` and returns the `DecryptionFailure` it threw, or `nil` if it did not throw.
func failure<R>(_ body: () throws(DecryptionFailure) -> R) -> DecryptionFailure? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// `Array.withUnsafeBytes` is untyped `rethrows`; this keeps a `DecryptionFailure` typed.
func withBytes<R>(_ first: [UInt8], _ second: [UInt8] = [],
                  _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(DecryptionFailure) -> R) throws(DecryptionFailure) -> R {
    let result: Result<R, DecryptionFailure> = first.withUnsafeBytes { a in
        second.withUnsafeBytes { b in Result { () throws(DecryptionFailure) in try body(a, b) } }
    }
    return try result.get()
}
