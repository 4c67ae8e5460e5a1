import AtRestAudit
import AtRestEncryption

extension AuditReport {
    /// How many keys a failing test case names: enough to start on, and CI views
    /// truncate long failure texts anyway.
    static let junitKeyLimit = 10

    /// The audit as JUnit XML, so CI test views show it as tests: one test case per
    /// resource, failing when the resource has an entry with a `--fail-on` verdict
    /// (`failOn`), which is exactly when the exit status is 1 because of it. The
    /// failure names the counts and the first keys (with reasons) of the entries kept
    /// one by one. No `time` or `timestamp` attributes: identical from run to run.
    /// The readiness answers head the suite's `system-out`.
    public func junit() -> String {
        let s = result.summary
        let failing = Verdict.allCases.filter { failOn.contains($0) }
        let resources = s.byResource.keys.sorted()
        // Kept findings per resource, in key order.
        var keptByResource: [String: [EntryAudit]] = [:]
        for verdict in failing {
            for entry in s.findings[verdict] ?? [] { keptByResource[Self.resourceName(entry), default: []].append(entry) }
        }
        var cases = ""
        var failures = 0
        for name in resources {
            let counts = s.byResource[name] ?? [:]
            let total = counts.values.reduce(0, +)
            cases += "    <testcase classname=\"atrest.audit\" name=\"\(Markup.xml(name))\">\n"
            let bad = failing.filter { (counts[$0] ?? 0) > 0 }
            if !bad.isEmpty {
                failures += 1
                let summary = bad.map { "\(Human.count(counts[$0] ?? 0)) \($0.rawValue)" }.joined(separator: ", ")
                let message = "\(name): \(summary) of \(Human.count(total)) entries"
                var body = message + "\n"
                let kept = (keptByResource[name] ?? []).sorted { $0.key < $1.key }
                for entry in kept.prefix(Self.junitKeyLimit) {
                    body += "\(entry.verdict.rawValue): \(entry.key.terminal): \(entry.reasonText.terminal)\n"
                }
                let badTotal = bad.reduce(0) { $0 + (counts[$1] ?? 0) }
                let listed = min(kept.count, Self.junitKeyLimit)
                if badTotal > listed {
                    body += "... and \(Human.count(badTotal - listed)) more (--output jsonl lists every entry)\n"
                }
                cases += "      <failure message=\"\(Markup.xml(message))\" type=\"\(Markup.xml(bad.map(\.rawValue).joined(separator: ",")))\">"
                cases += Markup.xml(body, content: true) + "</failure>\n"
            }
            let line = Verdict.allCases.filter { (counts[$0] ?? 0) > 0 }.map { "\($0.rawValue) \(counts[$0] ?? 0)" }.joined(separator: ", ")
            cases += "      <system-out>\(Markup.xml(line, content: true))</system-out>\n"
            cases += "    </testcase>\n"
        }

        var systemOut = "atrest audit: \(s.audited) entries under \(etcdPrefix.terminal) against \(configurationPath.terminal)\n"
        for answer in readinessAnswers { systemOut += answer.sentence.terminal + "\n" }
        systemOut += "failing verdicts (--fail-on): \(failing.map(\.rawValue).joined(separator: ", "))\n"

        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"atrest\" tests=\"\(resources.count)\" failures=\"\(failures)\" errors=\"0\" skipped=\"0\">\n"
        out += "  <testsuite name=\"atrest audit\" tests=\"\(resources.count)\" failures=\"\(failures)\" errors=\"0\" skipped=\"0\">\n"
        out += "    <properties>\n"
        var properties: [(String, String)] = [
            ("apiVersion", Self.apiVersion), ("etcdPrefix", etcdPrefix),
            ("configuration", configurationPath), ("configuration.sha256", configurationSHA256),
            ("configuration.rules", kubernetesRules.description),
            ("revision", provenance.revision.map { String($0) } ?? ""), ("completeness", provenance.completeness.rawValue),
            ("audited", String(s.audited)), ("failOn", failing.map(\.rawValue).joined(separator: ",")),
        ]
        for (i, input) in provenance.inputs.enumerated() {
            properties.append(("input.\(i).name", input.name))
            properties.append(("input.\(i).sha256", input.sha256))
        }
        for verdict in Verdict.allCases {
            properties.append(("verdict.\(verdict.rawValue)", String(s.byVerdict[verdict] ?? 0)))
        }
        for (name, value) in properties {
            out += "      <property name=\"\(Markup.xml(name))\" value=\"\(Markup.xml(value))\"/>\n"
        }
        out += "    </properties>\n"
        out += cases
        out += "    <system-out>\(Markup.xml(systemOut, content: true))</system-out>\n"
        out += "  </testsuite>\n</testsuites>\n"
        return out
    }
}
