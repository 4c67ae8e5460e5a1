import AtRestEncryption
import AtRestIndex

/// One control-plane host's `--encryption-provider-config`.
public struct HostConfiguration: Sendable {
    /// How the report names the host (the file as given on the command line).
    public var name: String
    public var configuration: EncryptionConfiguration

    public init(name: String, configuration: EncryptionConfiguration) {
        self.name = name
        self.configuration = configuration
    }
}

/// One difference between two hosts' configurations for one resource.
public struct HostFinding: Sendable, Hashable, Comparable {
    public enum Severity: String, Sendable, Hashable, Comparable, CaseIterable {
        /// A host writes something another host cannot read: behind a load balancer, a
        /// read can fail depending on which apiserver serves it.
        case unsafe
        /// A difference that does not make writes unreadable (order of later providers,
        /// a read-only key one host lacks, hosts writing differently).
        case note

        public static func < (a: Severity, b: Severity) -> Bool {
            (allCases.firstIndex(of: a) ?? 0) < (allCases.firstIndex(of: b) ?? 0)
        }
    }

    public var severity: Severity
    /// The resource string probed: `secrets`, `deployments.apps`, or a wildcard (`*.apps`, `*.`, `*.*`)
    /// standing for every resource that only the wildcard matches.
    public var resource: String
    /// The host whose writes (unsafe) or whose list (note) the finding is about.
    public var host: String
    /// The other host.
    public var otherHost: String
    /// Names providers and keys, never key material.
    public var message: String

    public static func < (a: HostFinding, b: HostFinding) -> Bool {
        (a.severity, a.resource, a.host, a.otherHost, a.message) < (b.severity, b.resource, b.host, b.otherHost, b.message)
    }
}

/// Entries of the data that some host cannot read while another can.
public struct HostDataEntry: Sendable, Hashable {
    public var key: String
    public var resource: String
    public var namespace: String?
    public var name: String
    /// Host → why it cannot read the entry, for every host that cannot.
    public var unreadableBy: [String: ReadFailure]
}

/// The data half of `--compare`: every entry under every host's configuration.
public struct HostDataCheck: Sendable {
    public var audited = 0
    public var outsidePrefix = 0
    /// Entries some host cannot read and another can: the `inconsistentLimit` smallest
    /// keys, sorted. `inconsistentCount` counts them all.
    public var inconsistent: [HostDataEntry] = []
    /// Every entry some host cannot read and another can.
    public var inconsistentCount = 0
    /// How many of them are kept one by one (a host missing a key makes millions).
    public static let inconsistentLimit = AuditSummary.findingLimit
    /// Per host, per resource: entries it cannot read that another host can.
    public var unreadableByHost: [String: [String: Int]] = [:]
    /// Entries no host can read, per resource (the audit's finding).
    public var unreadableEverywhere: [String: Int] = [:]
}

/// Whether several control-plane hosts' configurations can serve the same etcd.
///
/// Every apiserver of a cluster reads what every other one writes, so the configurations
/// must be identical or, during a rolling change, at least able to read each other's
/// writes (the Kubernetes documentation's rotation steps exist for this reason: the new
/// key is added for reading on every host before any host writes with it).
public struct HostComparison: Sendable {
    public var hosts: [String]
    /// Every resource string compared, sorted.
    public var resources: [String]
    /// Whether every host has the same providers, keys (same secret bytes) and order for every resource.
    public var identical: Bool
    /// Sorted: unsafe first.
    public var findings: [HostFinding]
    /// With an input only.
    public var data: HostDataCheck?

    /// Unsafe when a host writes something another cannot read, or (with an input) an
    /// entry is readable on one host and not on another.
    public var isSafe: Bool {
        !findings.contains { $0.severity == .unsafe } && (data?.inconsistentCount ?? 0) == 0
    }

