public import AtRestEncryption
import Foundation
import Dispatch
internal import GRPCCore
internal import NIOCore
import Synchronization

/// A KMS plugin reached over gRPC at its `unix://` endpoint, v2
/// (`k8s.io/kms/apis/v2`) or v1 (`v1beta1`).
///
/// The audit calls it from its own threads and waits: each call runs as a task
/// and the calling thread blocks until it answers or the provider's `timeout`
/// passes (the apiserver's per-call timeout, `pkg/storage/value/encrypt/envelope`
/// `grpc_service.go`). Only `Status`/`Version` and `Decrypt` are ever sent.
public final class GRPCKMSPlugin: KMSPlugin {
    public let endpoint: String
    public let apiVersion: KMSConfiguration.APIVersion
    /// The provider's configured `timeout`, for every call.
    public let timeout: Duration
    private let client: GRPCClient<UnixSocketTransport>
    private let connections: Task<Void, Never>

    /// Prepares the client; nothing is dialled until the first call.
    public init(endpoint: String, apiVersion: KMSConfiguration.APIVersion, timeout: Duration) throws(KMSPluginError) {
        // `util.ParseEndpoint` (k8s.io/kms `pkg/util`): only `unix://`, with a path.
        guard endpoint.hasPrefix("unix://"), endpoint.count > "unix://".count else {
            throw .unreachable("the endpoint \"\(endpoint)\" is not unix://PATH")
        }
        self.endpoint = endpoint
        self.apiVersion = apiVersion
        self.timeout = timeout
        let milliseconds = Int64(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let transport = UnixSocketTransport(path: String(endpoint.dropFirst("unix://".count)), connectTimeout: .milliseconds(max(1, milliseconds)))
        let client = GRPCClient(transport: transport)
        self.client = client
        connections = Task { try? await client.runConnections() }
    }

    deinit {
        client.beginGracefulShutdown()
        connections.cancel()
    }

    public func status() throws(KMSPluginError) -> KMSPluginStatus {
        let options = callOptions
        switch apiVersion {
        case .v2:
            let client = V2_KeyManagementService.Client(wrapping: self.client)
            let response = try blocking { try await client.status(V2_StatusRequest(), options: options) }
            return KMSPluginStatus(version: response.version, healthz: response.healthz, keyID: response.keyID)
        case .v1:
            let client = V1beta1_KeyManagementService.Client(wrapping: self.client)
            var request = V1beta1_VersionRequest()
            request.version = Self.v1APIVersion
            let sent = request
            let response = try blocking { try await client.version(sent, options: options) }
            return KMSPluginStatus(version: response.version, healthz: "ok", keyID: "")
        }
    }

    public func decrypt(_ request: KMSDecryptRequest) throws(KMSPluginError) -> SecretBytes {
        let options = callOptions
        switch request {
        case .v2(let ciphertext, let keyID, let annotations):
            let client = V2_KeyManagementService.Client(wrapping: self.client)
            var message = V2_DecryptRequest()
            message.ciphertext = Data(ciphertext)
            message.keyID = keyID
            message.annotations = annotations.mapValues { Data($0) }
            // The apiserver sends a fresh UID per call, for the plugin's logs.
            message.uid = UUID().uuidString.lowercased()
            let sent = message
            let plaintext = try blocking { try await client.decrypt(sent, options: options).plaintext }
            return SecretBytes(Self.takeBytes(plaintext))
        case .v1(let cipher):
            let client = V1beta1_KeyManagementService.Client(wrapping: self.client)
            var message = V1beta1_DecryptRequest()
            message.version = Self.v1APIVersion
            message.cipher = Data(cipher)
            let sent = message
            let plain = try blocking { try await client.decrypt(sent, options: options).plain }
            return SecretBytes(Self.takeBytes(plain))
        }
    }

    /// `kmsapiVersion` of the v1 client (`envelope/grpc_service.go`).
    static let v1APIVersion = "v1beta1"

    private var callOptions: CallOptions {
        var options = CallOptions.defaults
        options.timeout = timeout
        return options
    }

    /// The bytes of a response field as a fresh array; the `Data` is wiped after the copy.
    private static func takeBytes(_ data: Data) -> [UInt8] {
        var data = data
        let bytes = [UInt8](data)
        data.withUnsafeMutableBytes { raw in
            for index in raw.indices { raw[index] = 0 }
        }
        return bytes
    }

    /// Runs `operation` as a task and waits for it on this thread, for at most the
    /// timeout (and a little more, for the task to notice its own deadline first).
    private func blocking<T: Sendable>(_ operation: @Sendable @escaping () async throws -> T) throws(KMSPluginError) -> T {
        let outcome = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let task = Task {
            let result: Result<T, any Error>
            do { result = .success(try await operation()) } catch { result = .failure(error) }
            outcome.withLock { $0 = result }
            done.signal()
        }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        if done.wait(timeout: .now() + seconds + 0.5) == .timedOut {
            task.cancel()
            throw .timedOut(seconds: seconds)
        }
        switch outcome.withLock({ $0 }) {
        case .success(let value): return value
        case .failure(let error): throw Self.pluginError(error, timeout: seconds)
        case nil: throw .unreachable("the call ended without an answer")
        }
    }

    /// A gRPC error as the audit weighs it: a status from the plugin is a refusal,
    /// except those that mean nobody answered.
    static func pluginError(_ error: any Error, timeout: Double) -> KMSPluginError {
        guard let rpc = error as? RPCError else { return .unreachable("\(error)") }
        switch rpc.code {
        case .deadlineExceeded: return .timedOut(seconds: timeout)
        case .unavailable, .cancelled: return .unreachable(rpc.message)
        default: return .refused(code: canonicalName(rpc.code), message: rpc.message)
        }
    }

    /// gRPC's own names for status codes (`NOT_FOUND`), as plugins' logs show them.
    static func canonicalName(_ code: RPCError.Code) -> String {
        let names = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
                     "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
                     "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"]
        return names.indices.contains(code.rawValue) ? names[code.rawValue] : "code \(code.rawValue)"
    }
}
