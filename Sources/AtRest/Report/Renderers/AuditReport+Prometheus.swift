import AtRestAudit
import AtRestDump

extension AuditReport {
    /// The KMS v2 key ID as a metric label: `sha256:<hex>` of its bytes, or empty
    /// when there is none.
    ///
    /// This is exactly what the apiserver exports for the same key ID
    /// (`k8s.io/apiserver` `pkg/storage/value/encrypt/envelope/metrics/metrics.go`,
    /// `getHash`: `fmt.Sprintf("sha256:%x", sha256.Sum(keyID))` from a pool of plain
    /// `sha256.New()` hashers, and `""` for an empty key ID; label `key_id_hash` of
    /// `apiserver_envelope_encryption_key_id_hash_total`). It is an unkeyed hash, not
    /// an HMAC: the same key ID gives the same label in atrest's and the apiserver's
    /// metrics, so they can be joined, and a key ID that is guessable (a short
    /// counter, a well-known alias) stays guessable from the hash, as it does from
    /// the apiserver's own. Key IDs are parsed as Go strings are compared, by their
    /// UTF-8 bytes; a key ID that was not valid UTF-8 hashes after replacement and
    /// then differs from the apiserver's.
    static func kmsKeyIDHash(_ keyID: String?) -> String {
        guard let keyID, !keyID.isEmpty else { return "" }
        return "sha256:" + SHA256.hash(Array(keyID.utf8)).hexString
    }

    /// The audit in the Prometheus text exposition format (version 0.0.4), for the
    /// node exporter's textfile collector or a push gateway: gauges only, every
    /// family with `# HELP` and `# TYPE`, families in name order, series sorted,
    /// label values escaped. No timestamps: the audit's moment is the export's
    /// revision (`atrest_audit_revision`), not the time atrest ran. KMS v2 key IDs
    /// appear only hashed (`kmsKeyIDHash`); keys of entries never appear (a label
    /// per key would be unbounded cardinality).
    public func prometheus() -> String {
        let s = result.summary
        let r = result.readiness
        var families: [(name: String, help: String, series: [String])] = []
        func series(_ name: String, _ labels: [(String, String)], _ value: Int) -> String {
            if labels.isEmpty { return "\(name) \(value)" }
            return name + "{" + labels.map { "\($0.0)=\"\(Markup.prometheusLabel($0.1))\"" }.joined(separator: ",") + "} \(value)"
        }

        // Every verdict of every resource, zeros included: an alert on
        // `atrest_entries{verdict="undecryptable"} > 0` must see 0, not an absent series.
        families.append(("atrest_entries", "Entries audited, by resource and verdict.",
                         s.byResource.keys.flatMap { resource in
                             Verdict.allCases.map { verdict in
                                 series("atrest_entries", [("resource", resource), ("verdict", verdict.rawValue)],
                                        s.byResource[resource]?[verdict] ?? 0)
                             }
                         }))
        families.append(("atrest_entries_by_storage",
                         "Entries audited, by resource, how they are stored (provider, key name, KMS version, sha256 of the KMS v2 key ID) and verdict.",
                         s.byResourceAndStorage.flatMap { key, counts in
                             counts.map { verdict, count in
                                 series("atrest_entries_by_storage", [
                                     ("resource", key.resource), ("storage", key.storage.storageName), ("provider", key.storage.providerName),
                                     ("key_name", key.storage.keyName ?? ""), ("kms_version", key.storage.kmsVersionName ?? ""),
                                     ("kms_key_id_hash", Self.kmsKeyIDHash(key.storage.keyID)), ("verdict", verdict.rawValue),
                                 ], count)
                             }
                         }))
        families.append(("atrest_audited_entries", "Entries under the etcd prefix that got a verdict.",
                         [series("atrest_audited_entries", [], s.audited)]))
        families.append(("atrest_outside_prefix_entries", "Keys outside the etcd prefix: counted, not audited.",
                         [series("atrest_outside_prefix_entries", [], result.outsidePrefix)]))
        families.append(("atrest_identity_removal_unreadable_entries",
                         "Entries that become unreadable if identity is removed from the configuration (0: it can be removed).",
                         [series("atrest_identity_removal_unreadable_entries", [], r.identityRemoval)]))
        families.append(("atrest_identity_removal_unreadable_entries_by_resource",
                         "Entries that become unreadable if identity is removed, by resource.",
                         r.identityRemovalByResource.map { series("atrest_identity_removal_unreadable_entries_by_resource", [("resource", $0.key)], $0.value) }))
        families.append(("atrest_key_removal_entries",
                         "Entries still read by a configured key that no longer writes (0: the key can be removed).",
                         r.keys.map { series("atrest_key_removal_entries", [("provider", $0.format.provider), ("key_name", $0.keyName)], $0.entries) }))
        families.append(("atrest_audit_revision", "The etcd revision the audited export speaks for (-1 when the export does not say).",
                         [series("atrest_audit_revision", [], provenance.revision.map { Int($0) } ?? -1)]))
        families.append(("atrest_audit_info",
                         "Always 1; labels: the report version, etcd prefix, sha256 of the configuration, and whether the export was complete.",
                         [series("atrest_audit_info", [("api_version", Self.apiVersion), ("completeness", provenance.completeness.rawValue),
                                                       ("config_sha256", configurationSHA256), ("etcd_prefix", etcdPrefix)], 1)]))

        var out = ""
        for family in families.sorted(by: { $0.name < $1.name }) {
            out += "# HELP \(family.name) \(family.help)\n"
            out += "# TYPE \(family.name) gauge\n"
            for line in family.series.sorted() { out += line + "\n" }
        }
        return out
    }
}
