import ArgumentParser
import AtRestAudit
import AtRestDump
import AtRestEncryption
import AtRestIndex
import AtRestReport
import Foundation

/// `atrest audit INPUT|--index DIR --config FILE`
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check every entry against an EncryptionConfiguration: can the apiserver read it, and is it stored as written today?",
        discussion: """
            Verdicts: current, stale, unencrypted, undecryptable, unverifiable (KMS), exempt. \
            Exit status: 0 nothing to report; 1 findings (by default any undecryptable or unencrypted entry; \
            see --fail-on and --exit-zero); 2 usage, configuration or input error; 3 nothing was audited; \
            4 no findings, but the input was salvaged (--salvage): results are partial.
            """
    )

    @OptionGroup var input: InputOptions

    @Option(name: .customLong("config"), help: ArgumentHelp("The apiserver's --encryption-provider-config file.", valueName: "file"))
    var configPath: String

    @OptionGroup var kubernetes: KubernetesRulesOptions

    @Option(name: .customLong("etcd-prefix"), help: "The apiserver's --etcd-prefix (OpenShift: /kubernetes.io).")
    var etcdPrefix = "/registry"

    @Option(name: .customLong("output"), help: ArgumentHelp("One of: \(AuditOutputFormat.allCases.map(\.rawValue).joined(separator: ", ")).",
                                                              valueName: "format"))
    var output: AuditOutputFormat = .text

    @Option(name: .customLong("fail-on"), parsing: .upToNextOption,
            help: ArgumentHelp("Verdicts that make the exit status 1.", valueName: "verdict"))
    var failOn: [Verdict] = [.undecryptable, .unencrypted]

    @Flag(name: .customLong("exit-zero"), help: "Exit 0 even with findings (errors still exit 2).")
    var exitZero = false

    @Option(name: .customLong("jobs"),
            help: ArgumentHelp("Threads that audit entries in parallel (default: the number of cores). The output is the same whatever the number.",
                               valueName: "n"))
    var jobs = ProcessInfo.processInfo.activeProcessorCount

    @Flag(name: .customLong("history"),
          help: "Also audit every earlier revision a snapshot keeps, and count the writes of each key.")
    var history = false

    func validate() throws {
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        let rules = try kubernetes.rules()
        let configuration = try ConfigurationInput.load(configPath, rules: rules)
        let configFile = ConfigurationInput.file(configPath)
        let resolver = ResourceResolver(etcdPrefix: etcdPrefix)
        // Keep every entry of the failing verdicts, so that every rendering can name them.
        let auditor = Auditor(configuration: configuration, resolver: resolver, keeping: Set(failOn).union([.undecryptable, .unencrypted]))
        if let streamed = try streamedAudit(auditor) {
            try finish(result: streamed.result, provenance: streamed.provenance, resolver: resolver, configFile: configFile, rules: rules)
            return
        }
        try input.withIndex { index in
            if history && index.provenance.counts.revisions == 0 {
                throw CommandFailure(message: "--history needs an input with history (an etcd snapshot); this one has only the latest revision of each key")
            }
            let stdout = StandardOutput()
            let result = try auditor.run(index, jobs: jobs, each: output == .jsonl ? { stdout.write(AuditReport.jsonLine($0) + "\n") } : nil)
            var historyAudit: HistoryAudit?
            var keyUsage: KeyUsage?
            if history {
                historyAudit = try HistoryAudit(index: index, auditor: EntryAuditor(configuration: configuration, resolver: resolver))
                keyUsage = try KeyUsage(index: index, configuration: configuration)
            }
            try finish(result: result, provenance: index.provenance, resolver: resolver, configFile: configFile, rules: rules,
                       history: historyAudit, keyUsage: keyUsage, stdout: stdout)
        }
    }

    /// The audit of export files in one pass, without an index (`StreamingAudit`):
    /// `nil` when the inputs need one (an index or a snapshot, standard input,
    /// `--history`, JSONL in key order, or keys out of order), and then nothing
    /// has been printed.
    private func streamedAudit(_ auditor: Auditor) throws -> (result: AuditResult, provenance: IndexProvenance)? {
        guard input.indexDirectory == nil, !history, output != .jsonl,
              ExportReading.isSequentialExport(input.inputs, options: input.readOptions) else { return nil }
        let progress = ProgressBar(label: "auditing")
        defer { progress.finish() }
        do {
            return try StreamingAudit.run(input.inputs, options: input.readOptions, auditor: auditor, jobs: jobs, progress: progress.update)
        } catch is StreamingAudit.NotSequential {
            return nil
        }
    }

    /// Prints the report and sets the exit status.
    private func finish(result: AuditResult, provenance: IndexProvenance, resolver: ResourceResolver, configFile: ConfigurationFile,
                        rules: KubernetesRules, history: HistoryAudit? = nil, keyUsage: KeyUsage? = nil, stdout: StandardOutput = StandardOutput()) throws {
        var report = AuditReport(provenance: provenance, configurationPath: configFile.path, configurationSHA256: configFile.sha256,
                                 etcdPrefix: String(decoding: resolver.prefix, as: UTF8.self), result: result,
                                 history: history, keyUsage: keyUsage)
        report.failOn = Set(failOn)
        report.kubernetesRules = rules
        if let rendered = report.render(output) { stdout.write(rendered) }
        stdout.flush()
        if result.summary.audited == 0 {
            FileHandle.standardError.write(Data("atrest: nothing audited: no key under \(etcdPrefix)\n".utf8))
            throw ExitCode(3)
        }
        let findings = failOn.contains { (result.summary.byVerdict[$0] ?? 0) > 0 }
        if findings && !exitZero { throw ExitCode(1) }
        if provenance.completeness == .partial { throw ExitCode(4) }
    }
}

extension AuditOutputFormat: ExpressibleByArgument {}
extension Verdict: ExpressibleByArgument {}

/// Buffered standard output: JSONL for millions of entries must not pay a
/// system call per line.
final class StandardOutput {
    private var buffer: [UInt8] = []

    func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}
