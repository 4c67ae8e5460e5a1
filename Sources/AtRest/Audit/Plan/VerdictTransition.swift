/// How one entry's verdict changes when the proposed configuration replaces the current one.
///
/// Why a type of its own: the plan's answer ("is it safe to apply?") depends only on the
/// pair, not on the resource or the key, so the pair carries its meaning (`effect`) and the
/// report can count, sort and explain transitions without re-deriving the rules.
public struct VerdictTransition: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The verdict under the current configuration.
    public var from: Verdict
    /// The verdict under the proposed configuration.
    public var to: Verdict

    public init(from: Verdict, to: Verdict) {
        self.from = from
        self.to = to
    }

    /// What a transition means for the operator, worst first.
    public enum Effect: String, Sendable, Hashable, Comparable, CaseIterable {
        /// Readable today (or stored by a listed KMS), unreadable under the proposed
        /// configuration: the apiserver would fail on it. Makes the plan unsafe.
        case breaks
        /// Readable, but not as the proposed configuration writes: a rewrite must touch it
        /// (expected during a rotation or a migration, not unsafe).
        case needsRewrite
        /// Undecryptable today, readable under the proposed configuration (a key was added back).
        case repairs
        /// Becomes current (or moves to another terminal verdict): nothing left to do.
        case settles

        public static func < (a: Effect, b: Effect) -> Bool {
            (allCases.firstIndex(of: a) ?? 0) < (allCases.firstIndex(of: b) ?? 0)
        }
    }

    /// Only "readable → undecryptable" breaks: an entry that is already undecryptable
    /// stays so and is the audit's finding, not the plan's.
    public var effect: Effect {
        if to == .undecryptable && from != .undecryptable { return .breaks }
        // Repaired entries may still need a rewrite; the rewrite plan counts them either way.
        if from == .undecryptable { return .repairs }
        if to == .stale || to == .unencrypted { return .needsRewrite }
        return .settles
    }

    /// One sentence on why this happens, for the report (the per-entry reason says which key).
    public var meaning: String {
        switch (from, to) {
        case (.unencrypted, .undecryptable): "plaintext without identity in the proposed rule: identity removed before the rewrite"
        case (.stale, .undecryptable): "the key or provider that reads it today is removed: retired before the rewrite"
        case (.current, .undecryptable): "the key that writes today is removed or changed"
        case (.unverifiable, .undecryptable): "the KMS provider that stored it is removed or renamed"
        case (_, .undecryptable): "no provider of the proposed rule reads it"
        case (.current, .stale): "another key or provider writes under the proposed configuration (expected in a rotation)"
        case (.current, .unencrypted): "the proposed configuration encrypts what is written in plaintext today (expected when enabling encryption)"
        case (_, .stale), (_, .unencrypted): "readable, but not as the proposed configuration writes"
        case (.undecryptable, _): "the proposed configuration adds back what reads it"
        case (_, .current): "stored as the proposed configuration writes"
        default: "the proposed rule reads it differently"
        }
    }

    public var description: String { "\(from.rawValue) -> \(to.rawValue)" }

    public static func < (a: VerdictTransition, b: VerdictTransition) -> Bool {
        (a.effect, a.from, a.to) < (b.effect, b.from, b.to)
    }
}
