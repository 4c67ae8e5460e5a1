import AtRestAudit
import AtRestDump
import AtRestEncryption
import AtRestIndex

/// One revision of a key in a snapshot's history, as `inspect` lists it.
public struct InspectedRevision: Sendable, Hashable {
    public var revision: Revision
    public var tombstone: Bool
    /// `plaintext protobuf`, `aesgcm key1` (`StoredAs.summary`); empty for a tombstone.
    public var storage: String
    public var valueSize: Int

    public init(revision: Revision, tombstone: Bool, storage: String, valueSize: Int) {
        self.revision = revision
        self.tombstone = tombstone
        self.storage = storage
        self.valueSize = valueSize
    }

    /// Summarises a revision viewed in the index (copies nothing but the label).
    public init(_ view: RevisionView) {
        self.init(revision: view.revision, tombstone: view.tombstone,
                  storage: view.tombstone ? "" : StoredAs(StorageClassifier.classify(view.entry.value)).summary,
                  valueSize: view.entry.value.count)
    }
}

/// What `atrest inspect` shows for one key: the stored bytes, annotated, and
/// everything atrest knows about them.
///
/// Sections, in order: the key and how the value is stored; the annotated hex
/// dump (`hexdump -C` lines with each region's label beside the line where it
/// starts) and its legend; etcd's metadata; the resource the key stores; the
/// key's history (snapshots); with a configuration, the rule's providers and the
/// audit verdict; with `decrypt`, the plaintext's envelope.
///
/// Secrets stay secret: the decrypted data is reduced to sizes unless `reveal`
/// is set, and key material never appears (the configuration's keys are only
/// ever named).
public struct InspectReport {
    public var entry: KeyValue
    /// The revision shown, when it was picked from the history (`--revision`).
    public var shownRevision: Revision?
    /// Every revision of the key in the input; `nil` when the input has no history.
    public var history: [InspectedRevision]?
    public var resolver: ResourceResolver
    public var configuration: EncryptionConfiguration?
    /// Shown beside the configuration (its path).
    public var configurationName: String?
    public var decrypt: Bool
    public var reveal: Bool
    /// The KMS plugins asked (`--kms`), if any: KMS values are then read, not only described.
    public var kms: KMSSession?
    /// `--wide`: text table cells are never cut (`TextTable.cellWidth`).
    public var wide = false

    public init(entry: KeyValue, shownRevision: Revision? = nil, history: [InspectedRevision]? = nil, resolver: ResourceResolver,
                configuration: EncryptionConfiguration? = nil, configurationName: String? = nil, decrypt: Bool = false, reveal: Bool = false) {
        self.entry = entry
        self.shownRevision = shownRevision
        self.history = history
        self.resolver = resolver
        self.configuration = configuration
        self.configurationName = configurationName
        self.decrypt = decrypt
        self.reveal = reveal
    }

    /// `--raw`: exactly what `hexdump -C` prints for the stored value alone.
    public static func raw(_ value: [UInt8]) -> String { HexDump.canonical(value) }

    /// Whether `entry` is a Secret stored in plaintext: its bytes are its data, so they are shown only
    /// when asked for (`--reveal`), as decrypted data is.
    public static func isPlaintextSecret(_ entry: KeyValue, resolver: ResourceResolver) -> Bool {
        guard case .plaintext(let encoding) = StorageClassifier.classify(entry.value), encoding != .empty,
              case .object(let key)? = resolver.resolve(entry.key) else { return false }
        return key.groupResource.group.isEmpty && key.groupResource.resource == "secrets"
    }

    /// The stored bytes are withheld: a plaintext Secret without `reveal`.
    private var withholdsBytes: Bool { !reveal && Self.isPlaintextSecret(entry, resolver: resolver) }

    /// Key and provider names of the configuration: they resolve names with `:` in the annotation.
    private var knownNames: [String] {
        configuration?.rules.flatMap { rule in
            rule.providers.flatMap { provider -> [String] in
                if case .kms(let kms) = provider { return [kms.name] }
                return provider.keys.map(\.name)
            }
        } ?? []
    }

