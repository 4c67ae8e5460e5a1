import AtRestAudit
import AtRestDump
import Foundation

extension AuditReport {
    static let sarifSchema = "https://json.schemastore.org/sarif-2.1.0.json"

    /// One SARIF rule per finding verdict: id, the level a result of it gets, and the
    /// texts of `docs/verdicts.md` (what it means, what to do).
    struct SARIFRule {
        var verdict: Verdict
        var level: String
        var name: String
        var short: String
        var full: String
        var help: String

        var id: String { "atrest/\(verdict.rawValue)" }
    }

    static let sarifRules: [SARIFRule] = [
        SARIFRule(verdict: .undecryptable, level: "error", name: "UndecryptableEntry",
                  short: "The apiserver cannot read this etcd entry.",
                  full: "No provider of the entry's EncryptionConfiguration rule can read it: unknown provider or key name (a retired key), wrong key material, authentication failure, truncation, bad padding, or plaintext under a rule without identity.",
                  help: "Find the key it was written with (the message names the provider and key name) and add it back to the configuration, or delete the object from etcd if it cannot be recovered."),
        SARIFRule(verdict: .unencrypted, level: "warning", name: "UnencryptedEntry",
                  short: "This etcd entry is stored in plaintext.",
                  full: "The entry is plaintext, readable only because identity follows an encrypting first provider. It becomes unreadable when identity is removed.",
                  help: "Rewrite it (kubectl get <resource> -A -o json | kubectl replace -f -). Do not remove identity before no entry is unencrypted."),
        SARIFRule(verdict: .stale, level: "note", name: "StaleEntry",
                  short: "This etcd entry is not stored as the apiserver writes today.",
                  full: "The entry is readable, but not by the rule's first provider and key: it was written before the last rotation or migration.",
                  help: "Rewrite it (kubectl get <resource> -A -o json | kubectl replace -f -). Until then, keep the provider and key that read it."),
    ]

    /// A file name as a SARIF `uri`: absolute paths as `file://` URIs, relative ones
    /// as relative references (resolved against the directory atrest ran in).
    static func sarifURI(_ path: String) -> String {
        let encoded = path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path
        return path.hasPrefix("/") ? "file://" + encoded : encoded
    }

