import AtRestAudit
import AtRestDump
import AtRestEncryption
import AtRestIndex
import Foundation

/// The renderings of an audit. Every one says the same thing: they are views of one `AuditReport`.
public enum AuditOutputFormat: String, Sendable, CaseIterable {
    case text, json, jsonl
    /// For a ticket or change request (GitHub-flavoured Markdown).
    case markdown
    /// One self-contained page with charts and sortable tables.
    case html
    /// SARIF 2.1.0, for code-scanning dashboards.
    case sarif
    /// JUnit XML, one test case per resource, for CI test views.
    case junit
    /// Prometheus text exposition, for a textfile collector.
    case prometheus

    /// The verdicts whose entries this rendering names one by one, so the audit
    /// must keep them; every other verdict is only counted. Text and JSON list
    /// the undecryptable entries only, so an export with millions of plaintext
    /// entries is audited in bounded memory; the finding-per-entry formats keep
    /// what fails the audit too.
    public func listedVerdicts(failOn: Set<Verdict>) -> Set<Verdict> {
        switch self {
        case .text, .json, .jsonl, .prometheus: return [.undecryptable]
        case .markdown: return [.undecryptable, .unencrypted]
        case .html, .sarif, .junit: return failOn.union([.undecryptable, .unencrypted])
        }
    }
}

/// The `atrest audit` result as a report: one model, rendered as text for the
/// operator, as a versioned JSON document, or as one JSON object per entry.
public struct AuditReport: Sendable {
    public static let apiVersion = StatsReport.apiVersion

    public var provenance: IndexProvenance
    public var configurationPath: String
    public var configurationSHA256: String
    public var etcdPrefix: String
    public var result: AuditResult
    /// The verdicts that fail the audit (`--fail-on`): JUnit fails a resource that has any.
    public var failOn: Set<Verdict> = [.undecryptable, .unencrypted]
    /// With `--history`: earlier revisions not stored as the configuration writes today.
    public var history: HistoryAudit?
    /// With `--history`: writes per key over every revision.
    public var keyUsage: KeyUsage?
    /// The release whose rules the configuration was loaded under (`--kube-version`, `--feature-gates`).
    public var kubernetesRules: KubernetesRules = .newest
    /// With `--kms` or `--kms-key-id`: the KMS providers, their current key IDs and the plugin calls made.
    public var kms: KMSSession?
    /// `--wide`: text table cells are never cut (`TextTable.cellWidth`).
    public var wide = false

    public init(provenance: IndexProvenance, configurationPath: String, configurationSHA256: String, etcdPrefix: String,
                result: AuditResult, history: HistoryAudit? = nil, keyUsage: KeyUsage? = nil) {
        self.provenance = provenance
        self.configurationPath = configurationPath
        self.configurationSHA256 = configurationSHA256
        self.etcdPrefix = etcdPrefix
        self.result = result
        self.history = history
        self.keyUsage = keyUsage
    }

    /// The whole report in `format`; `nil` for `jsonl`, which is written entry by
    /// entry while the audit runs (`jsonLine(_:)`).
    public func render(_ format: AuditOutputFormat) -> String? {
        switch format {
        case .text: return text()
        case .json: return json()
        case .jsonl: return nil
        case .markdown: return markdown()
        case .html: return html()
        case .sarif: return sarif()
        case .junit: return junit()
        case .prometheus: return prometheus()
        }
    }

    // MARK: JSONL

    /// One line of `--output jsonl`: exactly the documented fields, sorted keys.
    public static func jsonLine(_ entry: EntryAudit) -> String {
        var object: [String: JSONValue] = [
            "key": .string(entry.key), "group": .string(entry.group), "resource": .string(entry.resource),
            "namespace": entry.namespace.map(JSONValue.string) ?? .null, "name": .string(entry.name),
            "storage": .string(entry.storedAs.storageName), "provider": .string(entry.storedAs.providerName),
            "keyName": entry.storedAs.keyName.map(JSONValue.string) ?? .null,
            "verdict": .string(entry.verdict.rawValue), "reason": .string(entry.reasonText),
        ]
        if let version = entry.storedAs.kmsVersionName { object["kmsVersion"] = .string(version) }
        if let keyID = entry.storedAs.keyID { object["kmsKeyID"] = .string(keyID) }
        return JSONValue.object(object).serialized()
    }

    // MARK: JSON

    /// The whole audit as one versioned document with sorted keys.
    public func json() -> String { jsonValue().serialized(pretty: true) + "\n" }

    /// The audits of several etcd prefixes of one export (OpenShift: `/kubernetes.io`
    /// and `/openshift.io`), each the document `json()` writes, in the order given.
    public static func json(_ reports: [AuditReport]) -> String {
        JSONValue.object([
            "apiVersion": .string(apiVersion),
            "kind": .string("AuditList"),
            "audits": .array(reports.map { $0.jsonValue() }),
        ]).serialized(pretty: true) + "\n"
    }

