import AtRestDump

/// One auditing thread's reader of KMS v2 values: it parses each EncryptedObject in
/// place, keeps the DEK sources it has unwrapped (a DEK's ready AES-GCM context, or
/// a seed), and asks the shared `KMSSession` only for a source it has not met, so
/// the per-value path takes no lock and copies nothing.
///
/// Not thread-safe (it holds OpenSSL contexts): one per thread, as `ProviderChain` is.
public final class KMSv2Reader {
    private let session: KMSSession
    private enum Source {
        case dek(AESGCMDecryptor)
        case seed(HKDFSHA256.Expander)
        case failed(String)
    }
    private var sources: [[UInt8]: Source] = [:]
    /// The last few sources met, newest first: a cluster has a handful of live
    /// sources, and comparing a key with them beats hashing it byte by byte.
    private var recent: [(key: [UInt8], source: Source)] = []
    private static let recentLimit = 8
    /// The cache key of the value being read, rebuilt in place for every value.
    private var key: [UInt8] = []
    private let scratch = ScratchBuffer()
    /// Where each seed value's derived key is made (wiped after it is handed to OpenSSL).
    private let keyScratch = ScratchBuffer()
    /// For seed values: one AES-256-GCM context, keyed anew for every value (each seed
    /// keeps its own HMAC context, keyed once).
    private var seedDecryptor: AESGCMDecryptor?

    public init(session: KMSSession) {
        self.session = session
    }

    /// Reads a `k8s:enc:kms:v2:<provider>:` value; `payload` follows the prefix.
    func read(payload: UnsafeRawBufferPointer, provider: String, currentKeyID: String?, plugin: any KMSPlugin,
              etcdKey: UnsafeRawBufferPointer, keepingPlaintext: Bool) -> KMSSession.Read {
        // `doDecode`: the protobuf must parse and pass `ValidateEncryptedObject`.
        guard let object = Fields(payload) else {
            return .failed("not an EncryptedObject the apiserver accepts (ValidateEncryptedObject)")
        }
        let keyID = String(decoding: object.keyID, as: UTF8.self)
        let type: KMSv2EncryptedObject.DEKSourceType
        switch object.type {
        case 0: type = .aesGCMKey
        case 1: type = .hkdfSHA256XNonceAESGCMSeed
        default: return .failed("unknown encryptedDEKSourceType: \(object.type)")
        }
        object.cacheKey(into: &key)
        let source: Source
        if let found = recentSource() {
            source = found
        } else {
            source = sources[key] ?? unwrap(object, keyID: keyID, type: type, provider: provider, plugin: plugin)
            remember(source)
        }
        let opened: Result<SecretBytes?, DecryptionFailure>
        switch source {
        case .failed(let reason): return .failed(reason)
        case .dek(let decryptor):
            opened = Result { () throws(DecryptionFailure) in
                guard keepingPlaintext else {
                    try decryptor.authenticate(object.data, additionalData: etcdKey, scratch: scratch)
                    return nil
                }
                return try decryptor.decrypt(object.data, additionalData: etcdKey)
            }
        case .seed(let expander):
            opened = Result { () throws(DecryptionFailure) in
                // `aes_extended_nonce.go`: info(32) || nonce || ciphertext || tag, keyed per value.
                guard object.data.count >= KMSv2Data.infoByteCount + AESGCMDecryptor.minimumPayloadByteCount,
                      let base = object.data.baseAddress else { throw .truncated }
                let info = UnsafeRawBufferPointer(start: base, count: KMSv2Data.infoByteCount)
                let payload = UnsafeRawBufferPointer(start: base + KMSv2Data.infoByteCount, count: object.data.count - KMSv2Data.infoByteCount)
                let gcm = try seedGCM()
                try keyScratch.withBytes(KMSv2Data.derivedKeyByteCount) { (key: UnsafeMutablePointer<UInt8>) throws(DecryptionFailure) in
                    try expander.expand32(info: info, into: key)
                    try gcm.rekey(UnsafeRawBufferPointer(start: key, count: KMSv2Data.derivedKeyByteCount))
                }
                guard keepingPlaintext else {
                    try gcm.authenticate(payload, additionalData: etcdKey, scratch: scratch)
                    return nil
                }
                return try gcm.decrypt(payload, additionalData: etcdKey)
            }
        }
        let plaintext: SecretBytes?
        switch opened {
        case .success(let value): plaintext = value
        case .failure(let failure): return .failed("the DEK source of key ID \"\(keyID)\" does not open the data: \(failure)")
        }
        var stale: KMSSession.Staleness?
        if let currentKeyID, keyID != currentKeyID {
            stale = .keyID(stored: keyID, current: currentKeyID)
        } else if (type == .hkdfSHA256XNonceAESGCMSeed) != session.writesSeed {
            stale = .sourceType(stored: type)
        }
        return .read(stale: stale, plaintext: plaintext, keyID: keyID)
    }

    /// The source of `key` if it is among the recent ones.
    private func recentSource() -> Source? {
        for entry in recent where entry.key == key { return entry.source }
        return nil
    }

    private func remember(_ source: Source) {
        if recent.count == Self.recentLimit { recent.removeLast() }
        recent.insert((key, source), at: 0)
    }

