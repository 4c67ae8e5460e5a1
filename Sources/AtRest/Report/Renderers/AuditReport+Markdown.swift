import AtRestAudit
import AtRestEncryption

extension AuditReport {
    /// How many undecryptable entries the Markdown report lists before "and N more":
    /// enough for any real remediation ticket, small enough to paste into one.
    static let markdownFindingLimit = 200
    /// How many unencrypted entries it shows as examples: a rewrite goes by resource, not by key.
    static let markdownExampleLimit = 20

    /// The audit as GitHub-flavoured Markdown, for a ticket or change request: the
    /// readiness answers first (they decide whether the change may go ahead), then
    /// what was audited, then the tables that justify them. Every value from etcd or
    /// the configuration is escaped, so a key cannot break a table or inject markup.
    public func markdown() -> String {
        let s = result.summary
        let shown = shownVerdicts
        var out = "# atrest audit: \(Human.count(s.audited)) entries under \(Markup.markdownCode(etcdPrefix))\n\n"
        if provenance.completeness == .incomplete {
            out += "> **Warning: incomplete export.** \(Markup.markdown(provenance.completenessReason ?? "keys are missing")); "
            out += "entries not in it are not audited.\n\n"
        }

        out += "## Readiness\n\n"
        for answer in readinessAnswers {
            out += "- **\(answer.safe ? "Yes" : "No")**: \(Markup.markdown(answer.sentence))\n"
        }

        out += "\n## Input\n\n"
        out += "| file | format | sha256 |\n|---|---|---|\n"
        for input in provenance.inputs {
            out += "| \(Markup.markdownCode(input.name)) | \(input.format.rawValue) | `\(input.sha256)` |\n"
        }
        out += "\n| configuration | sha256 | rules |\n|---|---|---|\n"
        out += "| \(Markup.markdownCode(configurationPath)) | `\(configurationSHA256)` | \(Markup.markdown(kubernetesRules.description)) |\n\n"
        out += "Revision \(provenance.revision.map { String($0) } ?? "unknown"), export \(provenance.completeness.rawValue); "
        out += "\(Human.count(result.outsidePrefix)) keys outside the prefix were counted, not audited.\n"

        out += "\n## Verdict totals\n\n"
        out += "| verdict | entries |\n|---|---:|\n"
        for verdict in shown {
            out += "| \(verdict.rawValue) | \(Human.count(s.byVerdict[verdict] ?? 0)) |\n"
        }
        out += "| **total** | **\(Human.count(s.audited))** |\n"

        let header = "| " + shown.map(\.rawValue).joined(separator: " | ") + " | total |\n"
        let rule = String(repeating: "---:|", count: shown.count + 1) + "\n"
        out += "\n## By resource\n\n"
        out += "| resource " + header + "|---|" + rule
        for name in s.byResource.keys.sorted() {
            let counts = s.byResource[name] ?? [:]
            out += "| \(Markup.markdown(name)) | " + shown.map { Human.count(counts[$0] ?? 0) }.joined(separator: " | ")
            out += " | \(Human.count(counts.values.reduce(0, +))) |\n"
        }

        out += "\n## By provider and key\n\n"
        out += "| stored as " + header + "|---|" + rule
        for key in s.byStorage.keys.sorted() {
            let counts = s.byStorage[key] ?? [:]
            out += "| \(Markup.markdown(Self.storageLabel(key))) | " + shown.map { Human.count(counts[$0] ?? 0) }.joined(separator: " | ")
            out += " | \(Human.count(counts.values.reduce(0, +))) |\n"
        }

        let undecryptable = s.byVerdict[.undecryptable] ?? 0
        if undecryptable > 0 {
            out += "\n## Undecryptable entries (the apiserver cannot read these)\n\n"
            out += "| key | reason |\n|---|---|\n"
            let listed = s.undecryptable.prefix(Self.markdownFindingLimit)
            for entry in listed {
                out += "| \(Markup.markdownCode(entry.key)) | \(Markup.markdown(entry.reasonText)) |\n"
            }
            if undecryptable > listed.count {
                out += "\n… and \(Human.count(undecryptable - listed.count)) more (`--output jsonl` lists every entry).\n"
            }
        }

        let unencryptedCount = s.byVerdict[.unencrypted] ?? 0
        if unencryptedCount > 0 {
            out += "\n## Unencrypted entries (rewrite before removing identity)\n\n"
            // Without kept entries (an audit that does not keep them) the readiness examples stand in.
            let kept = s.findings[.unencrypted]?.map(\.key) ?? result.readiness.identityRemovalExamples
            if kept.isEmpty {
                out += "\(Human.count(unencryptedCount)) entries; `--output jsonl` lists them.\n"
            } else {
                for key in kept.prefix(Self.markdownExampleLimit) {
                    out += "- \(Markup.markdownCode(key, inTable: false))\n"
                }
                if unencryptedCount > min(kept.count, Self.markdownExampleLimit) {
                    out += "\n… and \(Human.count(unencryptedCount - min(kept.count, Self.markdownExampleLimit))) more (`--output jsonl` lists every entry).\n"
                }
            }
        }
        out += "\n---\n\nReport `\(Self.apiVersion)` by atrest. It contains no decrypted data and no key material.\n"
        return out
    }
}