    func jsonValue() -> JSONValue {
        let s = result.summary
        let verdicts = JSONValue.verdicts
        let resources = s.byResource.keys.sorted().map { name -> JSONValue in
            .object(["resource": .string(name), "verdicts": verdicts(s.byResource[name] ?? [:])])
        }
        let storage = s.byStorage.keys.sorted().map { key -> JSONValue in
            var object: [String: JSONValue] = ["storage": .string(key.storageName), "provider": .string(key.providerName),
                                               "keyName": key.keyName.map(JSONValue.string) ?? .null,
                                               "verdicts": verdicts(s.byStorage[key] ?? [:])]
            if let version = key.kmsVersionName { object["kmsVersion"] = .string(version) }
            return .object(object)
        }
        let r = result.readiness
        let readiness: JSONValue = .object([
            "identityRemoval": .object([
                "safe": .bool(r.identityRemoval == 0),
                "wouldBecomeUnreadable": .int(r.identityRemoval),
                "byResource": .object(r.identityRemovalByResource.mapValues(JSONValue.int)),
                "examples": .array(r.identityRemovalExamples.map(JSONValue.string)),
            ]),
            "keyRemoval": .array(r.keys.map {
                .object(["provider": .string($0.format.provider), "keyName": .string($0.keyName),
                         "entriesStillUsingIt": .int($0.entries),
                         "undecryptableWithItsName": .int($0.unreadable), "safe": .bool($0.canRemove)])
            }),
        ].merging(kms == nil ? [:] : ["kmsKeyIDRetirement": .array(r.kmsKeyIDs.map {
            .object(["provider": .string($0.provider), "keyID": .string($0.keyID), "current": $0.isCurrent.map(JSONValue.bool) ?? .null,
                     "entriesStillUsingIt": .int($0.entries), "undecryptableUnderIt": .int($0.undecryptable),
                     "verified": .bool($0.verified), "safe": .bool($0.canRetire)])
        })]) { $1 })
        var members: [String: JSONValue] = [
            "apiVersion": .string(Self.apiVersion),
            "kind": .string("Audit"),
            "input": JSONValue.input(provenance),
            "configuration": .object(["path": .string(configurationPath), "sha256": .string(configurationSHA256),
                                      "rules": JSONValue.rules(kubernetesRules)]),
            "etcdPrefix": .string(etcdPrefix),
            "totals": .object(["audited": .int(s.audited), "outsidePrefix": .int(result.outsidePrefix), "verdicts": verdicts(s.byVerdict)]),
            "resources": .array(resources),
            "storage": .array(storage),
            "readiness": readiness,
            "undecryptable": .array(s.undecryptable.map { .object(["key": .string($0.key), "reason": .string($0.reasonText)]) }),
            // The list holds at most `AuditSummary.findingLimit` (the smallest keys); jsonl lists every entry.
            "undecryptableNotListed": .int((s.byVerdict[.undecryptable] ?? 0) - s.undecryptable.count),
        ]
        if let history { members["history"] = Self.json(history) }
        if let keyUsage { members["keyUsage"] = Self.json(keyUsage) }
        if let kms { members["kms"] = Self.json(kms) }
        return JSONValue.object(members)
    }

    static func json(_ history: HistoryAudit) -> JSONValue {
        .object([
            "revisionsAudited": .int(history.revisionsAudited),
            "plaintextCopies": .int(history.plaintextCopies),
            "oldKeyCopies": .int(history.oldKeyCopies),
            "keys": .array(history.keys.map { key in
                .object(["key": .string(key.key), "resource": .string(key.resource), "now": .string(StoredAs.nowText(key.now)),
                         "revisions": .array(key.revisions.map { finding in
                             var members: [String: JSONValue] = [
                                 "revision": .int(Int(finding.revision)), "sub": .int(Int(finding.sub)),
                                 "storedAs": .string(finding.storedAs.revisionText), "verdict": .string(finding.verdict.rawValue)]
                             if history.kine {
                                 members["storedIn"] = .array(finding.locations.sorted().map {
                                     .object(["row": .int(Int($0.row)), "column": .string($0.column.rawValue)])
                                 })
                             }
                             return .object(members)
                         })])
            }),
        ])
    }

    static func json(_ usage: KeyUsage) -> JSONValue {
        .object([
            "coversHistory": .bool(usage.coversHistory),
            "aesgcmRotationWrites": .int(KeyUsage.aesgcmRotationWrites),
            "aesgcm": .array(usage.aesgcmWrites.sorted { $0.key < $1.key }.map {
                .object(["key": .string($0.key), "writes": .int($0.value), "rotate": .bool($0.value >= KeyUsage.aesgcmRotationWrites)])
            }),
            "kmsV2": .array(usage.kmsV2.sorted { $0.key < $1.key }.map {
                .object(["provider": .string($0.key.providerName), "keyID": .string($0.key.keyID), "values": .int($0.value.values),
                         "distinctDEKs": .int($0.value.distinctDEKs), "distinctDEKsCapped": .bool($0.value.capped)])
            }),
        ])
    }

