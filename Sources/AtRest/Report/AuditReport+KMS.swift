import AtRestAudit
import AtRestEncryption

/// The KMS part of an audit report (`--kms`, `--kms-key-id`): per provider and key
/// ID, the values stored under it and the plugin calls made (docs/kms.md).
extension AuditReport {
    /// One row per provider and key ID (v1: no key ID) that values are stored under or the plugin writes with.
    struct KMSKeyRow: Sendable, Hashable {
        var provider: String
        var keyID: String?
        var current: Bool?
        var entries: Int
        var undecryptable: Int
        var calls: KMSSession.CallCount?
    }

    func kmsRows(_ session: KMSSession) -> [KMSKeyRow] {
        // The session counts v1 calls under an empty key ID.
        let calls = Dictionary(session.callCounts.map { (AuditSummary.KMSKey(provider: $0.provider, keyID: $0.keyID.isEmpty ? nil : $0.keyID), $0) },
                               uniquingKeysWith: { a, _ in a })
        var rows = result.readiness.kmsKeyIDs.map { id in
            KMSKeyRow(provider: id.provider, keyID: id.keyID, current: id.isCurrent, entries: id.entries,
                      undecryptable: id.undecryptable, calls: calls[AuditSummary.KMSKey(provider: id.provider, keyID: id.keyID)])
        }
        // v1 values carry no key ID: one row per provider.
        for (key, counts) in result.summary.kmsValues(version: .v1) {
            rows.append(KMSKeyRow(provider: key.provider, keyID: nil, current: nil, entries: counts.entries,
                                  undecryptable: counts.undecryptable, calls: calls[key]))
        }
        return rows.sorted { ($0.provider, $0.keyID ?? "") < ($1.provider, $1.keyID ?? "") }
    }

    func kmsText(_ session: KMSSession) -> String {
        var out = "\nKMS\n"
        for (name, provider) in session.providers.sorted(by: { $0.key < $1.key }) {
            var line = "  \(name.terminal) (\(provider.apiVersion.rawValue))"
            if let plugin = provider.plugin { line += ": asked at \(plugin.endpoint.terminal)" } else { line += ": not asked (--kms asks it)" }
            if let current = provider.currentKeyID { line += ", current key ID \"\(current.terminal)\"" }
            out += line + "\n"
        }
        var table = TextTable([("PROVIDER", .left), ("KEY ID", .left), ("CURRENT", .left), ("ENTRIES", .right),
                               ("UNDECRYPTABLE", .right), ("DEK SOURCES", .right), ("DECRYPT CALLS", .right)])
        for row in kmsRows(session) {
            let current = row.current.map { $0 ? "yes" : "no" } ?? "-"
            table.add([row.provider, row.keyID ?? "-", current, Human.count(row.entries), Human.count(row.undecryptable),
                       row.calls.map { Human.count($0.distinctSources) } ?? "-", row.calls.map { Human.count($0.decryptCalls) } ?? "-"])
        }
        out += table.render(wide: wide)
        return out
    }

    static func json(_ session: KMSSession) -> JSONValue {
        .object([
            "providers": .array(session.providers.sorted(by: { $0.key < $1.key }).map { name, provider in
                .object(["name": .string(name), "apiVersion": .string(provider.apiVersion.rawValue),
                         "asked": .bool(provider.plugin != nil),
                         "endpoint": provider.plugin.map { .string($0.endpoint) } ?? .null,
                         "currentKeyID": provider.currentKeyID.map(JSONValue.string) ?? .null])
            }),
            "calls": .array(session.callCounts.map {
                .object(["provider": .string($0.provider), "keyID": $0.keyID.isEmpty ? .null : .string($0.keyID),
                         "distinctSources": .int($0.distinctSources), "decryptCalls": .int($0.decryptCalls),
                         "refused": .int($0.refused)])
            }),
        ])
    }

    /// "Can KMS key ID X be retired?", one answer per key ID.
    var kmsReadinessAnswers: [ReadinessAnswer] {
        let ids = result.readiness.kmsKeyIDs
        // A key ID nothing is stored under does not show up at all; say so when only the current one is left.
        let onlyCurrent = Set(ids.filter { $0.isCurrent == true }.map(\.provider))
            .filter { provider in ids.allSatisfy { $0.provider != provider || $0.isCurrent == true || ($0.entries == 0 && $0.undecryptable == 0) } }
        return ids.map { id in
            let subject = "KMS key ID \"\(id.keyID)\" of provider \"\(id.provider)\""
            let sentence: String
            if id.isCurrent == true {
                sentence = "\(subject) can NOT be retired: it is the plugin's current key ID, which writes every new value"
            } else if id.canRetire {
                sentence = "\(subject) can be retired: no readable entry is stored under it"
                    + (id.undecryptable > 0 ? " (\(Human.count(id.undecryptable, "undecryptable entry is", "undecryptable entries are")) already)" : "")
            } else {
                sentence = "\(subject) can NOT be retired yet: \(Human.count(id.entries, "entry", "entries")) would become unreadable; rewrite them first"
                    + (id.verified ? "" : " (counted from their key IDs; --kms reads them)")
            }
            return ReadinessAnswer(id: "kms-key-id:\(id.provider):\(id.keyID)", safe: id.canRetire, subject: subject,
                                   sentence: sentence, entries: id.entries)
        } + onlyCurrent.sorted().compactMap { provider in
            guard let current = ids.first(where: { $0.provider == provider && $0.isCurrent == true }) else { return nil }
            return ReadinessAnswer(id: "kms-key-ids:\(provider)", safe: true, subject: "KMS provider \"\(provider)\"",
                                   sentence: "KMS provider \"\(provider)\": every value is stored under the current key ID \"\(current.keyID)\": any earlier key ID can be retired",
                                   entries: 0)
        }
    }
}
