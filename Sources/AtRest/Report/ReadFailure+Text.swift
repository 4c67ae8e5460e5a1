import AtRestAudit
import AtRestEncryption

extension EntryAudit.ReadPosition {
    /// `aesgcm key "key1"`, `kms provider "vault"`, `identity`, as reasons name a provider key.
    var label: String {
        guard let keyName else { return providerType }
        if case .kms? = format { return "kms provider \"\(keyName)\"" }
        return "\(providerType) key \"\(keyName)\""
    }
}

extension ReadFailure {
    /// One line per provider key that tried, in the read order.
    var lines: [String] {
        switch self {
        case .noProviderMatchesPrefix: return ["no provider of the rule matches its prefix (unknown provider, key name or KMS name)"]
        case .plaintextWithoutIdentity: return ["plaintext, and the rule has no identity provider"]
        case .attempts(let attempts): return attempts.map { "\($0.position.label): \($0.reason.text)" }
        }
    }

    /// The reason of an `undecryptable` verdict, as every report writes it.
    var text: String { lines.joined(separator: "; ") }
}

extension ReadFailure.Reason {
    var text: String {
        switch self {
        case .decryption(let failure): return "\(failure)"
        case .keyUnusable(let failure): return "key unusable: \(failure)"
        case .kms(let reason): return reason
        }
    }
}

extension EntryAudit {
    /// Why it has its verdict, as the reports write it.
    var reasonText: String { failure?.text ?? reason }
}

extension PlanEntry {
    /// Why the proposed configuration gives it its verdict, as the reports write it.
    var reasonText: String { failure?.text ?? reason }
}
