/// A KMS plugin as the apiserver uses it to read (k8s.io/kms `apis/v2/api.proto`,
/// `apis/v1beta1/api.proto`): a health or version check, and `Decrypt` of a wrapped
/// DEK or DEK source. Nothing here can encrypt: atrest never sends `Encrypt` and
/// never sends object data, only what etcd already holds wrapped.
///
/// The calls block: the audit's threads ask for a DEK source the first time they
/// meet it and wait for the answer, as the apiserver's read does.
public protocol KMSPlugin: Sendable {
    /// Where the plugin listens, as the configuration (or `--kms-endpoint`) names it.
    var endpoint: String { get }
    /// v2 `Status`; v1 `Version` (its `healthz` is "ok" and `keyID` empty).
    func status() throws(KMSPluginError) -> KMSPluginStatus
    /// `Decrypt` of one wrapped DEK (v1) or DEK source (v2).
    func decrypt(_ request: KMSDecryptRequest) throws(KMSPluginError) -> SecretBytes
}

/// What `Status` (v2) or `Version` (v1) answers.
public struct KMSPluginStatus: Sendable, Hashable {
    /// The plugin's API version: `v2` (or `v2beta1`), `v1beta1`.
    public var version: String
    /// "ok" when healthy; anything else is the apiserver's healthz failure text.
    public var healthz: String
    /// v2: the key ID the plugin encrypts with now, the one a rewrite would use.
    public var keyID: String

    public init(version: String, healthz: String, keyID: String) {
        self.version = version
        self.healthz = healthz
        self.keyID = keyID
    }
}

/// One `Decrypt` request, as the apiserver builds it from a stored value.
public enum KMSDecryptRequest: Sendable, Hashable {
    /// `kmsv2/envelope.go` `TransformFromStorage`: the EncryptedObject's
    /// `encryptedDEKSource`, `keyID` and `annotations`.
    case v2(ciphertext: [UInt8], keyID: String, annotations: [String: [UInt8]])
    /// `envelope.go` (v1) `TransformFromStorage`: the wrapped DEK that precedes the data.
    case v1(cipher: [UInt8])
}

/// Why a plugin call failed.
public enum KMSPluginError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The plugin answered with a gRPC error: it will not unwrap this source.
    case refused(code: String, message: String)
    /// No answer: nothing listens at the socket, the connection broke, or the
    /// plugin does not speak the KMS API.
    case unreachable(String)
    /// No answer within the provider's configured `timeout`.
    case timedOut(seconds: Double)
    /// Not sent: the run already made the most `Decrypt` calls it may (`--kms-max-calls`).
    case callLimit(Int)

    public var description: String {
        switch self {
        case .refused(let code, let message): return message.isEmpty ? code : "\(code): \(message)"
        case .unreachable(let why): return why
        case .timedOut(let seconds): return "no answer within \(Self.format(seconds)) (the provider's timeout)"
        case .callLimit(let limit): return "not asked: the run already sent \(limit) Decrypt calls, the most --kms-max-calls allows"
        }
    }

    /// Whether the audit must stop: a plugin that does not answer is not a verdict.
    public var stopsTheAudit: Bool {
        if case .refused = self { return false }
        return true
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }
}
