/// Stored values as the audit sees them: the `k8s:enc:` classifier (static-key
/// providers, KMS v1, the KMS v2 `EncryptedObject` protobuf), the KMS v2 value
/// split, the byte-level annotation `inspect` prints, and decryption of the
/// static-key payloads with a fixed all-zero key (padding, nonce and tag handling).
import AtRestEncryption
import AtRestReport
import FuzzSupport

private let zeroKey = SecretBytes([UInt8](repeating: 0, count: 32))
/// libFuzzer calls the target on one thread, so one decryptor of each kind is enough. Held
/// as plain class references: the leak checker cannot follow references packed into a
/// multi-payload enum (`ProviderDecryptor`) and would report the OpenSSL contexts.
nonisolated(unsafe) private let cbc = try? AESCBCDecryptor(key: zeroKey)
nonisolated(unsafe) private let gcm = try? AESGCMDecryptor(key: zeroKey)
private let secretbox = try? SecretBoxDecryptor(key: zeroKey)
private let etcdKey = Array("/registry/secrets/default/fuzz".utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let value = [UInt8](bytes(data, size))
    let storage = StorageClassifier.classify(value)
    _ = storage.storage
    if case .encrypted(let envelope) = storage {
        _ = envelope.provider
        _ = envelope.keyName
    }
    _ = KMSv2Data.StoredValue(etcdValue: value)
    let annotation = ValueAnnotation.annotate(value, knownNames: ["key1", "kms-provider", "a:b"])
    for region in annotation.regions where !(0...value.count).contains(region.range.lowerBound) || region.range.upperBound > value.count {
        fatalError("annotation region \(region.range) lies outside a \(value.count)-byte value")
    }
    value.withUnsafeBytes { payload in
        etcdKey.withUnsafeBytes { key in
            _ = try? cbc?.decrypt(payload)
            _ = try? gcm?.decrypt(payload, additionalData: key)
            _ = try? secretbox?.decrypt(payload)
        }
    }
    return 0
}
