import AtRestAudit

/// The key usage section shared by `stats` and `audit --history`.
enum KeyUsageText {
    static func render(_ usage: KeyUsage, wide: Bool = false) -> String {
        guard !usage.aesgcmWrites.isEmpty || !usage.kmsV2.isEmpty || !usage.otherWrites.isEmpty else { return "" }
        var out = "\nKey usage (" + (usage.coversHistory ? "every revision in the snapshot" : "live entries only: a lower bound") + ")\n"
        var table = TextTable([("KEY", .left), ("WRITES", .right), ("NOTE", .left)])
        for (name, writes) in usage.aesgcmWrites.sorted(by: { $0.key < $1.key }) {
            var note = ""
            if UInt64(writes) >= KeyUsage.aesgcmNonceBound {
                note = "PAST the 2^32 random-nonce bound: rotate now"
            } else if writes >= KeyUsage.aesgcmRotationWrites {
                note = "past \(Human.count(KeyUsage.aesgcmRotationWrites)) writes: rotate (Kubernetes docs)"
            }
            table.add(["aesgcm \(name)", Human.count(writes), note])
        }
        for (name, writes) in usage.otherWrites.sorted(by: { $0.key < $1.key }) {
            table.add([name, Human.count(writes), ""])
        }
        for (id, kms) in usage.kmsV2.sorted(by: { $0.key < $1.key }) {
            let deks = Human.count(kms.distinctDEKs) + (kms.capped ? "+" : "")
            table.add(["kms v2 \(id.providerName) key id \(id.keyID)", Human.count(kms.values), "\(deks) distinct DEKs/seeds"])
        }
        out += table.render(wide: wide)
        return out
    }
}