    public func text() -> String {
        var out = ""
        let annotation = ValueAnnotation.annotate(entry.value, knownNames: knownNames)
        out += "key       \(EscapedBytes.string(entry.key))\n"
        if let shownRevision {
            let live = history?.last.map { $0.tombstone ? "deleted at revision \($0.revision.main)" : "live revision \($0.revision.main)" } ?? ""
            out += "revision  \(shownRevision.main) from the history\(live.isEmpty ? "" : " (\(live))")\n"
        }
        out += "stored    \(annotation.layout.terminal), \(Self.bytes(entry.value.count))\n"
        out += "\n"
        if withholdsBytes {
            out += "(a Secret stored in plaintext: its bytes are its data, not shown; --reveal shows them)\n"
        } else {
            out += Self.annotatedDump(entry.value, annotation)
        }
        out += legend(annotation)
        out += metadata()
        out += resource()
        if let history { out += Self.historyText(history, shown: shownRevision?.main ?? entry.modRevision, wide: wide) }
        if let configuration { out += self.configurationText(configuration) }
        return TerminalText.document(out)
    }

    // MARK: Dump

    /// The `hexdump -C` lines, each region's label beside the line where it starts.
    /// Several regions starting on one line get one line each, below it.
    static func annotatedDump(_ value: [UInt8], _ annotation: ValueAnnotation) -> String {
        let lines = HexDump.lines(value)
        guard !lines.isEmpty else { return "(empty value: no bytes to show)\n" }
        var labels = [[String]](repeating: [], count: lines.count)
        for region in annotation.regions {
            guard let index = lines.firstIndex(where: { $0.kind != .end && $0.range.contains(region.range.lowerBound) }) else { continue }
            let indent = String(repeating: "  ", count: region.depth)
            labels[index].append("  <- \(indent)\(region.label.terminal) (\(bytes(region.range.count)) @ 0x\(String(region.range.lowerBound, radix: 16)))")
        }
        let blank = String(repeating: " ", count: HexDump.fullLineWidth)
        var out = ""
        for (index, line) in lines.enumerated() {
            out += line.text
            for (number, label) in labels[index].enumerated() {
                if number == 0 {
                    out += String(repeating: " ", count: max(0, HexDump.fullLineWidth - line.text.count)) + label + "\n"
                } else {
                    out += blank + label + "\n"
                }
            }
            if labels[index].isEmpty { out += "\n" }
        }
        return out
    }

    private func legend(_ annotation: ValueAnnotation) -> String {
        guard !annotation.regions.isEmpty || !annotation.problems.isEmpty else { return "" }
        var out = "\nlegend\n"
        var table = TextTable(["  offset", "bytes", "region", "what"].map { ($0, .left) })
        for region in annotation.regions {
            table.add(["  " + HexDump.offsetText(region.range.lowerBound), "\(region.range.count)",
                       String(repeating: "  ", count: region.depth) + region.label, region.detail])
        }
        out += table.render(indent: "", wide: wide)
        for problem in annotation.problems { out += "  note: \(problem.terminal)\n" }
        return out
    }

    // MARK: Metadata and resource

    private func metadata() -> String {
        var out = "\nmetadata\n"
        out += "  create revision  \(entry.createRevision)\n"
        out += "  mod revision     \(entry.modRevision)\n"
        out += "  version          \(entry.version)\n"
        out += "  lease            \(entry.lease == 0 ? "0 (none)" : "\(entry.lease) (\(Self.etcdLeaseID(entry.lease)))")\n"
        return out
    }

