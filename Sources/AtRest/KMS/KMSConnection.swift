public import AtRestDump
public import AtRestEncryption

/// Builds the run's `KMSSession` from the configuration's KMS providers: dials each
/// plugin (`--kms`) and checks it as the apiserver's health probe does, or takes the
/// current key IDs the operator gives (`--kms-key-id`) without dialling anything.
public enum KMSConnection {
    /// What the operator asked for on the command line.
    public struct Request: Sendable {
        /// `--kms`: dial every KMS provider's plugin.
        public var askPlugins: Bool
        /// `--kms-endpoint NAME=unix:///path`: another socket for one provider.
        public var endpoints: [String: String]
        /// `--kms-key-id NAME=ID`: the current key ID of a v2 provider, without its plugin.
        public var keyIDs: [String: String]
        /// `--kms-max-calls`: the most `Decrypt` calls the run may send.
        public var maxCalls: Int

        public init(askPlugins: Bool, endpoints: [String: String] = [:], keyIDs: [String: String] = [:], maxCalls: Int = .max) {
            self.askPlugins = askPlugins
            self.endpoints = endpoints
            self.keyIDs = keyIDs
            self.maxCalls = maxCalls
        }

        /// Whether anything KMS was asked for at all.
        public var isEmpty: Bool { !askPlugins && endpoints.isEmpty && keyIDs.isEmpty }
    }

    /// The session, or `nil` when nothing was asked (KMS values stay unverifiable).
    /// `writesSeed` is the release's `KMSv2KDF` (`KubernetesRules.kmsV2WritesSeed`).
    public static func session(for configurations: [EncryptionConfiguration], request: Request,
                               writesSeed: Bool) throws(KMSConnectionError) -> KMSSession? {
        guard !request.isEmpty else { return nil }
        var configured: [String: KMSConfiguration] = [:]
        for configuration in configurations {
            for rule in configuration.rules {
                for case .kms(let kms) in rule.providers where configured[kms.name] == nil { configured[kms.name] = kms }
            }
        }
        for name in Set(request.endpoints.keys).union(request.keyIDs.keys).sorted() where configured[name] == nil {
            throw .unknownProvider(name, configured: configured.keys.sorted())
        }
        for name in request.keyIDs.keys.sorted() where configured[name]?.apiVersion == .v1 {
            throw .keyIDForV1(name)
        }
        if !request.askPlugins, let name = request.endpoints.keys.sorted().first {
            throw .endpointWithoutKMS(name)
        }
        var providers: [String: KMSSession.Provider] = [:]
        for (name, kms) in configured.sorted(by: { $0.key < $1.key }) {
            guard request.askPlugins else {
                providers[name] = KMSSession.Provider(apiVersion: kms.apiVersion, plugin: nil, currentKeyID: request.keyIDs[name])
                continue
            }
            let endpoint = request.endpoints[name] ?? kms.endpoint
            let plugin: GRPCKMSPlugin
            let status: KMSPluginStatus
            do throws(KMSPluginError) {
                plugin = try GRPCKMSPlugin(endpoint: endpoint, apiVersion: kms.apiVersion, timeout: kms.timeout)
                status = try plugin.status()
            } catch {
                throw .unreachable(provider: name, endpoint: endpoint, error)
            }
            if let problem = healthProblem(status, apiVersion: kms.apiVersion) {
                throw .unhealthy(provider: name, endpoint: endpoint, problem)
            }
            // The plugin's own answer is the current key ID; a --kms-key-id that disagrees is a mistake to show.
            if let given = request.keyIDs[name], given != status.keyID {
                throw .keyIDDisagrees(provider: name, given: given, plugin: status.keyID)
            }
            providers[name] = KMSSession.Provider(apiVersion: kms.apiVersion, plugin: plugin,
                                                  currentKeyID: kms.apiVersion == .v2 ? status.keyID : nil)
        }
        return KMSSession(providers: providers, writesSeed: writesSeed, maxCalls: request.maxCalls)
    }