    // MARK: Text

    /// How many findings the text report lists before it says "and N more".
    static let textListLimit = 50

    static func text(_ history: HistoryAudit) -> String {
        var out = "\nHistory: \(Human.count(history.revisionsAudited)) revisions audited\n"
        guard !history.keys.isEmpty else {
            return out + "  no earlier revision is weaker than the configuration writes today\n"
        }
        out += "  \(Human.count(history.plaintextCopies)) plaintext and \(Human.count(history.oldKeyCopies)) old-key copies"
        if history.kine {
            out += " of \(Human.count(history.keys.count, "key", "keys")) remain in the kine table (and in every copy of state.db).\n"
            out += "  A row's old_value keeps the value it replaced even after compaction: write such a key once more, let kine compact past that write, then VACUUM state.db.\n"
        } else {
            out += " of \(Human.count(history.keys.count, "key", "keys")) remain in etcd's history (and in every backup of it).\n"
            out += "  They leave etcd only with `etcdctl compact <revision>` followed by `etcdctl defrag` on every member.\n"
        }
        for key in history.keys.prefix(textListLimit) {
            let revisions = key.revisions.map { finding in
                guard history.kine else { return "\(finding.revision) \(finding.storedAs.revisionText)" }
                let places = finding.locations.sorted().map { "\($0.column.rawValue) of row \($0.row)" }.joined(separator: ", ")
                return "\(finding.revision) \(finding.storedAs.revisionText) (in \(places))"
            }.joined(separator: ", ")
            out += "  \(key.key.terminal) (now \(StoredAs.nowText(key.now).terminal)): \(revisions.terminal)\n"
        }
        if history.keys.count > textListLimit {
            out += "  ... and \(Human.count(history.keys.count - textListLimit)) more keys (--output json lists them all)\n"
        }
        return out
    }

    public func text() -> String {
        let s = result.summary
        var out = ""
        out += "atrest audit: \(Human.count(s.audited, "entry", "entries")) under \(etcdPrefix.terminal) against \(configurationPath.terminal) (rules of \(kubernetesRules))\n"
        if provenance.completeness == .incomplete {
            out += "WARNING: incomplete export: \(provenance.completenessReason.terminal(or: "keys are missing")); entries not in it are not audited\n"
        }
        if provenance.completeness == .partial {
            out += "WARNING: completeness: partial: \(provenance.completenessReason.terminal(or: "salvaged from a damaged snapshot")); entries lost to the damage are not audited\n"
        }
        out += "\nReadiness\n"
        for answer in readinessAnswers { out += "  \(answer.sentence.terminal)\n" }
        out += "\nVerdicts\n"
        var verdictTable = TextTable([("VERDICT", .left), ("ENTRIES", .right)])
        for verdict in Verdict.allCases where (s.byVerdict[verdict] ?? 0) > 0 {
            verdictTable.add([verdict.rawValue, Human.count(s.byVerdict[verdict] ?? 0)])
        }
        out += verdictTable.render(wide: wide)
        let shown = Verdict.allCases.filter { v in s.byResource.values.contains { ($0[v] ?? 0) > 0 } }
        out += "\nBy resource\n"
        var resources = TextTable([("RESOURCE", .left)] + shown.map { ($0.rawValue.uppercased(), TextTable.Alignment.right) })
        for name in s.byResource.keys.sorted() {
            resources.add([name] + shown.map { Human.count(s.byResource[name]?[$0] ?? 0) })
        }
        out += resources.render(wide: wide)
        out += "\nBy provider and key\n"
        var storage = TextTable([("STORED AS", .left)] + shown.map { ($0.rawValue.uppercased(), TextTable.Alignment.right) })
        for key in s.byStorage.keys.sorted() {
            storage.add([Self.storageLabel(key)] + shown.map { Human.count(s.byStorage[key]?[$0] ?? 0) })
        }
        out += storage.render(wide: wide)
        let undecryptable = s.byVerdict[.undecryptable] ?? 0
        if undecryptable > 0 {
            out += "\nUndecryptable (the apiserver cannot read these)\n"
            let listed = s.undecryptable.prefix(Self.textListLimit)
            for entry in listed {
                out += "  \(entry.key.terminal): \(entry.reasonText.terminal)\n"
            }
            if undecryptable > listed.count {
                out += "  ... and \(Human.count(undecryptable - listed.count)) more (--output jsonl lists every entry)\n"
            }
        }
        if let kms { out += kmsText(kms) }
        if let history { out += Self.text(history) }
        if let keyUsage { out += KeyUsageText.render(keyUsage, wide: wide) }
        return TerminalText.document(out)
    }
}
