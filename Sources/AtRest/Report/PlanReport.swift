import AtRestAudit
import AtRestEncryption
import AtRestIndex
import Foundation

/// The renderings of `atrest plan`: text for the operator, a versioned JSON document for
/// pipelines, Markdown for a change request or a runbook. All are views of one model.
public enum PlanOutputFormat: String, Sendable, CaseIterable {
    case text, json, markdown
}

/// A configuration file as the report names it: its path and the SHA-256 of its bytes, so
/// that a reviewer can tell which exact file was judged (the bytes hold keys, the hash does not reveal them).
public struct ConfigurationFile: Sendable, Hashable {
    public var path: String
    public var sha256: String

    public init(path: String, sha256: String) {
        self.path = path
        self.sha256 = sha256
    }

    var json: JSONValue { .object(["path": .string(path), "sha256": .string(sha256)]) }
}


/// `secrets 3, configmaps 1`; resource names escaped for a line of text.
private func countsText(_ counts: [String: Int]) -> String {
    counts.sorted { $0.key < $1.key }.map { "\($0.key.terminal) \(Human.count($0.value))" }.joined(separator: ", ")
}

/// Markdown table cells must not break the table: controls made visible (no line
/// ends inside), `|` escaped.
private func cell(_ text: String) -> String {
    TerminalText.field(text).replacingOccurrences(of: "|", with: "\\|")
}

/// Inline code in Markdown (`Markup.markdownCode`): controls made visible, a fence
/// longer than any run of backticks inside, `|` escaped for table cells.
private func code(_ text: String) -> String {
    Markup.markdownCode(text)
}

private extension VerdictTransition.Effect {
    var label: String {
        switch self {
        case .breaks: "breaks"
        case .needsRewrite: "needs rewrite"
        case .repairs: "repairs"
        case .settles: "settles"
        }
    }
}

// MARK: - Plan

/// `atrest plan --config CURRENT --proposed NEXT`: what applying NEXT does to the data as stored.
public struct PlanReport: Sendable {
    public static let apiVersion = StatsReport.apiVersion

    public var provenance: IndexProvenance
    public var etcdPrefix: String
    public var current: ConfigurationFile
    public var proposed: ConfigurationFile
    public var analysis: PlanAnalysis
    /// Entries listed per list in text and Markdown (JSON lists up to `PlanAnalysis.breakingLimit` breaking entries).
    public var limit: Int
    /// The release whose rules both configurations were loaded under.
    public var kubernetesRules: KubernetesRules = .newest
    /// `--wide`: text table cells are never cut (`TextTable.cellWidth`).
    public var wide = false

    public init(provenance: IndexProvenance, etcdPrefix: String, current: ConfigurationFile, proposed: ConfigurationFile,
                analysis: PlanAnalysis, limit: Int) {
        self.provenance = provenance
        self.etcdPrefix = etcdPrefix
        self.current = current
        self.proposed = proposed
        self.analysis = analysis
        self.limit = limit
    }

    public func render(_ format: PlanOutputFormat) -> String {
        switch format {
        case .text: text()
        case .json: json()
        case .markdown: markdown()
        }
    }

    private static func entryJSON(_ entry: PlanEntry) -> JSONValue {
        .object(["key": .string(entry.key), "resource": .string(entry.resource),
                 "namespace": entry.namespace.map(JSONValue.string) ?? .null, "name": .string(entry.name),
                 "from": .string(entry.transition.from.rawValue), "to": .string(entry.transition.to.rawValue),
                 "reason": .string(entry.reasonText)])
    }