    /// A lease ID as `etcdctl lease list` prints it: Go's `%016x` of the int64
    /// (etcdctl `ctlv3/command/printer_simple.go`, `Leases`).
    static func etcdLeaseID(_ lease: Int64) -> String {
        // Go pads to the width with zeros after the sign: the sign counts towards the 16.
        let digits = String(lease.magnitude, radix: 16)
        let width = lease < 0 ? 15 : 16
        return (lease < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    private func resource() -> String {
        var out = "\nresource\n"
        switch resolver.resolve(entry.key) {
        case nil:
            out += "  outside the etcd prefix \(EscapedBytes.string(resolver.prefix)): not a Kubernetes object\n"
        case .unrecognized?:
            out += "  under \(EscapedBytes.string(resolver.prefix)) but not a key layout atrest knows\n"
        case .object(let key)?, .exempt(let key)?:
            out += "  group/resource   \(key.groupResource.group.isEmpty ? "(core)" : key.groupResource.group.terminal)/\(key.groupResource.resource.terminal)\n"
            out += "  namespace        \(key.namespace.terminal(or: "(cluster-scoped)"))\n"
            out += "  name             \(key.name.terminal)\n"
            if case .exempt? = resolver.resolve(entry.key) {
                out += "  note             the apiserver writes this key without any transformer: never encrypted\n"
            }
        }
        return out
    }

    public static func historyText(_ history: [InspectedRevision], shown: Int64, wide: Bool = false) -> String {
        var out = "\nhistory   \(history.count) revision\(history.count == 1 ? "" : "s") of this key in the input\n"
        var table = TextTable(["  revision", "change", "bytes", "storage"].map { ($0, .left) })
        for revision in history {
            let marker = revision.revision.main == shown && !revision.tombstone ? "  * " : "    "
            let number = revision.revision.sub == 0 ? "\(revision.revision.main)" : "\(revision.revision.main).\(revision.revision.sub)"
            table.add([marker + number, revision.tombstone ? "delete" : "put", revision.tombstone ? "-" : "\(revision.valueSize)",
                       revision.tombstone ? "(tombstone)" : revision.storage])
        }
        out += table.render(indent: "", wide: wide)
        out += "  (* = shown)\n"
        return TerminalText.document(out)
    }

    // MARK: Configuration, verdict, plaintext

    private func configurationText(_ configuration: EncryptionConfiguration) -> String {
        var out = "\nconfiguration\(configurationName.map { "  \($0.terminal)" } ?? "")\n"
        let auditor = EntryAuditor(configuration: configuration, resolver: resolver, kms: kms)
        let (audit, outcome) = entry.key.withUnsafeBytes { key in
            entry.value.withUnsafeBytes { value in
                (auditor.audit(key: key, value: value), decrypt ? auditor.readPlaintext(key: key, value: value) : nil)
            }
        }
        guard let audit else {
            out += "  outside the etcd prefix: no rule applies, no verdict\n"
            return out
        }
        let groupResource = audit.groupResource
        if audit.verdict != .exempt {
            out += "  providers for \(groupResource.description.terminal), in order (the first writes):\n"
            for (index, provider) in configuration.providers(forGroup: audit.group, resource: audit.resource).enumerated() {
                var line = "    \(index + 1). \(provider.typeName)"
                if case .kms(let kms) = provider { line += " \(kms.apiVersion.rawValue) \"\(kms.name.terminal)\"" }
                let names = provider.keys.map { "\"\($0.name.terminal)\"" }
                if !names.isEmpty { line += " keys \(names.joined(separator: ", "))" }
                out += line + "\n"
            }
        }
        out += "  verdict   \(audit.verdict.rawValue): \(audit.reasonText.terminal)\n"
        if shownRevision != nil {
            out += "            (for this older revision, as if it were live)\n"
        }
        if decrypt, let outcome { out += plaintextText(outcome) }
        return out
    }

    private func plaintextText(_ outcome: ReadOutcome) -> String {
        var out = "\nplaintext\n"
        switch outcome {
        case .unreadable(let failure):
            out += "  cannot be read with this configuration:\n"
            for reason in failure.lines { out += "    \(reason.terminal)\n" }
        case .kms(let position):
            out += "  stored by KMS provider \"\(position.keyName.terminal(or: ""))\": its plugin is not asked, so atrest cannot decrypt it (--kms asks it)\n"
            out += kmsText()
        case .plaintext(let secret, _):
            out += "  stored unencrypted (no decryption needed)\n"
            out += envelopeText(secret)
        case .decrypted(let secret, let position) where position.format?.isKMS == true:
            out += "  decrypted with the DEK from KMS provider \"\(position.keyName.terminal(or: ""))\"'s plugin (provider \(position.provider + 1))\n"
            out += kmsText()
            out += envelopeText(secret)
        case .decrypted(let secret, let position):
            out += "  decrypted with \(position.providerType) key \"\(position.keyName.terminal(or: ""))\" (provider \(position.provider + 1), key \(position.key + 1))\n"
            out += envelopeText(secret)
        }
        return out
    }

    /// What a KMS envelope says without the KMS: v2's key ID, DEK source type,
    /// annotation names and sizes, and a digest of the wrapped DEK (tells values
    /// sharing one DEK apart without revealing it); v1's wrapped-DEK digest.
    private func kmsText() -> String {
        var out = ""
        switch StorageClassifier.classify(entry.value) {
        case .encrypted(.kmsV2(_, let object?)):
            out += "  keyID                 \(EscapedBytes.string(Array(object.keyID.utf8)))\n"
            let type: String
            switch object.dekSourceType {
            case .aesGCMKey: type = "AES_GCM_KEY (the wrapped source is the DEK)"
            case .hkdfSHA256XNonceAESGCMSeed: type = "HKDF_SHA256_XNONCE_AES_GCM_SEED (the wrapped source is a seed)"
            case .unknown(let raw): type = "unknown (\(raw))"
            }
            out += "  DEK source type       \(type)\n"
            out += "  sha256(wrapped DEK)   \(object.encryptedDEKSourceSHA256.hexString)\n"
            if object.annotations.isEmpty {
                out += "  annotations           (none)\n"
            } else {
                for name in object.annotations.keys.sorted() {
                    out += "  annotation            \(EscapedBytes.string(Array(name.utf8))) (\(Self.bytes(object.annotations[name]?.count ?? 0)) value)\n"
                }
            }
        case .encrypted(.kmsV1):
            if let region = ValueAnnotation.annotate(entry.value, knownNames: knownNames).regions.first(where: { $0.label == "encrypted DEK" }) {
                out += "  sha256(wrapped DEK)   \(SHA256.hash(Array(entry.value[region.range])).hexString)\n"
            }
        default:
            out += "  the KMS envelope is malformed\n"
        }
        return out
    }

    private func envelopeText(_ secret: SecretBytes) -> String {
        // The only place the plaintext leaves its SecretBytes; it is reduced to sizes below unless --reveal.
        var plaintext = secret.withUnsafeBytes { Array($0) }
        defer { SecretBytes.wipe(&plaintext) }
        let envelope = ObjectEnvelope(decoding: plaintext)
        var out = "  encoding      \(envelope.encoding), \(Self.bytes(plaintext.count))\n"
        if let apiVersion = envelope.apiVersion { out += "  apiVersion    \(apiVersion.terminal)\n" }
        if let kind = envelope.kind { out += "  kind          \(kind.terminal)\n" }
        if let name = envelope.name { out += "  name          \(name.terminal)\n" }
        if let namespace = envelope.namespace { out += "  namespace     \(namespace.terminal)\n" }
        if let problem = envelope.problem { out += "  note          \(problem.terminal)\n" }
        if let resolved = resolver.resolve(entry.key), case .object(let key) = resolved,
           envelope.name != nil, envelope.name != key.name || envelope.namespace != key.namespace {
            out += "  WARNING       the object's name/namespace differ from its etcd key: the value was written under another key\n"
        }
        for part in envelope.parts {
            if reveal {
                out += "  \(part.name.terminal): \(Self.bytes(part.size)): \(EscapedBytes.string(part.contents))\n"
            } else {
                out += "  \(part.name.terminal): \(Self.bytes(part.size)) (redacted; --reveal shows it)\n"
            }
        }
        if reveal {
            out += "\n  decrypted value (hexdump -C):\n"
            out += HexDump.canonical(plaintext)
        }
        return out
    }

    static func bytes(_ count: Int) -> String { count == 1 ? "1 byte" : "\(count) bytes" }
}