    /// Compares the configurations only. `dataResources` adds resources seen in the data to
    /// the resource strings of every rule of every host.
    public init(hosts: [HostConfiguration], dataResources: Set<GroupResource> = [], data: HostDataCheck? = nil) {
        self.hosts = hosts.map(\.name)
        self.data = data
        var probes: [GroupResource: String] = [:]
        for host in hosts {
            for rule in host.configuration.rules {
                for string in rule.resources {
                    let parsed = GroupResource(parsing: string)
                    probes[parsed] = parsed.group.isEmpty && parsed.resource == "*" ? "*." : parsed.description
                }
            }
        }
        for resource in dataResources where probes[resource] == nil { probes[resource] = resource.description }
        resources = probes.values.sorted()
        var findings: [HostFinding] = []
        var identical = true
        for (probe, label) in probes {
            let lists = hosts.map { ReadList($0.configuration.providers(forGroup: probe.group, resource: probe.resource)) }
            for i in lists.indices {
                for j in lists.indices where j > i {
                    let pair = Self.compare(lists[i], hosts[i].name, lists[j], hosts[j].name, resource: label)
                    if !pair.identical { identical = false }
                    findings += pair.findings
                }
            }
        }
        self.identical = identical
        self.findings = findings.sorted()
    }

    /// Runs every entry under every host's configuration, then compares the configurations
    /// for the rule resources and the resources found in the data.
    public static func run(hosts: [HostConfiguration], index: Index, resolver: ResourceResolver = ResourceResolver()) throws -> HostComparison {
        var accumulator = DataAccumulator(hosts: hosts, resolver: resolver)
        try index.forEachLive { entry in
            accumulator.add(key: entry.key, value: entry.value)
            return true
        }
        return accumulator.finish()
    }

