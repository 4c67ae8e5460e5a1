import AtRestDump
import Foundation
import AtRestEncryption

/// A resource's providers as the apiserver builds them for reading
/// (`pkg/server/options/encryptionconfig/config.go`), in their `ReadOrder`: every
/// provider in order, keyed providers expanded to one prefix per key, KMS as one,
/// and identity with the empty prefix. KMS values are read through the run's
/// `KMSSession` when it asks their plugin (`--kms`), and are unverifiable otherwise.
///
/// Holds decryption contexts (OpenSSL state): not thread-safe, one per thread.
final class ProviderChain {
    enum Reader {
        case identity
        case keyed(ProviderDecryptor)
        /// A KMS provider; `asked` is its plugin and current key ID when `--kms` asks it,
        /// looked up once here rather than by name for every value.
        case kms(name: String, version: KMSConfiguration.APIVersion, asked: KMSSession.Provider?)
        /// A key that could not be loaded (bad length): it reads nothing.
        case unusable(DecryptionFailure)
    }

    /// A class, not a struct: the read loop and the verdict take entries out of the
    /// chain for every value, and a copy of a struct of strings, an array and an enum
    /// with payloads costs a retain and a release per field.
    final class Entry {
        let provider: Int
        let key: Int
        /// What the provider writes; `nil` for identity.
        let format: EnvelopeFormat?
        let keyName: String?
        let prefix: [UInt8]
        let reader: Reader
        /// How a value this entry reads is stored: every such value is stored alike
        /// (identity: plaintext; a key: under its provider and name), so the audit
        /// need not classify its bytes. Made once, shared by every value.
        let storedAs: StoredAs

        init(provider: Int, key: Int, format: EnvelopeFormat?, keyName: String?, reader: Reader) {
            self.provider = provider
            self.key = key
            self.format = format
            self.keyName = keyName
            self.prefix = format.map { EnvelopePrefix.bytes($0, name: keyName ?? "") } ?? []
            self.reader = reader
            storedAs = format.map { .encrypted($0, keyName: keyName, keyID: nil) } ?? .plaintext(nil)
        }

        var isIdentity: Bool { if case .identity = reader { return true } else { return false } }

        /// How a KMS value this entry read is stored, under the key ID its plugin reported.
        func storedAs(keyID: String?) -> StoredAs {
            guard let format else { return storedAs }
            return .encrypted(format, keyName: keyName, keyID: keyID)
        }

        /// The provider's field name in the configuration, as reasons name it.
        var providerType: String { format?.provider ?? ProviderConfiguration.identity.typeName }

        /// `aesgcm key "key1"`, `kms provider "vault"`, as reasons name it.
        var label: String {
            guard let keyName else { return providerType }
            if case .kms = reader { return "kms provider \"\(keyName)\"" }
            return "\(providerType) key \"\(keyName)\""
        }

        /// Where this entry sits, as reported with a verdict.
        var position: EntryAudit.ReadPosition {
            EntryAudit.ReadPosition(provider: provider, key: key, format: format, keyName: keyName)
        }
    }

    let entries: [Entry]
    /// Whether the first provider encrypts (so plaintext is not how this resource is written).
    let firstProviderEncrypts: Bool
    /// Whether any provider encrypts (so identity, if listed, is a fallback that can be removed).
    let anyProviderEncrypts: Bool
    /// The verdict and reason of a value read by each entry, made once: every value an
    /// entry reads gets the same ones, and the findings kept then share one string.
    private var readVerdicts: [(verdict: Verdict, reason: String)?]
    /// Where values are decrypted to be authenticated (nothing of them is kept).
    private let scratch = ScratchBuffer()
    /// The plugins asked for KMS values, if any, and this thread's reader of their values.
    let kms: KMSSession?
    private let kmsReader: KMSv2Reader?

    /// The same for KMS values, whose verdict also depends on their key ID and staleness.
    private var kmsReadVerdicts: [KMSReadKey: (verdict: Verdict, reason: String)] = [:]
    private struct KMSReadKey: Hashable {
        var index: Int
        var keyID: String?
        var staleness: KMSSession.Staleness?
    }

    /// The verdict and reason of a KMS value read by `entries[index]`, made once per key ID and staleness.
    func kmsReadVerdict(_ index: Int, keyID: String?, staleness: KMSSession.Staleness?,
                        _ make: () -> (verdict: Verdict, reason: String)) -> (verdict: Verdict, reason: String) {
        let key = KMSReadKey(index: index, keyID: keyID, staleness: staleness)
        if let known = kmsReadVerdicts[key] { return known }
        let made = make()
        kmsReadVerdicts[key] = made
        return made
    }

    /// The verdict of a value read by `entries[index]`, once `readVerdict` has made it.
    func knownReadVerdict(_ index: Int) -> Verdict? { readVerdicts[index]?.verdict }

