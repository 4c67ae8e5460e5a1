import Synchronization

/// The KMS providers of one run, shared by every auditing thread: which plugins
/// can be asked, the key ID each writes with now, and what was unwrapped so far.
///
/// It reads KMS values as the apiserver does (k8s.io/apiserver
/// `pkg/storage/value/encrypt/envelope/kmsv2/envelope.go` and, for v1,
/// `pkg/storage/value/encrypt/envelope/envelope.go` with the transformers of
/// `pkg/server/options/encryptionconfig/config.go`): unwrap the DEK or DEK source
/// through the plugin, once per distinct source, keyed as the apiserver's cache is,
/// then decrypt locally.
public final class KMSSession: Sendable {
    /// One KMS provider of the configuration, by name.
    public struct Provider: Sendable {
        public var apiVersion: KMSConfiguration.APIVersion
        /// Asked when present (`--kms`); without it the provider's values stay unverifiable.
        public var plugin: (any KMSPlugin)?
        /// v2: the key ID the plugin writes with now, from `Status` or `--kms-key-id`.
        public var currentKeyID: String?

        public init(apiVersion: KMSConfiguration.APIVersion, plugin: (any KMSPlugin)?, currentKeyID: String?) {
            self.apiVersion = apiVersion
            self.plugin = plugin
            self.currentKeyID = currentKeyID
        }
    }

    /// Calls made for one provider and key ID (v1: an empty key ID).
    public struct CallCount: Sendable, Hashable, Comparable {
        public var provider: String
        public var keyID: String
        /// Distinct DEK sources (v1: wrapped DEKs) met.
        public var distinctSources = 0
        /// `Decrypt` calls sent: one per distinct source.
        public var decryptCalls = 0
        /// Of those, the ones the plugin refused.
        public var refused = 0

        public static func < (a: CallCount, b: CallCount) -> Bool { (a.provider, a.keyID) < (b.provider, b.keyID) }
    }

    /// A plugin that stopped answering: the run cannot give verdicts for its values.
    public struct Failure: Error, Sendable, Hashable {
        public var provider: String
        public var endpoint: String
        public var error: KMSPluginError
    }

    public let providers: [String: Provider]
    /// The DEK source type the apiserver writes today (`KMSv2KDF`: a seed from 1.29).
    public let writesSeed: Bool
    /// The most `Decrypt` calls the run may send, over all providers (`--kms-max-calls`). The CLI
    /// counts what an input needs before the first call (`KMSCallDemand`); this is the backstop for
    /// whatever that count cannot see, and a production KMS is never asked more.
    public let maxCalls: Int

    private struct State {
        /// Unwrapped sources by cache key; refusals are kept too, so each source costs one call.
        var unwrapped: [[UInt8]: Result<SecretBytes, KMSPluginError>] = [:]
        var counts: [CallKey: CallCount] = [:]
        var failure: Failure?
        /// `Decrypt` calls sent so far, over all providers.
        var calls: Int { counts.values.reduce(0) { $0 + $1.decryptCalls } }
    }
    private struct CallKey: Hashable { var provider: String; var keyID: String }
    private let state = Mutex(State())

    public init(providers: [String: Provider], writesSeed: Bool, maxCalls: Int = .max) {
        self.providers = providers
        self.writesSeed = writesSeed
        self.maxCalls = maxCalls
    }

    /// The first plugin that stopped answering, if one did: the run's verdicts are then incomplete.
    public var failure: Failure? { state.withLock { $0.failure } }

    /// Calls per provider and key ID, sorted.
    public var callCounts: [CallCount] { state.withLock { $0.counts.values.sorted() } }

    /// How a KMS value read, or why not.
    public enum Read: Sendable {
        /// Decrypted (the plaintext only when asked for); `stale` says why a rewrite would change it;
        /// `keyID` is the v2 value's key ID.
        case read(stale: Staleness?, plaintext: SecretBytes?, keyID: String?)
        /// The provider's read fails; the reason, as a verdict gives it.
        case failed(String)
    }