    /// The same for entries held in memory (tests).
    public static func run(hosts: [HostConfiguration], entries: [(key: [UInt8], value: [UInt8])],
                           resolver: ResourceResolver = ResourceResolver()) -> HostComparison {
        var accumulator = DataAccumulator(hosts: hosts, resolver: resolver)
        for entry in entries.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            entry.key.withUnsafeBytes { key in entry.value.withUnsafeBytes { accumulator.add(key: key, value: $0) } }
        }
        return accumulator.finish()
    }

    private struct DataAccumulator {
        let hosts: [HostConfiguration]
        let auditors: [EntryAuditor]
        var check = HostDataCheck()
        var resources = Set<GroupResource>()

        init(hosts: [HostConfiguration], resolver: ResourceResolver) {
            self.hosts = hosts
            auditors = hosts.map { EntryAuditor(configuration: $0.configuration, resolver: resolver) }
        }

        mutating func add(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
            let audits = auditors.compactMap { $0.audit(key: key, value: value) }
            guard let first = audits.first, audits.count == auditors.count else {
                check.outsidePrefix += 1
                return
            }
            check.audited += 1
            let groupResource = GroupResource(group: first.group, resource: first.resource)
            let resource = groupResource.description
            if first.verdict != .exempt { resources.insert(groupResource) }
            var unreadable: [String: ReadFailure] = [:]
            for (host, audit) in zip(hosts, audits) where audit.verdict == .undecryptable { unreadable[host.name] = audit.failure }
            if unreadable.isEmpty { return }
            if unreadable.count == hosts.count {
                check.unreadableEverywhere[resource, default: 0] += 1
                return
            }
            for host in unreadable.keys { check.unreadableByHost[host, default: [:]][resource, default: 0] += 1 }
            check.inconsistentCount += 1
            // Entries come in key order: the first ones are the smallest keys.
            guard check.inconsistent.count < HostDataCheck.inconsistentLimit else { return }
            check.inconsistent.append(HostDataEntry(key: first.key, resource: resource, namespace: first.namespace,
                                                    name: first.name, unreadableBy: unreadable))
        }

        mutating func finish() -> HostComparison {
            check.inconsistent.sort { $0.key < $1.key }
            return HostComparison(hosts: hosts, dataResources: resources, data: check)
        }
    }

    /// One resource's providers flattened as the read loop sees them: one element per key.
    struct ReadList {
        let elements: [ReadElement]
        init(_ providers: [ProviderConfiguration]) {
            elements = ReadOrder(providers).elements
        }
        /// The first provider's first key: what this host writes.
        var writer: ReadElement { elements[0] }
        func reads(_ element: ReadElement) -> Bool { elements.contains { $0.same(as: element) } }
    }

    typealias ReadElement = ReadOrder.Element

    /// Compares two hosts' lists for one resource, in both directions.
    static func compare(_ a: ReadList, _ aName: String, _ b: ReadList, _ bName: String,
                        resource: String) -> (identical: Bool, findings: [HostFinding]) {
        let identical = a.elements.count == b.elements.count && zip(a.elements, b.elements).allSatisfy { $0.same(as: $1) }
        if identical { return (true, []) }
        var findings: [HostFinding] = []
        func add(_ severity: HostFinding.Severity, _ host: String, _ other: String, _ message: String) {
            findings.append(HostFinding(severity: severity, resource: resource, host: host, otherHost: other, message: message))
        }
        let aReadsB = a.reads(b.writer), bReadsA = b.reads(a.writer)
        for (writer, writerName, reader, readerName, ok) in [(a, aName, b, bName, bReadsA), (b, bName, a, aName, aReadsB)] where !ok {
            add(.unsafe, writerName, readerName,
                "\(writerName) writes with \(writer.writer.label), which \(readerName) cannot read: \(why(reader, cannotRead: writer.writer))")
        }
        if aReadsB && bReadsA && !a.writer.same(as: b.writer) {
            add(.note, aName, bName,
                "\(aName) writes with \(a.writer.label), \(bName) with \(b.writer.label): each reads the other's writes, "
                + "but what one writes is stale on the other until every host writes alike")
        }
        // Read-only elements one host has and the other lacks (writers are covered above).
        var reportedSecretMismatch = Set<String>()
        for (list, name, other, otherName) in [(a, aName, b, bName), (b, bName, a, aName)] {
            for element in list.elements.dropFirst() where !other.reads(element) {
                // The other host writes under this name with other bytes, and this host cannot
                // read that: the unsafe finding already names the key.
                if element.sameProvider(as: other.writer) && element.name == other.writer.name && !list.reads(other.writer) { continue }
                if element.secret != nil, other.elements.contains(where: { $0.sameProvider(as: element) && $0.name == element.name }) {
                    if reportedSecretMismatch.insert(element.label).inserted {
                        add(.note, aName, bName,
                            "\(element.label) has different secret bytes on \(aName) and \(bName): values written with either copy "
                            + "are readable only by the host that has it")
                    }
                    continue
                }
                add(.note, name, otherName,
                    "\(name) also lists \(element.label) for reading, \(otherName) does not: "
                    + (element.isIdentity ? "plaintext entries" : "entries stored with it") + " are readable only by \(name)")
            }
        }
        if findings.isEmpty {
            add(.note, aName, bName,
                "\(aName) and \(bName) list the same providers and keys in a different order after the first: "
                + "reads try them in order, so only which one is tried first differs")
        }
        return (false, findings)
    }

    /// Why `reader` cannot read values written by `element`.
    static func why(_ reader: ReadList, cannotRead element: ReadElement) -> String {
        switch element.format {
        case nil:
            return "its list has no identity provider, so plaintext is unreadable there"
        case .kms(let version)?:
            if let other = reader.elements.first(where: { $0.sameProvider(as: element) && $0.name == element.name }),
               case .kms(let otherVersion)? = other.format {
                return "it lists kms provider \"\(element.name ?? "")\" with API version \(otherVersion.rawValue), not \(version.rawValue)"
            }
            return "it does not list kms provider \"\(element.name ?? "")\""
        case .keyed?:
            if reader.elements.contains(where: { $0.sameProvider(as: element) && $0.name == element.name }) {
                return "its \(element.label) has different secret bytes"
            }
            return "it does not list \(element.label)"
        }
    }
}

extension ReadOrder.Element {
    /// Same provider, key name (KMS: provider name and API version) and secret bytes.
    func same(as other: ReadOrder.Element) -> Bool {
        guard format == other.format, name == other.name else { return false }
        switch (secret, other.secret) {
        case (nil, nil): return true
        case (let a?, let b?): return a.hasSameBytes(as: b)
        default: return false
        }
    }

    /// Whether both are identity, both KMS, or both the same keyed provider.
    func sameProvider(as other: ReadOrder.Element) -> Bool {
        switch (format, other.format) {
        case (nil, nil), (.kms?, .kms?): return true
        case (.keyed(let a)?, .keyed(let b)?): return a == b
        default: return false
        }
    }

    /// `identity`, `aesgcm key "key1"`, `kms v2 provider "vault"`, as findings name it.
    var label: String {
        switch format {
        case nil: "identity"
        case .kms(let version)?: "kms \(version.rawValue) provider \"\(name ?? "")\""
        case .keyed(let provider)?: "\(provider.rawValue) key \"\(name ?? "")\""
        }
    }
}
