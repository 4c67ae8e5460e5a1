import AtRestEncryption

/// Why the read loop read nothing: the reason of an `undecryptable` verdict, typed, so
/// that the reports write its text (`Report`) and tests and tools can match its cases.
public enum ReadFailure: Sendable, Hashable {
    /// What every provider key whose prefix the value carries answered, in the read order.
    case attempts([Attempt])
    /// Encrypted, and no provider key of the rule carries its prefix (an unknown provider,
    /// key name or KMS name).
    case noProviderMatchesPrefix
    /// Plaintext, and the rule lists no identity provider.
    case plaintextWithoutIdentity

    /// One provider key that tried and failed.
    public struct Attempt: Sendable, Hashable {
        public var position: EntryAudit.ReadPosition
        public var reason: Reason
    }

    public enum Reason: Sendable, Hashable {
        /// The key did not decrypt the value (wrong key, tampered or truncated value).
        case decryption(DecryptionFailure)
        /// The key could not be loaded (a length its cipher does not take): it reads nothing.
        case keyUnusable(DecryptionFailure)
        /// The KMS plugin did not read it; the session's account of why.
        case kms(String)
    }
}
