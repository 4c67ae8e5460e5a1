import AtRestDump
import AtRestEncryption
import AtRestIndex

/// How much each key has been used, as far as the input shows: every revision
/// of a snapshot (each put is one encryption), or the live entries of an
/// etcdctl export (a lower bound).
///
/// aesgcm draws a random 12-byte nonce per write, so a key must be rotated long
/// before nonces may repeat: the Kubernetes documentation ("Encrypting
/// Confidential Data at Rest", providers table) says to rotate aesgcm keys every
/// 200,000 writes; NIST SP 800-38D bounds random-nonce GCM at 2^32 invocations
/// per key. KMS v2 instead reuses one DEK (or seed) per key ID per apiserver
/// process, so what matters there is how many distinct DEKs each key ID wrapped.
public struct KeyUsage: Sendable, Hashable {
    /// The Kubernetes documentation's rotation threshold for aesgcm keys.
    public static let aesgcmRotationWrites = 200_000
    /// The random-nonce bound for AES-GCM (NIST SP 800-38D §8.3).
    public static let aesgcmNonceBound: UInt64 = 1 << 32
    /// Beyond this many distinct DEKs per key ID, counting stops (memory stays bounded).
    public static let distinctDEKLimit = 1_000_000

    /// Whether the counts cover every revision (a snapshot) or only the live entries.
    public var coversHistory: Bool
    /// Writes per aesgcm key name.
    public var aesgcmWrites: [String: Int] = [:]
    /// Writes per key of the other providers, for completeness (`aescbc key1`, `secretbox k`).
    public var otherWrites: [String: Int] = [:]
    /// KMS v2: per provider name and key ID, the values written and the distinct wrapped DEKs/seeds.
    public var kmsV2: [KMSv2KeyID: KMSv2Usage] = [:]

    public struct KMSv2KeyID: Sendable, Hashable, Comparable {
        public var providerName: String
        public var keyID: String
        public static func < (a: KMSv2KeyID, b: KMSv2KeyID) -> Bool { (a.providerName, a.keyID) < (b.providerName, b.keyID) }
    }

    public struct KMSv2Usage: Sendable, Hashable {
        public var values = 0
        public var distinctDEKs = 0
        /// True when `distinctDEKs` stopped counting at `distinctDEKLimit`.
        public var capped = false
    }

    /// aesgcm keys at or past the rotation threshold.
    public var keysToRotate: [(keyName: String, writes: Int)] {
        aesgcmWrites.filter { $0.value >= Self.aesgcmRotationWrites }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Counts over the index's history when it has one, else over its live entries.
    /// With a configuration, a key name is the longest configured name whose prefix
    /// the value carries (names may contain `:`); without, the text up to the next `:`.
    public init(index: Index, configuration: EncryptionConfiguration? = nil) throws {
        var configuredPrefixes: [(provider: KeyedProvider, name: String, prefix: [UInt8])] = []
        for rule in configuration?.rules ?? [] {
            for element in ReadOrder(rule.providers).elements {
                guard case .keyed(let keyed)? = element.format, let name = element.name else { continue }
                configuredPrefixes.append((keyed, name, element.prefix))
            }
        }
        configuredPrefixes.sort { $0.prefix.count > $1.prefix.count }
        coversHistory = index.provenance.counts.revisions > 0
        var seen: [KMSv2KeyID: Set<[UInt8]>] = [:]
        var usage = self
        func count(_ value: UnsafeRawBufferPointer) {
            guard case .encrypted(let envelope) = StorageClassifier.classify(value) else { return }
            switch envelope {
            case .keyed(let provider, let guessed):
                let name = configuredPrefixes.first { $0.provider == provider && value.starts(with: $0.prefix) }?.name ?? guessed ?? ""
                if provider == .aesgcm {
                    usage.aesgcmWrites[name, default: 0] += 1
                } else {
                    usage.otherWrites["\(provider.rawValue) \(name)", default: 0] += 1
                }
            case .kmsV2(let name, let object):
                let id = KMSv2KeyID(providerName: name ?? "", keyID: object?.keyID ?? "")
                usage.kmsV2[id, default: KMSv2Usage()].values += 1
                if let digest = object?.encryptedDEKSourceSHA256 {
                    if seen[id, default: []].count < Self.distinctDEKLimit {
                        seen[id, default: []].insert(digest)
                    } else if !seen[id, default: []].contains(digest) {
                        usage.kmsV2[id]?.capped = true
                    }
                }
            case .kmsV1(let name):
                usage.otherWrites["kms v1 \(name ?? "")", default: 0] += 1
            case .unknown:
                break
            }
        }
        if coversHistory {
            // kine: a copy of a revision (sub-revision = the row holding it) is the same
            // write as that revision's own row when the row still exists.
            let kine = index.provenance.inputs.contains { $0.format == .kine }
            var lastRow: (main: Int64, key: [UInt8])?
            try index.forEachRevision { revision in
                guard !revision.tombstone else { return true }
                if kine {
                    if revision.revision.sub == 0 {
                        lastRow = (revision.revision.main, Array(revision.entry.key))
                    } else if let row = lastRow, row.main == revision.revision.main, revision.entry.key.elementsEqual(row.key) {
                        return true
                    }
                }
                count(revision.entry.value)
                return true
            }
        } else {
            try index.forEachLive { entry in
                count(entry.value)
                return true
            }
        }
        for (id, digests) in seen { usage.kmsV2[id]?.distinctDEKs = digests.count }
        self = usage
    }
}

extension KeyUsage: Encodable {
    private enum CodingKeys: String, CodingKey { case coversHistory, aesgcm, otherProviders, kmsV2, aesgcmRotationWrites }
    private struct Writes: Encodable { var key: String; var writes: Int; var rotate: Bool? }
    private struct KMS: Encodable { var provider: String; var keyID: String; var values: Int; var distinctDEKs: Int; var distinctDEKsCapped: Bool }

    /// Sorted arrays, so the JSON is identical from run to run.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(coversHistory, forKey: .coversHistory)
        try container.encode(Self.aesgcmRotationWrites, forKey: .aesgcmRotationWrites)
        try container.encode(aesgcmWrites.sorted { $0.key < $1.key }.map {
            Writes(key: $0.key, writes: $0.value, rotate: $0.value >= Self.aesgcmRotationWrites)
        }, forKey: .aesgcm)
        try container.encode(otherWrites.sorted { $0.key < $1.key }.map { Writes(key: $0.key, writes: $0.value, rotate: nil) },
                             forKey: .otherProviders)
        try container.encode(kmsV2.sorted { $0.key < $1.key }.map {
            KMS(provider: $0.key.providerName, keyID: $0.key.keyID, values: $0.value.values,
                distinctDEKs: $0.value.distinctDEKs, distinctDEKsCapped: $0.value.capped)
        }, forKey: .kmsV2)
    }
}