    /// One versioned document, sorted keys, no timestamps: identical from run to run.
    public func json() -> String {
        let a = analysis
        let transitions = a.transitions.map { t -> JSONValue in
            .object(["from": .string(t.transition.from.rawValue), "to": .string(t.transition.to.rawValue),
                     "effect": .string(t.transition.effect.rawValue), "meaning": .string(t.transition.meaning),
                     "entries": .int(t.entries), "byResource": .object(t.byResource.mapValues(JSONValue.int)),
                     "examples": .array(t.examples.map(Self.entryJSON))])
        }
        let rewrite: JSONValue = .object([
            "entries": .int(a.rewrite.entries),
            "groups": .array(a.rewrite.groups.map {
                .object(["resource": .string($0.resource), "namespace": $0.namespace.map(JSONValue.string) ?? .null,
                         "entries": .int($0.entries), "verdicts": JSONValue.verdicts($0.verdicts)])
            }),
            "commands": .array(a.rewrite.commands.map { command in
                let scope: String = switch command.scope {
                case .cluster: "cluster"
                case .allNamespaces: "allNamespaces"
                case .namespace: "namespace"
                }
                return .object(["resource": .string(command.resource), "scope": .string(scope),
                                "namespace": command.namespace.map(JSONValue.string) ?? .null,
                                "entries": .int(command.entries), "command": .string(command.command)])
            }),
        ])
        let document: JSONValue = .object([
            "apiVersion": .string(Self.apiVersion),
            "kind": .string("Plan"),
            "input": JSONValue.input(provenance),
            "etcdPrefix": .string(etcdPrefix),
            "current": current.json,
            "proposed": proposed.json,
            "rules": JSONValue.rules(kubernetesRules),
            "safe": .bool(a.isSafe),
            "totals": .object([
                "audited": .int(a.audited), "outsidePrefix": .int(a.outsidePrefix),
                "unchanged": .int(a.unchanged), "changed": .int(a.audited - a.unchanged),
                "current": JSONValue.verdicts(a.currentVerdicts), "proposed": JSONValue.verdicts(a.proposedVerdicts),
            ]),
            "breaking": .object([
                "entries": .int(a.breakingCount),
                "byResource": .object(a.breakingByResource.mapValues(JSONValue.int)),
                "list": .array(a.breaking.map(Self.entryJSON)),
                "notListed": .int(a.breakingCount - a.breaking.count),
            ]),
            "transitions": .array(transitions),
            "alreadyUndecryptable": .object([
                "entries": .int(a.alreadyUndecryptable.values.reduce(0, +)),
                "byResource": .object(a.alreadyUndecryptable.mapValues(JSONValue.int)),
            ]),
            "rewrite": rewrite,
        ])
        return document.serialized(pretty: true) + "\n"
    }

    private var headline: String {
        let a = analysis
        if a.isSafe {
            return "SAFE: every entry readable under \(current.path.terminal) stays readable under \(proposed.path.terminal)"
        }
        return "UNSAFE: \(Human.count(a.breakingCount, "entry", "entries")) readable under \(current.path.terminal) would be undecryptable under "
            + "\(proposed.path.terminal) (\(countsText(a.breakingByResource)))"
    }

    private var rewriteVerdicts: [Verdict] {
        Verdict.allCases.filter { v in analysis.rewrite.groups.contains { ($0.verdicts[v] ?? 0) > 0 } }
    }