    /// Why a readable KMS value is not stored as the apiserver writes today.
    public enum Staleness: Sendable, Hashable {
        /// v2: under another key ID than the plugin's current one.
        case keyID(stored: String, current: String)
        /// v2: a DEK (`AES_GCM_KEY`) where the apiserver writes seeds, or the reverse.
        case sourceType(stored: KMSv2EncryptedObject.DEKSourceType)
        /// v1: AES-CBC data, written before Kubernetes 1.25; read by the fallback transformer.
        case cbc
    }

    /// Reads a value that carries the prefix of `provider` (named `name`, one of `providers`,
    /// looked up by the caller once per resource rather than per value). `payload` follows
    /// the prefix; `etcdKey` is the full key, the data's additional authenticated data.
    /// `reader` is the calling thread's own (v2 values are read through it).
    public func read(payload: UnsafeRawBufferPointer, provider name: String, _ provider: Provider, etcdKey: UnsafeRawBufferPointer,
                     keepingPlaintext: Bool, reader: KMSv2Reader) -> Read {
        guard let plugin = provider.plugin else { return .failed("KMS provider \"\(name)\" is not asked") }
        switch provider.apiVersion {
        case .v2:
            return reader.read(payload: payload, provider: name, currentKeyID: provider.currentKeyID, plugin: plugin,
                               etcdKey: etcdKey, keepingPlaintext: keepingPlaintext)
        case .v1: return readV1(payload, provider: name, plugin: plugin, etcdKey: etcdKey, keepingPlaintext: keepingPlaintext)
        }
    }

    private func readV1(_ payload: UnsafeRawBufferPointer, provider: String, plugin: any KMSPlugin,
                        etcdKey: UnsafeRawBufferPointer, keepingPlaintext: Bool) -> Read {
        let wrapped: [UInt8], data: UnsafeRawBufferPointer
        switch Self.splitV1(payload) {
        case .success(let parts): (wrapped, data) = (Array(parts.wrapped), parts.data)
        case .failure(let reason): return .failed(reason.text)
        }
        var key: [UInt8] = []
        Self.v1CacheKey(wrapped, into: &key)
        let unwrapped = unwrap(.v1(cipher: wrapped), cacheKey: key, provider: provider, keyID: "", plugin: plugin)
        let dek: SecretBytes
        switch unwrapped {
        case .success(let value): dek = value
        case .failure(let error): return .failed("the plugin did not unwrap the DEK: \(error)")
        }
        // `unionTransformers{gcm, cbc}`: GCM first; a value only CBC reads is stale.
        var reasons: [String] = []
        do {
            let plaintext = try AESGCMDecryptor(key: dek).decrypt(data, additionalData: etcdKey)
            return .read(stale: nil, plaintext: keepingPlaintext ? plaintext : nil, keyID: nil)
        } catch {
            reasons.append("AES-GCM: \(error)")
        }
        do {
            let plaintext = try AESCBCDecryptor(key: dek).decrypt(data)
            return .read(stale: .cbc, plaintext: keepingPlaintext ? plaintext : nil, keyID: nil)
        } catch {
            reasons.append("AES-CBC: \(error)")
        }
        return .failed("the DEK from the plugin does not open the data (\(reasons.joined(separator: "; ")))")
    }

    /// Why a v1 value cannot be split (`envelope.go` `TransformFromStorage`'s texts).
    struct V1SplitFailure: Error {
        var text: String
    }

    /// A v1 value after its prefix: a 2-byte big-endian length, the wrapped DEK, then the data.
    static func splitV1(_ payload: UnsafeRawBufferPointer)
        -> Result<(wrapped: UnsafeRawBufferPointer, data: UnsafeRawBufferPointer), V1SplitFailure> {
        guard payload.count >= 2 else { return .failure(V1SplitFailure(text: "invalid data encountered by envelope transformer: no DEK length")) }
        let length = Int(payload[0]) << 8 | Int(payload[1])
        guard length + 2 <= payload.count else {
            return .failure(V1SplitFailure(text: "invalid data encountered by envelope transformer, length longer than available bytes"))
        }
        return .success((UnsafeRawBufferPointer(rebasing: payload[2..<(2 + length)]), UnsafeRawBufferPointer(rebasing: payload[(2 + length)...])))
    }