    /// The apiserver's checks of a plugin's answer: v2 `isKMSv2ProviderHealthy`
    /// (`pkg/server/options/encryptionconfig/config.go`): healthz "ok", version v2
    /// (or v2beta1), a valid key ID; v1 `grpc_service.go`: version v1beta1.
    static func healthProblem(_ status: KMSPluginStatus, apiVersion: KMSConfiguration.APIVersion) -> String? {
        switch apiVersion {
        case .v2:
            var problems: [String] = []
            if status.healthz != "ok" { problems.append("got unexpected healthz status: \(status.healthz)") }
            if status.version != "v2" && status.version != "v2beta1" { problems.append("expected KMSv2 API version v2, got \(status.version)") }
            if status.keyID.isEmpty { problems.append("got an empty key ID") }
            if status.keyID.utf8.count > 1024 { problems.append("got a key ID of \(status.keyID.utf8.count) bytes, over 1 kB") }
            return problems.isEmpty ? nil : problems.joined(separator: ", ")
        case .v1:
            return status.version == GRPCKMSPlugin.v1APIVersion ? nil
                : "KMS provider api version \(status.version) is not supported, only \(GRPCKMSPlugin.v1APIVersion) is supported now"
        }
    }
}

/// Why the KMS plugins could not be set up; one line, exit status 2.
public enum KMSConnectionError: Error, Sendable, ReportableError {
    case unknownProvider(String, configured: [String])
    case keyIDForV1(String)
    case endpointWithoutKMS(String)
    case unreachable(provider: String, endpoint: String, KMSPluginError)
    case unhealthy(provider: String, endpoint: String, String)
    case keyIDDisagrees(provider: String, given: String, plugin: String)
    /// A plugin that answered `Status` stopped answering during the run.
    case stoppedAnswering(provider: String, endpoint: String, KMSPluginError)
    /// The input needs more `Decrypt` calls than `--kms-max-calls` allows; found before any was sent.
    case tooManyCalls(needed: Int, atLeast: Bool, limit: Int)

    public var identifier: String {
        switch self {
        case .unknownProvider, .keyIDForV1, .endpointWithoutKMS: return "usage"
        case .unreachable, .stoppedAnswering: return "kms.unreachable"
        case .unhealthy: return "kms.unhealthy"
        case .keyIDDisagrees: return "kms.key-id-disagrees"
        case .tooManyCalls: return "kms.too-many-calls"
        }
    }

    public var description: String {
        switch self {
        case .unknownProvider(let name, let configured):
            let known = configured.isEmpty ? "the configuration has no KMS provider" : "its KMS providers are \(configured.map { "\"\($0)\"" }.joined(separator: ", "))"
            return "no KMS provider is named \"\(name)\" in the configuration; \(known)"
        case .keyIDForV1(let name):
            return "KMS provider \"\(name)\" is v1, whose values carry no key ID; --kms-key-id is for v2 providers"
        case .endpointWithoutKMS(let name):
            return "--kms-endpoint \(name)=... needs --kms: without it no plugin is dialled"
        case .unreachable(let provider, let endpoint, let error):
            return "KMS provider \"\(provider)\" at \(endpoint): \(error)"
        case .unhealthy(let provider, let endpoint, let problem):
            return "KMS provider \"\(provider)\" at \(endpoint) is not healthy: \(problem)"
        case .stoppedAnswering(let provider, let endpoint, let error):
            return "KMS provider \"\(provider)\" at \(endpoint): \(error); the run stopped, its values have no verdict"
        case .tooManyCalls(let needed, let atLeast, let limit):
            return "the input holds \(atLeast ? "at least " : "")\(needed) distinct KMS DEK sources, so reading it takes as many Decrypt calls, "
                + "over --kms-max-calls \(limit); no call was sent. Raise --kms-max-calls if the KMS may take them"
        case .keyIDDisagrees(let provider, let given, let plugin):
            return "KMS provider \"\(provider)\": --kms-key-id says \"\(given)\", but the plugin's Status says its current key ID is \"\(plugin)\""
        }
    }
}
