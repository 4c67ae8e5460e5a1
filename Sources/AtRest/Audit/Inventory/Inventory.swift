import AtRestDump
import AtRestEncryption
import AtRestIndex

/// What an index holds, counted: the result of `atrest stats`.
///
/// Built in one pass over the live entries. Every live key is counted exactly
/// once: outside the prefix, or under it as an object, an exempt key, or an
/// unrecognized one; entries under the prefix also by storage class, resource,
/// and provider/key.
public struct Inventory: Sendable, Encodable, Hashable {
    public var etcdPrefix: String
    public var totals = Totals()
    /// Storage classes of the keys under the prefix, sorted.
    public var storageClasses: [StorageCount] = []
    /// Per resource (exempt keys included, marked), sorted by resource name.
    public var resources: [ResourceCount] = []

    public struct Totals: Sendable, Codable, Hashable {
        public var keys = 0
        public var bytes: UInt64 = 0
        public var underPrefix = 0
        public var outsidePrefix = 0
        public var outsidePrefixBytes: UInt64 = 0
        /// Keys under the prefix that the apiserver never encrypts.
        public var exempt = 0
        /// Keys under the prefix that match no known layout.
        public var unrecognized = 0
        public var plaintext = 0
        public var encrypted = 0
    }

    public struct StorageCount: Sendable, Encodable, Hashable {
        public var storedAs: StoredAs
        public var keys: Int
        public var bytes: UInt64

        private enum CodingKeys: String, CodingKey { case label, keys, bytes }
        private enum LabelKeys: String, CodingKey { case storage, kind, kmsVersion, keyName, keyID, unknownProvider }

        /// The stats JSON schema: `label` is `storage` (`plaintext`, `encrypted`), `kind` (the
        /// encoding or the provider), `kmsVersion`, `keyName`, `keyID` and `unknownProvider`.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(keys, forKey: .keys)
            try container.encode(bytes, forKey: .bytes)
            var label = container.nestedContainer(keyedBy: LabelKeys.self, forKey: .label)
            switch storedAs {
            case .plaintext(let encoding):
                try label.encode("plaintext", forKey: .storage)
                try label.encode((encoding ?? .other).rawValue, forKey: .kind)
            case .encrypted(let format, let keyName, let keyID):
                try label.encode("encrypted", forKey: .storage)
                try label.encode(format.provider, forKey: .kind)
                if case .kms(let version) = format { try label.encode(version.rawValue, forKey: .kmsVersion) }
                try label.encodeIfPresent(keyName, forKey: .keyName)
                try label.encodeIfPresent(keyID, forKey: .keyID)
            case .unknownProvider(let provider):
                try label.encode("encrypted", forKey: .storage)
                try label.encode(provider, forKey: .kind)
            }
            try label.encode(storedAs.isUnknownProvider, forKey: .unknownProvider)
        }
    }

    public struct ResourceCount: Sendable, Codable, Hashable {
        /// `secrets`, `deployments.apps`; `(unrecognized)` for keys of no known layout.
        public var resource: String
        public var exempt: Bool
        public var keys: Int
        public var plaintext: Int
        public var encrypted: Int
        public var bytes: UInt64
    }

    /// Counts the live entries of `index`.
    public init(index: Index, resolver: ResourceResolver) throws {
        etcdPrefix = String(decoding: resolver.prefix, as: UTF8.self)
        var classes: [StoredAs: (keys: Int, bytes: UInt64)] = [:]
        var resources: [String: ResourceCount] = [:]
        var totals = Totals()
        try index.forEachLive { entry in
            let size = UInt64(entry.key.count + entry.value.count)
            totals.keys += 1
            totals.bytes += size
            guard let kind = resolver.resolve(entry.key) else {
                totals.outsidePrefix += 1
                totals.outsidePrefixBytes += size
                return true
            }
            totals.underPrefix += 1
            let storedAs = StoredAs(StorageClassifier.classify(entry.value))
            classes[storedAs, default: (0, 0)].keys += 1
            classes[storedAs, default: (0, 0)].bytes += size
            let isEncrypted = !storedAs.isPlaintext
            if isEncrypted { totals.encrypted += 1 } else { totals.plaintext += 1 }

            let name: String
            var exempt = false
            switch kind {
            case .object(let key): name = key.groupResource.description
            case .exempt(let key):
                name = key.groupResource.description
                exempt = true
                totals.exempt += 1
            case .unrecognized:
                name = "(unrecognized)"
                totals.unrecognized += 1
            }
            var count = resources[name] ?? ResourceCount(resource: name, exempt: exempt, keys: 0, plaintext: 0, encrypted: 0, bytes: 0)
            count.keys += 1
            count.bytes += size
            if isEncrypted { count.encrypted += 1 } else { count.plaintext += 1 }
            resources[name] = count
            return true
        }
        self.totals = totals
        storageClasses = classes.map { StorageCount(storedAs: $0.key, keys: $0.value.keys, bytes: $0.value.bytes) }
            .sorted { $0.storedAs < $1.storedAs }
        self.resources = resources.values.sorted { $0.resource < $1.resource }
    }
}