    public func text() -> String {
        let a = analysis
        var out = "atrest plan: \(Human.count(a.audited, "entry", "entries")) under \(etcdPrefix.terminal): \(current.path.terminal) -> \(proposed.path.terminal) (rules of \(kubernetesRules))\n"
        if provenance.completeness == .incomplete {
            out += "WARNING: incomplete export: \(provenance.completenessReason.terminal(or: "keys are missing")); entries not in it are not judged\n"
        }
        if provenance.completeness == .partial {
            out += "WARNING: completeness: partial: \(provenance.completenessReason.terminal(or: "salvaged from a damaged snapshot")); entries lost to the damage are not judged\n"
        }
        out += headline + "\n"
        if !a.breaking.isEmpty {
            out += "\nWould break (readable today, undecryptable after the change)\n"
            for entry in a.breaking.prefix(limit) {
                out += "  \(entry.key.terminal): \(entry.transition): \(entry.reasonText.terminal)\n"
            }
            let shown = min(limit, a.breaking.count)
            if a.breakingCount > shown {
                out += "  ... and \(Human.count(a.breakingCount - shown)) more (--output json lists \(a.breakingCount > a.breaking.count ? "the first \(Human.count(a.breaking.count))" : "every one"))\n"
            }
        }
        out += "\nVerdict changes (\(Human.count(a.audited - a.unchanged, "entry changes", "entries change")), \(Human.count(a.unchanged)) unchanged)\n"
        if a.transitions.isEmpty {
            out += "  none\n"
        } else {
            var table = TextTable([("FROM", .left), ("TO", .left), ("EFFECT", .left), ("ENTRIES", .right), ("BY RESOURCE", .left)])
            for t in a.transitions {
                table.add([t.transition.from.rawValue, t.transition.to.rawValue, t.transition.effect.label,
                           Human.count(t.entries), countsText(t.byResource)])
            }
            out += table.render(wide: wide)
            for t in a.transitions where limit > 0 {
                out += "\n  \(t.transition): \(t.transition.meaning)\n"
                if t.transition.effect == .breaks {
                    out += "    (listed above)\n"
                    continue
                }
                for entry in t.examples.prefix(limit) { out += "    \(entry.key.terminal): \(entry.reasonText.terminal)\n" }
                if t.entries > min(limit, t.examples.count) {
                    out += "    ... and \(Human.count(t.entries - min(limit, t.examples.count))) more\n"
                }
            }
        }
        let broken = a.alreadyUndecryptable.values.reduce(0, +)
        if broken > 0 {
            out += "\nAlready undecryptable under both: \(Human.count(broken)) (\(countsText(a.alreadyUndecryptable))); atrest audit lists them\n"
        }
        out += "\nRewrite once \(proposed.path.terminal) is on every apiserver: \(Human.count(a.rewrite.entries, "entry", "entries"))\n"
        if a.rewrite.groups.isEmpty {
            out += "  nothing: every readable entry is stored as \(proposed.path.terminal) writes\n"
        } else {
            let verdicts = rewriteVerdicts
            var table = TextTable([("RESOURCE", .left), ("NAMESPACE", .left)] + verdicts.map { ($0.rawValue.uppercased(), TextTable.Alignment.right) })
            for group in a.rewrite.groups {
                table.add([group.resource, group.namespace ?? "(cluster)"] + verdicts.map { Human.count(group.verdicts[$0] ?? 0) })
            }
            out += table.render(wide: wide)
            out += "\n  Commands (then run atrest audit with \(proposed.path.terminal) until nothing is stale or unencrypted):\n"
            for command in a.rewrite.commands { out += "    \(command.command.terminal)\n" }
        }
        return TerminalText.document(out)
    }

    public func markdown() -> String {
        let a = analysis
        var out = "# atrest plan: \(code(current.path)) → \(code(proposed.path))\n\n"
        out += "**\(cell(headline))**\n\n"
        if provenance.completeness == .incomplete {
            out += "> **Warning:** incomplete export: \(cell(provenance.completenessReason ?? "keys are missing")).\n\n"
        }
        out += "| | |\n|---|---|\n"
        out += "| entries under \(code(etcdPrefix)) | \(a.audited) |\n| changed | \(a.audited - a.unchanged) |\n"
        out += "| would break | \(a.breakingCount) |\n| to rewrite | \(a.rewrite.entries) |\n"
        out += "| current | \(code(current.path)) sha256 \(code(current.sha256)) |\n"
        out += "| proposed | \(code(proposed.path)) sha256 \(code(proposed.sha256)) |\n"
        out += "| rules | \(cell(kubernetesRules.description)) |\n\n"
        if !a.breaking.isEmpty {
            out += "## Would break\n\n| key | from → to | reason |\n|---|---|---|\n"
            for entry in a.breaking.prefix(limit) {
                out += "| \(code(entry.key)) | \(entry.transition.from.rawValue) → \(entry.transition.to.rawValue) | \(cell(entry.reasonText)) |\n"
            }
            let shown = min(limit, a.breaking.count)
            if a.breakingCount > shown {
                out += "\n… and \(a.breakingCount - shown) more (`--output json` lists \(a.breakingCount > a.breaking.count ? "the first \(a.breaking.count)" : "every one")).\n"
            }
            out += "\n"
        }
        out += "## Verdict changes\n\n"
        if a.transitions.isEmpty {
            out += "None.\n\n"
        } else {
            out += "| from | to | effect | entries | by resource | meaning |\n|---|---|---|---:|---|---|\n"
            for t in a.transitions {
                out += "| \(t.transition.from.rawValue) | \(t.transition.to.rawValue) | \(t.transition.effect.label) | \(t.entries) | "
                    + "\(cell(countsText(t.byResource))) | \(cell(t.transition.meaning)) |\n"
            }
            out += "\n"
        }
        out += "## Rewrite once the proposed configuration is on every apiserver\n\n"
        if a.rewrite.groups.isEmpty {
            out += "Nothing to rewrite.\n"
        } else {
            let verdicts = rewriteVerdicts
            out += "| resource | namespace | " + verdicts.map(\.rawValue).joined(separator: " | ") + " |\n"
            out += "|---|---|" + verdicts.map { _ in "---:|" }.joined() + "\n"
            for group in a.rewrite.groups {
                out += "| \(code(group.resource)) | \(group.namespace.map(code) ?? "(cluster)") | "
                    + verdicts.map { String(group.verdicts[$0] ?? 0) }.joined(separator: " | ") + " |\n"
            }
            out += "\n```sh\n" + a.rewrite.commands.map { $0.command + "\n" }.joined() + "```\n"
        }
        return out
    }
}

