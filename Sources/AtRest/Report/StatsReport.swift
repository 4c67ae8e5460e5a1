import AtRestAudit
import AtRestIndex
import Foundation

/// The `atrest stats` result: what was read (provenance) and what it holds (inventory).
/// One model, rendered as text for people and as versioned JSON for machines.
public struct StatsReport: Sendable, Encodable {
    /// Identifies the JSON document's schema; bumped on incompatible changes.
    public static let apiVersion = "atrest.io/v1"

    public var provenance: IndexProvenance
    public var inventory: Inventory
    public var keyUsage: KeyUsage
    /// `--wide`: text table cells are never cut (`TextTable.cellWidth`).
    public var wide = false

    public init(provenance: IndexProvenance, inventory: Inventory, keyUsage: KeyUsage) {
        self.provenance = provenance
        self.inventory = inventory
        self.keyUsage = keyUsage
    }

    private enum CodingKeys: String, CodingKey { case apiVersion, kind, input, inventory, keyUsage }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.apiVersion, forKey: .apiVersion)
        try container.encode("Stats", forKey: .kind)
        try container.encode(provenance, forKey: .input)
        try container.encode(inventory, forKey: .inventory)
        try container.encode(keyUsage, forKey: .keyUsage)
    }

    /// Sorted keys, stable arrays, no timestamps: identical from run to run.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return JSONText.escapingInvisibles(String(decoding: try encoder.encode(self), as: UTF8.self)) + "\n"
    }

    public func text() -> String {
        var out = ""
        let p = provenance
        let inv = inventory
        for input in p.inputs {
            var facts = [input.format.rawValue, Human.bytes(input.size)]
            if let revision = input.revision { facts.append("revision \(revision)") }
            if let trailer = input.trailer { facts.append("sha256 trailer \(trailer.rawValue)") }
            if input.documents > 1 { facts.append("\(input.documents) documents") }
            out += "input    \(input.name.terminal): \(facts.joined(separator: ", "))\n"
            out += "         sha256 \(input.sha256)\n"
            if let kine = input.kine {
                out += "kine     \(Human.count(kine.rows)) rows; skipped \(Human.count(kine.compactRevKeyRows)) compact_rev_key and \(Human.count(kine.gapRows)) gap rows;"
                out += " \(Human.count(kine.oldValueCopies)) copies of earlier values in old_value (and delete rows' value)\n"
            }
        }
        switch p.completeness {
        case .complete: break
        case .incomplete: out += "WARNING  incomplete export: \(p.completenessReason.terminal(or: "keys are missing"))\n"
        // The reason says that completeness cannot be checked, and why.
        case .unverifiable: out += "note     \(p.completenessReason.terminal(or: "completeness cannot be checked: the format has no count"))\n"
        case .partial: out += "WARNING  completeness: partial: \(p.completenessReason.terminal(or: "salvaged from a damaged snapshot"))\n"
        }
        out += "\n"
        out += "keys     \(Human.count(inv.totals.keys)) live, \(Human.bytes(inv.totals.bytes))"
        out += " (\(Human.count(inv.totals.underPrefix)) under \(inv.etcdPrefix.terminal), \(Human.count(inv.totals.outsidePrefix)) outside)\n"
        if p.inputs.contains(where: { $0.format.hasHistory }) {
            out += "history  \(Human.count(p.counts.revisions)) revisions, \(Human.count(p.counts.tombstones)) tombstones\n"
        }
        out += "read     \(Human.count(p.counts.entriesRead)) entries, \(Human.count(p.counts.refusedTotal)) refused"
        if !p.counts.refused.isEmpty {
            out += " (" + p.counts.refused.sorted { $0.key < $1.key }.map { "\($0.key.terminal): \($0.value)" }.joined(separator: ", ") + ")"
        }
        out += "\n"
        guard inv.totals.underPrefix > 0 else {
            out += "\nNo keys under \(inv.etcdPrefix.terminal) (is --etcd-prefix right?)\n"
            return TerminalText.document(out)
        }
        out += "\nStorage under \(inv.etcdPrefix.terminal): \(Human.count(inv.totals.encrypted)) encrypted, \(Human.count(inv.totals.plaintext)) plaintext"
        if inv.totals.exempt > 0 { out += " (\(Human.count(inv.totals.exempt)) never encrypted by the apiserver)" }
        out += "\n"
        var classes = TextTable([("STORED AS", .left), ("KEYS", .right), ("BYTES", .right)])
        for entry in inv.storageClasses {
            classes.add([entry.storedAs.summary, Human.count(entry.keys), Human.bytes(entry.bytes)])
        }
        out += classes.render(wide: wide)
        out += "\nBy resource\n"
        var resources = TextTable([("RESOURCE", .left), ("KEYS", .right), ("ENCRYPTED", .right), ("PLAINTEXT", .right), ("BYTES", .right)])
        for entry in inv.resources {
            resources.add([entry.resource + (entry.exempt ? " (never encrypted)" : ""), Human.count(entry.keys),
                           Human.count(entry.encrypted), Human.count(entry.plaintext), Human.bytes(entry.bytes)])
        }
        out += resources.render(wide: wide)
        out += KeyUsageText.render(keyUsage, wide: wide)
        return TerminalText.document(out)
    }
}
