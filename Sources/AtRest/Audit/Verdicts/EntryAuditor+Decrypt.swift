import AtRestDump
import AtRestEncryption

/// What the apiserver's read path yields for one value: the plaintext and who read it.
///
/// Used by `atrest inspect --decrypt`. The plaintext is held as `SecretBytes`, so
/// printing the outcome by accident shows `<N-byte secret, redacted>` and the
/// bytes are wiped when the last copy goes; a caller must ask for the bytes
/// explicitly (`withUnsafeBytes`).
public enum ReadOutcome: Sendable {
    /// Stored unencrypted and readable as such: through `identity` in the rule, or
    /// a key the apiserver writes without a transformer (`exempt`).
    case plaintext(SecretBytes, readBy: EntryAudit.ReadPosition?)
    /// Decrypted by a configured static key.
    case decrypted(SecretBytes, readBy: EntryAudit.ReadPosition)
    /// A KMS provider of the rule claims it, and its plugin is not asked.
    case kms(readBy: EntryAudit.ReadPosition)
    /// No provider of the rule reads it; why, provider by provider.
    case unreadable(ReadFailure)
}

extension EntryAuditor {
    /// Reads `value` as the apiserver would for `key`, and keeps the plaintext.
    ///
    /// The same read loop as the audit's verdict (k8s.io/apiserver
    /// `pkg/storage/value/transformer.go`, `prefixTransformers.TransformFromStorage`,
    /// with the per-resource provider list of
    /// `pkg/server/options/encryptionconfig/config.go` `transformerFromOverrides`):
    /// every entry whose prefix the value carries is tried in order, identity skips
    /// `k8s:enc:` data silently, the first that reads wins. So the key that decrypts
    /// here is the key that gives the verdict. `nil` when the key is outside the prefix.
    public func readPlaintext(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> ReadOutcome? {
        // The verdict resolves the key to its group/resource exactly as the audit does
        // (built-ins, custom resources, unknown built-ins, exemptions).
        guard let audit = audit(key: key, value: value) else { return nil }
        if audit.verdict == .exempt { return .plaintext(SecretBytes(Array(value)), readBy: nil) }
        let chain = chain(for: audit.groupResource)
        switch chain.read(value, etcdKey: key, keepingPlaintext: true) {
        case .read(let index, let decrypted):
            let entry = chain.entries[index]
            if let decrypted { return .decrypted(decrypted, readBy: entry.position) }
            return .plaintext(SecretBytes(Array(value)), readBy: entry.position)
        case .kms(let index):
            return .kms(readBy: chain.entries[index].position)
        case .kmsRead(let index, _, let decrypted, _):
            guard let decrypted else {
                return .unreadable(.attempts([ReadFailure.Attempt(position: chain.entries[index].position, reason: .kms("the plugin's answer was not kept"))]))
            }
            return .decrypted(decrypted, readBy: chain.entries[index].position)
        case .failed(let failure):
            return .unreadable(failure)
        }
    }
}
