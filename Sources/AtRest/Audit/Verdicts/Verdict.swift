/// What the audit concludes about one entry under the etcd prefix, following the
/// apiserver's read path (`pkg/storage/value/transformer.go`,
/// `prefixTransformers.TransformFromStorage`) for the entry's resource.
public enum Verdict: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Read by the rule's first provider and (for keyed providers) its first key:
    /// stored exactly as the apiserver writes today.
    case current
    /// Readable, but not by the first provider and key: a rewrite would change it.
    case stale
    /// Plaintext, readable only because `identity` follows an encrypting first
    /// provider: it becomes unreadable when `identity` is removed.
    case unencrypted
    /// No provider of the rule reads it: the apiserver fails on it.
    case undecryptable
    /// Stored by a KMS provider the rule lists whose plugin is not asked (`--kms` asks it).
    case unverifiable
    /// A key the apiserver never passes through a transformer.
    case exempt

    public static func < (a: Verdict, b: Verdict) -> Bool {
        (allCases.firstIndex(of: a) ?? 0) < (allCases.firstIndex(of: b) ?? 0)
    }
}