    /// A v1 source's cache key: the wrapped DEK, tagged apart from v2's keys (which start with 2).
    static func v1CacheKey(_ wrapped: some Collection<UInt8>, into key: inout [UInt8]) {
        key.removeAll(keepingCapacity: true)
        key.append(1)
        key.append(contentsOf: wrapped)
    }

    /// One `Decrypt` per distinct source: the lock is held across the call, so two
    /// threads meeting the same new source make one call, not two.
    func unwrap(_ request: KMSDecryptRequest, cacheKey: [UInt8], provider: String, keyID: String,
                        plugin: any KMSPlugin) -> Result<SecretBytes, KMSPluginError> {
        state.withLock { state in
            if let known = state.unwrapped[cacheKey] { return known }
            let key = CallKey(provider: provider, keyID: keyID)
            state.counts[key, default: CallCount(provider: provider, keyID: keyID)].distinctSources += 1
            let result: Result<SecretBytes, KMSPluginError>
            if let failure = state.failure {
                // A plugin stopped answering: ask nothing more, the run ends in an error.
                result = .failure(failure.error)
            } else if state.calls >= maxCalls {
                result = .failure(.callLimit(maxCalls))
                state.failure = Failure(provider: provider, endpoint: plugin.endpoint, error: .callLimit(maxCalls))
            } else {
                state.counts[key]?.decryptCalls += 1
                do throws(KMSPluginError) {
                    result = .success(try plugin.decrypt(request))
                } catch {
                    result = .failure(error)
                    if error.stopsTheAudit {
                        state.failure = Failure(provider: provider, endpoint: plugin.endpoint, error: error)
                    } else {
                        state.counts[key]?.refused += 1
                    }
                }
            }
            state.unwrapped[cacheKey] = result
            return result
        }
    }
}

extension KMSSession {
    /// Writes into `key` the cache key under which reading `value` would unwrap its DEK source (one
    /// `Decrypt` per distinct key, as `unwrap` keys them), and says whether reading it would ask a plugin
    /// at all: a KMS value of a provider whose plugin is asked, well formed enough to reach the call.
    /// Counting these keys over an input tells how many calls its audit needs before any is sent.
    public func demandKey(ofValue value: UnsafeRawBufferPointer, into key: inout [UInt8]) -> Bool {
        let v1 = EnvelopePrefix.kmsV1, v2 = EnvelopePrefix.kmsV2
        guard value.count > v1.count else { return false }
        let isV2: Bool
        if value.starts(with: v2) { isV2 = true } else if value.starts(with: v1) { isV2 = false } else { return false }
        let rest = UnsafeRawBufferPointer(rebasing: value[v1.count...])
        for (name, provider) in providers where provider.plugin != nil && (provider.apiVersion == .v2) == isV2 {
            let nameBytes = name.utf8
            guard rest.count > nameBytes.count, rest.starts(with: nameBytes), rest[nameBytes.count] == UInt8(ascii: ":") else { continue }
            let payload = UnsafeRawBufferPointer(rebasing: rest[(nameBytes.count + 1)...])
            if isV2 {
                guard let object = KMSv2Reader.Fields(payload), object.type <= 1 else { return false }
                object.cacheKey(into: &key)
            } else {
                guard case .success(let parts) = Self.splitV1(payload) else { return false }
                Self.v1CacheKey(parts.wrapped, into: &key)
            }
            return true
        }
        return false
    }

    /// Whether any provider's plugin is asked: only then does an input cost calls.
    public var asksPlugins: Bool { providers.values.contains { $0.plugin != nil } }
}