    /// The audit as SARIF 2.1.0: one run of the tool `atrest`, one rule per finding
    /// verdict, one result per kept finding (most severe first, then by key). An etcd
    /// entry has no file position, so each result's location is the etcd key as a
    /// logical location, plus the export as artifact when there is exactly one input
    /// file (with several, which file held the key is not recorded). Verdict counts
    /// whose entries were not kept one by one are reported as notifications, so a
    /// dashboard never shows fewer problems than there are.
    public func sarif() -> String {
        let s = result.summary
        let ruleIndex = Dictionary(uniqueKeysWithValues: Self.sarifRules.enumerated().map { ($0.element.verdict, $0.offset) })
        let rules: [JSONValue] = Self.sarifRules.map { rule in
            .object([
                "id": .string(rule.id),
                "name": .string(rule.name),
                "shortDescription": .object(["text": .string(rule.short)]),
                "fullDescription": .object(["text": .string(rule.full)]),
                "help": .object(["text": .string(rule.help)]),
                "defaultConfiguration": .object(["level": .string(rule.level)]),
                "properties": .object(["verdict": .string(rule.verdict.rawValue)]),
            ])
        }

        var artifacts: [JSONValue] = provenance.inputs.map { input in
            .object(["location": .object(["uri": .string(Self.sarifURI(input.name))]),
                     "hashes": .object(["sha-256": .string(input.sha256)]),
                     "roles": .array([.string("analysisTarget")])])
        }
        artifacts.append(.object(["location": .object(["uri": .string(Self.sarifURI(configurationPath))]),
                                  "hashes": .object(["sha-256": .string(configurationSHA256)]),
                                  "roles": .array([.string("referencedOnCommandLine")])]))
        let singleInput = provenance.inputs.count == 1 && provenance.inputs[0].name != "-"

        var results: [JSONValue] = []
        for rule in Self.sarifRules {
            for entry in s.findings[rule.verdict] ?? [] {
                var location: [String: JSONValue] = [
                    "logicalLocations": .array([.object(["fullyQualifiedName": .string(entry.key), "kind": .string("resource")])]),
                ]
                if singleInput {
                    location["physicalLocation"] = .object(["artifactLocation": .object([
                        "uri": .string(Self.sarifURI(provenance.inputs[0].name)), "index": .int(0)])])
                }
                var properties: [String: JSONValue] = [
                    "resource": .string(Self.resourceName(entry)),
                    "namespace": entry.namespace.map(JSONValue.string) ?? .null,
                    "name": .string(entry.name),
                    "storage": .string(entry.storedAs.storageName),
                    "provider": .string(entry.storedAs.providerName),
                    "keyName": entry.storedAs.keyName.map(JSONValue.string) ?? .null,
                ]
                if let version = entry.storedAs.kmsVersionName { properties["kmsVersion"] = .string(version) }
                if let keyID = entry.storedAs.keyID { properties["kmsKeyID"] = .string(keyID) }
                results.append(.object([
                    "ruleId": .string(rule.id),
                    "ruleIndex": .int(ruleIndex[rule.verdict] ?? 0),
                    "level": .string(rule.level),
                    "kind": .string("fail"),
                    "message": .object(["text": .string(entry.reasonText)]),
                    "locations": .array([.object(location)]),
                    // Stable across runs and exports: the same key with the same verdict is the same problem.
                    "partialFingerprints": .object(["atrestEtcdKey/v1": .string(SHA256.hash(Array("\(rule.id)\u{0}\(entry.key)".utf8)).hexString)]),
                    "properties": .object(properties),
                ]))
            }
        }

        var notifications: [JSONValue] = []
        for rule in Self.sarifRules {
            let total = s.byVerdict[rule.verdict] ?? 0
            let listed = s.findings[rule.verdict]?.count ?? 0
            if total > listed {
                notifications.append(.object([
                    "level": .string("note"),
                    "descriptor": .object(["id": .string("atrest/not-listed")]),
                    "associatedRule": .object(["id": .string(rule.id), "index": .int(ruleIndex[rule.verdict] ?? 0)]),
                    "message": .object(["text": .string("\(total - listed) of \(total) \(rule.verdict.rawValue) entries are counted but not listed one by one; --output jsonl lists every entry.")]),
                ]))
            }
        }
        if provenance.completeness == .incomplete {
            notifications.append(.object([
                "level": .string("warning"),
                "descriptor": .object(["id": .string("atrest/incomplete-export")]),
                "message": .object(["text": .string("Incomplete export: \(provenance.completenessReason ?? "keys are missing"); entries not in it are not audited.")]),
            ]))
        }

        var invocation: [String: JSONValue] = ["executionSuccessful": .bool(true)]
        if !notifications.isEmpty { invocation["toolExecutionNotifications"] = .array(notifications) }

        let verdicts = JSONValue.object(Dictionary(uniqueKeysWithValues: s.byVerdict.map { ($0.key.rawValue, JSONValue.int($0.value)) }))
        let run: JSONValue = .object([
            "tool": .object(["driver": .object([
                "name": .string("atrest"),
                "fullName": .string("atrest: Kubernetes encryption at rest audit"),
                "rules": .array(rules),
            ])]),
            "automationDetails": .object(["id": .string("atrest/audit/")]),
            "artifacts": .array(artifacts),
            "invocations": .array([.object(invocation)]),
            "results": .array(results),
            "properties": .object([
                "apiVersion": .string(Self.apiVersion),
                "etcdPrefix": .string(etcdPrefix),
                "revision": provenance.revision.map { .int(Int($0)) } ?? .null,
                "completeness": .string(provenance.completeness.rawValue),
                "audited": .int(s.audited),
                "outsidePrefix": .int(result.outsidePrefix),
                "verdicts": verdicts,
                "identityRemovalSafe": .bool(result.readiness.identityRemoval == 0),
                "identityRemovalWouldBecomeUnreadable": .int(result.readiness.identityRemoval),
            ]),
        ])
        let document: JSONValue = .object([
            "$schema": .string(Self.sarifSchema),
            "version": .string("2.1.0"),
            "runs": .array([run]),
        ])
        return document.serialized(pretty: true) + "\n"
    }
}
