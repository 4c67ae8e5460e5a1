import ArgumentParser
import AtRestAudit
import AtRestDump
import AtRestEncryption
import AtRestIndex
import AtRestKMS

/// `--kms`, `--kms-endpoint` and `--kms-key-id`: whether KMS values are read through
/// their plugins, and what is known of the current key IDs without them (docs/kms.md).
struct KMSOptions: ParsableArguments {
    @Flag(name: .customLong("kms"),
          help: "Ask every KMS provider's plugin, at its configured endpoint, to unwrap the DEKs, then decrypt locally as the apiserver reads. Sends Status/Version and Decrypt only, never Encrypt, never object data.")
    var askPlugins = false

    @Option(name: .customLong("kms-endpoint"),
            help: ArgumentHelp("With --kms, another socket for one provider (repeatable), e.g. a plugin started by hand beside a copied snapshot.",
                               valueName: "name=unix:///path"))
    var endpoints: [String] = []

    @Option(name: .customLong("kms-key-id"),
            help: ArgumentHelp("The current key ID of a KMS v2 provider, without asking its plugin (repeatable): staleness by key ID is then known offline.",
                               valueName: "name=id"))
    var keyIDs: [String] = []

    @Option(name: .customLong("kms-max-calls"),
            help: ArgumentHelp("With --kms, the most Decrypt calls to send (one per distinct DEK source in the input). An input that needs more is refused before the first call.",
                               valueName: "n"))
    var maxCalls = KMSOptions.defaultMaxCalls

    /// A v2 cluster has a few DEK sources per key rotation and apiserver restart; a v1 cluster one per
    /// write (docs/kms.md): a thousand calls cover the first kind, and make the second kind ask first.
    static let defaultMaxCalls = 1000

    /// Whether any KMS option is given.
    var isGiven: Bool { askPlugins || !endpoints.isEmpty || !keyIDs.isEmpty }

    /// The run's KMS session, `nil` when nothing KMS was asked for. Dials the plugins
    /// now, so a missing, unhealthy or slow one stops the command before any output.
    func session(for configurations: [EncryptionConfiguration], rules: KubernetesRules) throws -> KMSSession? {
        guard maxCalls >= 0 else { throw CommandFailure(message: "--kms-max-calls must be 0 or more") }
        let request = KMSConnection.Request(askPlugins: askPlugins, endpoints: try Self.pairs(endpoints, flag: "--kms-endpoint"),
                                            keyIDs: try Self.pairs(keyIDs, flag: "--kms-key-id"), maxCalls: maxCalls)
        return try KMSConnection.session(for: configurations, request: request, writesSeed: rules.kmsV2WritesSeed)
    }

    /// Stops the command before the first `Decrypt` when the input files need more calls than
    /// `--kms-max-calls`: they are read once more, only to count their DEK sources.
    static func checkDemand(_ session: KMSSession?, files: [String], options: ReadOptions) throws {
        guard let session, session.asksPlugins else { return }
        var demand = KMSCallDemand(session: session)
        _ = try ExportReading.read(files, options: options, into: &demand)
        try check(demand, session)
    }

    /// The same count over an index (`--index`, or standard input read into one).
    static func checkDemand(_ session: KMSSession?, index: Index, history: Bool) throws {
        guard let session, session.asksPlugins else { return }
        try check(try KMSCallDemand.of(index, session: session, history: history), session)
    }

    private static func check(_ demand: KMSCallDemand, _ session: KMSSession) throws {
        guard demand.calls > session.maxCalls else { return }
        throw KMSConnectionError.tooManyCalls(needed: demand.calls, atLeast: demand.isAtLeast, limit: session.maxCalls)
    }

    /// Fails the command when a plugin stopped answering during the run: the verdicts
    /// of its values would be guesses.
    static func checkNoFailure(_ session: KMSSession?) throws {
        guard let failure = session?.failure else { return }
        throw KMSConnectionError.stoppedAnswering(provider: failure.provider, endpoint: failure.endpoint, failure.error)
    }

    /// `NAME=VALUE` pairs, each name once.
    static func pairs(_ values: [String], flag: String) throws -> [String: String] {
        var pairs: [String: String] = [:]
        for value in values {
            let parts = value.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw CommandFailure(message: "\(flag) \(value): expected NAME=VALUE")
            }
            guard pairs.updateValue(String(parts[1]), forKey: String(parts[0])) == nil else {
                throw CommandFailure(message: "\(flag): \"\(parts[0])\" is given twice")
            }
        }
        return pairs
    }
}