    /// The verdict and reason for a value read by `entries[index]`, from `make` the first time.
    func readVerdict(_ index: Int, _ make: () -> (verdict: Verdict, reason: String)) -> (verdict: Verdict, reason: String) {
        if let known = readVerdicts[index] { return known }
        let made = make()
        readVerdicts[index] = made
        return made
    }

    init(providers: [ProviderConfiguration], kms: KMSSession? = nil) {
        self.kms = kms
        let session = kms
        kmsReader = kms.map(KMSv2Reader.init(session:))
        firstProviderEncrypts = providers.first?.encrypts ?? false
        entries = ReadOrder(providers).elements.map { element in
            let reader: Reader
            switch element.format {
            case nil:
                reader = .identity
            case .keyed(let provider)?:
                do throws(DecryptionFailure) {
                    reader = .keyed(try ProviderDecryptor(provider: provider, key: element.secret ?? SecretBytes([])))
                } catch {
                    reader = .unusable(error)
                }
            case .kms(let version)?:
                let name = element.name ?? ""
                reader = .kms(name: name, version: version, asked: session?.providers[name].flatMap { $0.plugin == nil ? nil : $0 })
            }
            return Entry(provider: element.provider, key: element.key, format: element.format, keyName: element.name, reader: reader)
        }
        anyProviderEncrypts = entries.contains { !$0.isIdentity }
        readVerdicts = Array(repeating: nil, count: entries.count)
    }

    /// The outcome of the apiserver's read loop for one value.
    enum Outcome {
        /// Read (decrypted, or plaintext through identity) by `entries[index]`;
        /// the decrypted bytes when they were asked for and a key decrypted them.
        case read(index: Int, decrypted: SecretBytes?)
        /// A KMS provider of the list matches the prefix and its plugin is not asked.
        case kms(index: Int)
        /// Read through its KMS plugin by `entries[index]`; why a rewrite would change
        /// it, and the plaintext when it was asked for.
        case kmsRead(index: Int, staleness: KMSSession.Staleness?, decrypted: SecretBytes?, keyID: String?)
        /// Nothing read it; why.
        case failed(ReadFailure)
    }

    /// Runs the read loop: every entry whose prefix matches is tried in order;
    /// identity fails silently on `k8s:enc:` data; the first success wins.
    /// The decrypted bytes are discarded unless `keepingPlaintext` (inspect asks for them).
    func read(_ value: UnsafeRawBufferPointer, etcdKey: UnsafeRawBufferPointer, keepingPlaintext: Bool = false) -> Outcome {
        let encrypted = Self.starts(value, with: StorageClassifier.encryptedPrefix)
        var attempts: [ReadFailure.Attempt] = []
        for index in entries.indices where Self.starts(value, with: entries[index].prefix) {
            let entry = entries[index]
            let payload = UnsafeRawBufferPointer(rebasing: value[entry.prefix.count...])
            do throws(DecryptionFailure) {
                switch entry.reader {
                case .identity:
                    if encrypted { continue }
                    return .read(index: index, decrypted: nil)
                case .keyed(let decryptor):
                    guard keepingPlaintext else {
                        try decryptor.authenticate(payload, etcdKey: etcdKey, scratch: scratch)
                        return .read(index: index, decrypted: nil)
                    }
                    return .read(index: index, decrypted: try decryptor.decrypt(payload, etcdKey: etcdKey))
                case .kms(let name, _, let asked):
                    guard let kms, let kmsReader, let asked else { return .kms(index: index) }
                    switch kms.read(payload: payload, provider: name, asked, etcdKey: etcdKey, keepingPlaintext: keepingPlaintext, reader: kmsReader) {
                    case .read(let staleness, let plaintext, let keyID):
                        return .kmsRead(index: index, staleness: staleness, decrypted: plaintext, keyID: keyID)
                    case .failed(let reason):
                        attempts.append(ReadFailure.Attempt(position: entry.position, reason: .kms(reason)))
                    }
                case .unusable(let failure):
                    attempts.append(ReadFailure.Attempt(position: entry.position, reason: .keyUnusable(failure)))
                }
            } catch {
                attempts.append(ReadFailure.Attempt(position: entry.position, reason: .decryption(error)))
            }
        }
        if attempts.isEmpty { return .failed(encrypted ? .noProviderMatchesPrefix : .plaintextWithoutIdentity) }
        return .failed(.attempts(attempts))
    }

    /// A prefix check by `memcmp`: it runs for every provider entry of every value.
    static func starts(_ value: UnsafeRawBufferPointer, with prefix: [UInt8]) -> Bool {
        guard prefix.count <= value.count else { return false }
        guard !prefix.isEmpty, let base = value.baseAddress else { return true }
        return prefix.withUnsafeBytes { p in p.baseAddress.map { memcmp(base, $0, prefix.count) == 0 } ?? true }
    }
}