    private func seedGCM() throws(DecryptionFailure) -> AESGCMDecryptor {
        if let seedDecryptor { return seedDecryptor }
        let made = try AESGCMDecryptor(key: SecretBytes([UInt8](repeating: 0, count: KMSv2Data.derivedKeyByteCount)))
        seedDecryptor = made
        return made
    }

    /// A source met for the first time on this thread: asks the session (which asks the
    /// plugin once per distinct source across threads) and keeps the answer.
    private func unwrap(_ object: Fields, keyID: String, type: KMSv2EncryptedObject.DEKSourceType,
                        provider: String, plugin: any KMSPlugin) -> Source {
        var annotations: [String: [UInt8]] = [:]
        for (name, value) in object.annotations { annotations[String(decoding: name, as: UTF8.self)] = Array(value) }
        let request = KMSDecryptRequest.v2(ciphertext: Array(object.dekSource), keyID: keyID, annotations: annotations)
        let source: Source
        switch session.unwrap(request, cacheKey: key, provider: provider, keyID: keyID, plugin: plugin) {
        case .failure(let error):
            source = .failed("the plugin did not unwrap the DEK source of key ID \"\(keyID)\": \(error)")
        case .success(let secret):
            switch type {
            case .hkdfSHA256XNonceAESGCMSeed:
                // `NewHKDFExtendedNonceGCMTransformer`: a seed shorter than 32 bytes is refused.
                if secret.count < KMSv2Data.minimumSeedByteCount {
                    source = .failed("the plugin's seed for key ID \"\(keyID)\" is \(secret.count) bytes, under \(KMSv2Data.minimumSeedByteCount)")
                } else {
                    do throws(DecryptionFailure) {
                        source = .seed(try HKDFSHA256.Expander(pseudoRandomKey: secret))
                    } catch {
                        source = .failed("the plugin's seed for key ID \"\(keyID)\" is unusable: \(error)")
                    }
                }
            default:
                do throws(DecryptionFailure) {
                    source = .dek(try AESGCMDecryptor(key: secret))
                } catch {
                    source = .failed("the plugin's DEK for key ID \"\(keyID)\" is unusable: \(error)")
                }
            }
        }
        sources[key] = source
        return source
    }

    /// The fields of an EncryptedObject (`kmsv2/v2/api.proto`), as views into the value.
    struct Fields {
        var data = UnsafeRawBufferPointer(start: nil, count: 0)
        var keyID = UnsafeRawBufferPointer(start: nil, count: 0)
        var dekSource = UnsafeRawBufferPointer(start: nil, count: 0)
        var annotations: [(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)] = []
        var type: UInt64 = 0

        /// `nil` unless it parses and passes `ValidateEncryptedObject`'s size checks: data
        /// not empty, `keyID` and `encryptedDEKSource` not empty and at most 1 kB,
        /// annotations under 32 kB in all.
        init?(_ protobuf: UnsafeRawBufferPointer) {
            var reader = ProtobufReader(protobuf)
            do throws(ProtobufError) {
                while let field = try reader.next() {
                    switch (field.number, field.value) {
                    case (1, .bytes(let bytes)): data = bytes
                    case (2, .bytes(let bytes)): keyID = bytes
                    case (3, .bytes(let bytes)): dekSource = bytes
                    case (4, .bytes(let entry)):
                        var inner = ProtobufReader(entry)
                        var name = UnsafeRawBufferPointer(start: nil, count: 0), value = name
                        while let part = try inner.next() {
                            guard case .bytes(let bytes) = part.value else { continue }
                            if part.number == 1 { name = bytes } else if part.number == 2 { value = bytes }
                        }
                        // A map keeps the last value of a repeated name, as proto3 decoding does.
                        annotations.removeAll { $0.name.elementsEqual(name) }
                        annotations.append((name, value))
                    case (5, .varint(let raw)): type = raw
                    default: break
                    }
                }
            } catch {
                return nil
            }
            let annotationBytes = annotations.reduce(0) { $0 + $1.name.count + $1.value.count }
            guard !data.isEmpty, !dekSource.isEmpty, dekSource.count <= 1024, !keyID.isEmpty, keyID.count <= 1024,
                  annotationBytes < 32 * 1024 else { return nil }
            annotations.sort { $0.name.lexicographicallyPrecedes($1.name) }
        }

        /// `generateCacheKey`: the source type, the wrapped source, the key ID and the
        /// annotations in name order, each length-prefixed so no two keys differ only in
        /// where one field ends. Written into `key`, reusing its storage.
        func cacheKey(into key: inout [UInt8]) {
            key.removeAll(keepingCapacity: true)
            key.append(2)
            key.append(UInt8(truncatingIfNeeded: type))
            func append(_ bytes: UnsafeRawBufferPointer) {
                let count = UInt32(bytes.count)
                key.append(UInt8(count >> 24))
                key.append(UInt8(count >> 16 & 0xff))
                key.append(UInt8(count >> 8 & 0xff))
                key.append(UInt8(count & 0xff))
                key.append(contentsOf: bytes)
            }
            append(dekSource)
            append(keyID)
            for (name, value) in annotations {
                append(name)
                append(value)
            }
        }
    }
}