// MARK: - Host comparison

/// `atrest plan --compare HOST...`: whether the hosts' configurations can serve one etcd.
public struct HostComparisonReport: Sendable {
    public static let apiVersion = StatsReport.apiVersion

    public var hosts: [ConfigurationFile]
    public var comparison: HostComparison
    /// The input, when entries were checked too.
    public var provenance: IndexProvenance?
    public var etcdPrefix: String
    public var limit: Int
    /// The release whose rules every host's configuration was loaded under.
    public var kubernetesRules: KubernetesRules = .newest
    /// `--wide`: text table cells are never cut (`TextTable.cellWidth`).
    public var wide = false

    public init(hosts: [ConfigurationFile], comparison: HostComparison, provenance: IndexProvenance?, etcdPrefix: String, limit: Int) {
        self.hosts = hosts
        self.comparison = comparison
        self.provenance = provenance
        self.etcdPrefix = etcdPrefix
        self.limit = limit
    }

    public func render(_ format: PlanOutputFormat) -> String {
        switch format {
        case .text: text()
        case .json: json()
        case .markdown: markdown()
        }
    }

    private var headline: String {
        let c = comparison
        if !c.findings.contains(where: { $0.severity == .unsafe }) && (c.data?.inconsistentCount ?? 0) > 0 {
            return "UNSAFE: \(Human.count(c.data?.inconsistentCount ?? 0, "entry is", "entries are")) readable on some hosts and not on others"
        }
        if !c.isSafe { return "UNSAFE: a host writes something another host cannot read" }
        if c.identical { return "IDENTICAL: every host lists the same providers and keys, in the same order, for every resource" }
        return "SAFE: the configurations differ, but every host reads what every other host writes"
    }

    public func json() -> String {
        let c = comparison
        var document: [String: JSONValue] = [
            "apiVersion": .string(Self.apiVersion),
            "kind": .string("HostComparison"),
            "hosts": .array(hosts.map(\.json)),
            "rules": JSONValue.rules(kubernetesRules),
            "safe": .bool(c.isSafe),
            "identical": .bool(c.identical),
            "resources": .array(c.resources.map(JSONValue.string)),
            "findings": .array(c.findings.map {
                .object(["severity": .string($0.severity.rawValue), "resource": .string($0.resource),
                         "host": .string($0.host), "otherHost": .string($0.otherHost), "message": .string($0.message)])
            }),
        ]
        if let data = c.data, let provenance {
            document["input"] = JSONValue.input(provenance)
            document["etcdPrefix"] = .string(etcdPrefix)
            document["data"] = .object([
                "audited": .int(data.audited), "outsidePrefix": .int(data.outsidePrefix),
                "unreadableByHost": .object(data.unreadableByHost.mapValues { .object($0.mapValues(JSONValue.int)) }),
                "unreadableEverywhere": .object([
                    "entries": .int(data.unreadableEverywhere.values.reduce(0, +)),
                    "byResource": .object(data.unreadableEverywhere.mapValues(JSONValue.int)),
                ]),
                // At most `HostDataCheck.inconsistentLimit`, the smallest keys.
                "inconsistentNotListed": .int(data.inconsistentCount - data.inconsistent.count),
                "inconsistent": .array(data.inconsistent.map { entry in
                    .object(["key": .string(entry.key), "resource": .string(entry.resource),
                             "namespace": entry.namespace.map(JSONValue.string) ?? .null, "name": .string(entry.name),
                             "unreadableBy": .array(entry.unreadableBy.keys.sorted().map {
                                 .object(["host": .string($0), "reason": .string(entry.unreadableBy[$0]?.text ?? "")])
                             })])
                }),
            ])
        }
        return JSONValue.object(document).serialized(pretty: true) + "\n"
    }

