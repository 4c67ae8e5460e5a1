import ArgumentParser
import AtRestAudit
import AtRestDump
import AtRestEncryption
import AtRestIndex
import AtRestReport
import Foundation

/// `atrest plan --config CURRENT --proposed NEXT INPUT|--index DIR` and
/// `atrest plan --compare HOST HOST... [INPUT|--index DIR]`.
///
/// Why a command of its own rather than two audits compared by hand: the question before a
/// configuration change is per entry ("is anything readable today unreadable tomorrow?"),
/// and answering it needs both verdicts of every entry side by side, in one pass.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Say whether a configuration change, or a set of control-plane hosts, is safe for the data as stored.",
        usage: """
            atrest plan --config CURRENT --proposed NEXT (<input> ... | --index DIR) [--output text|json|markdown] [--limit N]
            atrest plan --compare HOST HOST ... [<input> ... | --index DIR] [--output text|json|markdown] [--limit N]
            """,
        discussion: """
            --proposed: every entry is judged under CURRENT and under NEXT; the plan is unsafe when an entry CURRENT \
            reads would be undecryptable under NEXT. Verdict changes are counted per pair and resource, and the \
            kubectl commands that rewrite what is still stale or unencrypted under NEXT are listed. \
            --compare: each host's configuration must read what every other host writes (its first provider and key: \
            same provider, key name and secret bytes; KMS: same name and API version; identity: identity listed). \
            With an input, every entry is also judged under every host's configuration. Input files may follow the \
            host files: the first --compare value that is not an EncryptionConfiguration starts the inputs (or write \
            them before --compare, or after --). \
            Exit status: 0 safe; 1 unsafe; 2 usage, configuration or input error; 3 nothing audited; \
            4 safe as far as can be told, but the input was salvaged (--salvage): results are partial.
            """
    )

    @Option(name: .customLong("config"), help: ArgumentHelp("The configuration the apiservers run today.", valueName: "file"))
    var configPath: String?

    @Option(name: .customLong("proposed"), help: ArgumentHelp("The configuration to apply next.", valueName: "file"))
    var proposedPath: String?

    @Option(name: .customLong("compare"), parsing: .upToNextOption,
            help: ArgumentHelp("Compare the configurations of several control-plane hosts.", valueName: "host-config"))
    var compare: [String] = []

    @OptionGroup var input: InputOptions

    @OptionGroup var kubernetes: KubernetesRulesOptions

    @OptionGroup var kms: KMSOptions

    @Option(name: .customLong("etcd-prefix"), help: "The apiserver's --etcd-prefix (OpenShift: /kubernetes.io).")
    var etcdPrefix = "/registry"

    @Option(name: .customLong("output"), help: ArgumentHelp("One of: \(PlanOutputFormat.allCases.map(\.rawValue).joined(separator: ", ")).",
                                                              valueName: "format"))
    var output: PlanOutputFormat = .text

    @Option(name: .customLong("limit"), help: "Entries listed per list in text and Markdown (JSON lists every breaking entry).")
    var limit = 10

    @Flag(name: .customLong("wide"), help: "Text: never cut long table cells.")
    var wide = false

    func validate() throws {
        let proposing = configPath != nil || proposedPath != nil
        if proposing && !compare.isEmpty { throw ValidationError("give --config and --proposed, or --compare, not both") }
        if !proposing && compare.isEmpty { throw ValidationError("give --config CURRENT --proposed NEXT, or --compare HOST HOST ...") }
        if proposing && (configPath == nil || proposedPath == nil) { throw ValidationError("--config and --proposed go together") }
        if proposing && !input.isGiven { throw ValidationError("give input files or --index DIR: a plan judges the data as stored") }
        if limit < 0 { throw ValidationError("--limit must be 0 or more") }
    }

    func run() throws {
        if let configPath, let proposedPath {
            try plan(current: configPath, proposed: proposedPath)
        } else {
            try compareHosts()
        }
    }

    private func plan(current currentPath: String, proposed proposedPath: String) throws {
        let rules = try kubernetes.rules()
        let current = try ConfigurationInput.load(currentPath, rules: rules), proposed = try ConfigurationInput.load(proposedPath, rules: rules)
        let session = try kms.session(for: [current, proposed], rules: rules)
        try input.withIndex { index in
            try KMSOptions.checkDemand(session, index: index, history: false)
            let resolver = ResourceResolver(etcdPrefix: etcdPrefix)
            var analyzer = PlanAnalyzer(current: current, proposed: proposed, resolver: resolver, exampleLimit: limit)
            analyzer.kms = session
            let analysis = try analyzer.run(index)
            try KMSOptions.checkNoFailure(session)
            var report = PlanReport(provenance: index.provenance, etcdPrefix: String(decoding: resolver.prefix, as: UTF8.self),
                                    current: ConfigurationInput.file(currentPath), proposed: ConfigurationInput.file(proposedPath), analysis: analysis, limit: limit)
            report.kubernetesRules = rules
            report.wide = wide
            Output.standardOutput(Data(report.render(output).utf8))
            if analysis.audited == 0 {
                Output.standardError(Data("atrest: nothing audited: no key under \(TerminalText.field(etcdPrefix))\n".utf8))
            }
            try RunOutcome(nothingAudited: analysis.audited == 0, findings: !analysis.isSafe,
                           partial: index.provenance.completeness == .partial).finish()
        }
    }

    private func compareHosts() throws {
        let (hostPaths, trailingInputs) = input.isGiven ? (compare, []) : try Self.splitCompare(compare)
        guard hostPaths.count >= 2 else { throw ValidationError("--compare needs at least two host configurations") }
        guard Set(hostPaths).count == hostPaths.count else { throw ValidationError("--compare: each host configuration once") }
        let rules = try kubernetes.rules()
        let hosts = try hostPaths.map { HostConfiguration(name: $0, configuration: try ConfigurationInput.load($0, rules: rules)) }
        let resolver = ResourceResolver(etcdPrefix: etcdPrefix)
        let comparison: HostComparison
        var provenance: IndexProvenance?
        if input.isGiven || !trailingInputs.isEmpty {
            (comparison, provenance) = try input.withIndex(extra: trailingInputs) { index in
                (try HostComparison.run(hosts: hosts, index: index, resolver: resolver), index.provenance)
            }
        } else {
            comparison = HostComparison(hosts: hosts)
        }
        var report = HostComparisonReport(hosts: hostPaths.map(ConfigurationInput.file), comparison: comparison, provenance: provenance,
                                          etcdPrefix: String(decoding: resolver.prefix, as: UTF8.self), limit: limit)
        report.kubernetesRules = rules
        report.wide = wide
        Output.standardOutput(Data(report.render(output).utf8))
        // An unsafe comparison is the answer even when the data holds no key.
        if !comparison.isSafe { try RunOutcome.findings.finish() }
        let nothingAudited = comparison.data.map { $0.audited == 0 } ?? false
        if nothingAudited {
            Output.standardError(Data("atrest: nothing audited: no key under \(TerminalText.field(etcdPrefix))\n".utf8))
        }
        try RunOutcome(nothingAudited: nothingAudited, findings: false, partial: provenance?.completeness == .partial).finish()
    }

    /// `--compare h1.yaml h2.yaml export.json`: ArgumentParser gives every value to
    /// `--compare`. Host files are EncryptionConfigurations, and each names its kind
    /// (`EncryptionConfiguration`, legacy `EncryptionConfig`) in its first MiB (the loader's
    /// size cap); the first value that does not is an input, and so is every value after it.
    /// A file that cannot be read stays a host file, so that the loader reports it.
    static func splitCompare(_ values: [String]) throws -> (hosts: [String], inputs: [String]) {
        for (position, value) in values.enumerated() where value == "-" || !mentionsConfigurationKind(value) {
            return (Array(values[..<position]), Array(values[position...]))
        }
        return (values, [])
    }

    private static func mentionsConfigurationKind(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return true }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 1 << 20) else { return true }
        return head.range(of: Data("EncryptionConfig".utf8)) != nil
    }
}

extension PlanOutputFormat: ExpressibleByArgument {}

