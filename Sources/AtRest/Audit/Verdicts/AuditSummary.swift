import AtRestEncryption

/// Everything `atrest audit` reports, accumulated entry by entry so that memory
/// stays bounded by the number of resources and keys, not of entries (only the
/// undecryptable entries are kept one by one: they are the findings).
public struct AuditSummary: Sendable, Hashable {
    /// Entries under the prefix that got a verdict.
    public var audited = 0
    public var byVerdict: [Verdict: Int] = [:]
    /// Per resource (`secrets`, `deployments.apps`), per verdict.
    public var byResource: [String: [Verdict: Int]] = [:]
    /// Per stored provider and key, per verdict.
    public var byStorage: [StorageKey: [Verdict: Int]] = [:]
    /// Every undecryptable entry, sorted by key when reported.
    public var undecryptable: [EntryAudit] = []
    /// Entries read only through `identity` while a rule covers their resource:
    /// unreadable once `identity` is removed. Per resource.
    public var readByIdentity: [String: Int] = [:]
    /// A few of those keys, for the report.
    public var readByIdentityExamples: [String] = []
    /// Entries read by each configured key that is not its rule's writing key.
    public var readByKey: [ConfiguredKey: Int] = [:]

    /// A stored provider/key combination.
    public struct StorageKey: Sendable, Hashable, Comparable {
        public var storage: String
        public var provider: String
        public var keyName: String?
        public var kmsVersion: String?

        public static func < (a: StorageKey, b: StorageKey) -> Bool {
            (a.storage, a.provider, a.kmsVersion ?? "", a.keyName ?? "") < (b.storage, b.provider, b.kmsVersion ?? "", b.keyName ?? "")
        }
    }

    /// A key of the configuration, named as the operator would remove it.
    public struct ConfiguredKey: Sendable, Hashable, Comparable {
        public var provider: String
        public var keyName: String

        public static func < (a: ConfiguredKey, b: ConfiguredKey) -> Bool { (a.provider, a.keyName) < (b.provider, b.keyName) }
    }

    static let exampleLimit = 20

    public init() {}

    mutating func add(_ entry: EntryAudit, covered: Bool) {
        audited += 1
        byVerdict[entry.verdict, default: 0] += 1
        let resource = entry.group.isEmpty ? entry.resource : "\(entry.resource).\(entry.group)"
        byResource[resource, default: [:]][entry.verdict, default: 0] += 1
        let storageKey = StorageKey(storage: entry.storage, provider: entry.provider,
                                    keyName: entry.keyName, kmsVersion: entry.kmsVersion)
        byStorage[storageKey, default: [:]][entry.verdict, default: 0] += 1
        if entry.verdict == .undecryptable { undecryptable.append(entry) }
        guard let readBy = entry.readBy else { return }
        if readBy.providerType == "identity" && covered {
            readByIdentity[resource, default: 0] += 1
            if readByIdentityExamples.count < Self.exampleLimit { readByIdentityExamples.append(entry.key) }
        }
        if let keyName = readBy.keyName, readBy.providerType != "identity" {
            readByKey[ConfiguredKey(provider: readBy.providerType, keyName: keyName), default: 0] += 1
        }
    }
}