    public func text() -> String {
        let c = comparison
        var out = "atrest plan --compare: \(hosts.count) hosts (\(hosts.map(\.path.terminal).joined(separator: ", "))), "
            + "\(c.resources.count) resources compared (rules of \(kubernetesRules))\n"
        out += headline + "\n"
        if !c.findings.isEmpty {
            out += "\nDifferences\n"
            var table = TextTable([("SEVERITY", .left), ("RESOURCE", .left), ("FINDING", .left)])
            for finding in c.findings { table.add([finding.severity.rawValue, finding.resource, finding.message]) }
            out += table.render(wide: wide)
        }
        if let data = c.data {
            out += "\nEntries (\(Human.count(data.audited)) under \(etcdPrefix.terminal), read under every host's configuration)\n"
            if data.inconsistent.isEmpty {
                out += "  every entry is readable on all hosts or on none\n"
            } else {
                for host in data.unreadableByHost.keys.sorted() {
                    out += "  \(host.terminal) cannot read \(Human.count(data.unreadableByHost[host]?.values.reduce(0, +) ?? 0)) entries "
                        + "that another host reads (\(countsText(data.unreadableByHost[host] ?? [:])))\n"
                }
                for entry in data.inconsistent.prefix(limit) {
                    let reasons = entry.unreadableBy.keys.sorted().map { "\($0.terminal): \((entry.unreadableBy[$0]?.text ?? "").terminal)" }
                    out += "    \(entry.key.terminal): unreadable on \(reasons.joined(separator: "; "))\n"
                }
                let shown = min(limit, data.inconsistent.count)
                if data.inconsistentCount > shown {
                    let listed = data.inconsistentCount > data.inconsistent.count ? "the first \(Human.count(data.inconsistent.count))" : "every one"
                    out += "    ... and \(Human.count(data.inconsistentCount - shown)) more (--output json lists \(listed))\n"
                }
            }
            let everywhere = data.unreadableEverywhere.values.reduce(0, +)
            if everywhere > 0 {
                out += "  unreadable on every host: \(Human.count(everywhere)) (\(countsText(data.unreadableEverywhere))); atrest audit lists them\n"
            }
        }
        return TerminalText.document(out)
    }

    public func markdown() -> String {
        let c = comparison
        var out = "# atrest plan --compare\n\n**\(cell(headline))**\n\n| host | sha256 |\n|---|---|\n"
        for host in hosts { out += "| \(code(host.path)) | \(code(host.sha256)) |\n" }
        out += "\n## Differences\n\n"
        if c.findings.isEmpty {
            out += "None.\n"
        } else {
            out += "| severity | resource | finding |\n|---|---|---|\n"
            for finding in c.findings {
                out += "| \(finding.severity.rawValue) | \(code(finding.resource)) | \(cell(finding.message)) |\n"
            }
        }
        if let data = c.data {
            out += "\n## Entries\n\n\(data.audited) entries under \(code(etcdPrefix)); \(data.inconsistentCount) readable on some hosts only; "
                + "\(data.unreadableEverywhere.values.reduce(0, +)) on none.\n"
            if !data.inconsistent.isEmpty {
                out += "\n| key | unreadable on |\n|---|---|\n"
                for entry in data.inconsistent.prefix(limit) {
                    out += "| \(code(entry.key)) | \(cell(entry.unreadableBy.keys.sorted().map { "\($0): \(entry.unreadableBy[$0]?.text ?? "")" }.joined(separator: "; "))) |\n"
                }
                let shown = min(limit, data.inconsistent.count)
                if data.inconsistentCount > shown {
                    let listed = data.inconsistentCount > data.inconsistent.count ? "the first \(data.inconsistent.count)" : "every one"
                    out += "\n… and \(data.inconsistentCount - shown) more (`--output json` lists \(listed)).\n"
                }
            }
        }
        return out
    }
}
