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
            Verdicts: current, stale, unencrypted, undecryptable, unverifiable (KMS, unless --kms asks the plugins), exempt. \
            Exit status: 0 nothing to report; 1 findings (by default any undecryptable or unencrypted entry; \
            see --fail-on and --exit-zero); 2 usage, configuration or input error; 3 nothing was audited; \
            4 no findings, but the input was salvaged (--salvage): results are partial.
            """
    )

    @OptionGroup var input: InputOptions

    @Option(name: .customLong("config"),
            help: ArgumentHelp("The apiserver's --encryption-provider-config file; repeat it to give each --etcd-prefix its own, in the same order.",
                               valueName: "file"))
    var configPaths: [String] = []

    @OptionGroup var kubernetes: KubernetesRulesOptions

    @OptionGroup var kms: KMSOptions

    @Option(name: .customLong("etcd-prefix"),
            help: "The apiserver's --etcd-prefix; repeatable, each audited and reported on its own (OpenShift: /kubernetes.io and /openshift.io).")
    var etcdPrefixes: [String] = []

    @Option(name: .customLong("output"), help: ArgumentHelp("One of: \(AuditOutputFormat.allCases.map(\.rawValue).joined(separator: ", ")).",
                                                              valueName: "format"))
    var output: AuditOutputFormat = .text

    @Option(name: .customLong("fail-on"), parsing: .upToNextOption,
            help: ArgumentHelp("Verdicts that make the exit status 1.", valueName: "verdict"))
    var failOn: [Verdict] = [.undecryptable, .unencrypted]

    @Flag(name: .customLong("exit-zero"), help: "Exit 0 even with findings (errors still exit 2).")
    var exitZero = false

    @Flag(name: .customLong("wide"), help: "Text: never cut long table cells.")
    var wide = false

    @Option(name: .customLong("jobs"),
            help: ArgumentHelp("Threads that audit entries in parallel (default: the number of cores). The output is the same whatever the number.",
                               valueName: "n"))
    var jobs = ProcessInfo.processInfo.activeProcessorCount

    @Flag(name: .customLong("history"),
          help: "Also audit every earlier revision a snapshot or kine database keeps, and count the writes of each key.")
    var history = false

    func validate() throws {
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if configPaths.isEmpty { throw ValidationError("missing --config FILE") }
        let prefixes = max(etcdPrefixes.count, 1)
        if configPaths.count != 1 && configPaths.count != prefixes {
            throw ValidationError("give one --config for every --etcd-prefix (\(prefixes)), or one for all; got \(configPaths.count)")
        }
        if Set(etcdPrefixes.map { ResourceResolver(etcdPrefix: $0).prefix }).count != etcdPrefixes.count {
            throw ValidationError("an --etcd-prefix is given twice")
        }
        if etcdPrefixes.count > 1 && ![.text, .json, .jsonl].contains(output) {
            throw ValidationError("several --etcd-prefix values are reported as text, json or jsonl")
        }
    }

    /// The prefixes to audit, each with its configuration.
    private var audits: [(prefix: String, config: String)] {
        let prefixes = etcdPrefixes.isEmpty ? ["/registry"] : etcdPrefixes
        return prefixes.enumerated().map { ($1, configPaths.count == 1 ? configPaths[0] : configPaths[$0]) }
    }

    func run() throws {
        let rules = try kubernetes.rules()
        if audits.count > 1 { return try runSeveral(rules: rules) }
        let etcdPrefix = audits[0].prefix, configPath = audits[0].config
        let configuration = try ConfigurationInput.load(configPath, rules: rules)
        let configFile = ConfigurationInput.file(configPath)
        let resolver = ResourceResolver(etcdPrefix: etcdPrefix)
        let session = try kms.session(for: [configuration], rules: rules)
        // Keep the entries the chosen rendering names one by one; count the rest.
        let auditor = Auditor(configuration: configuration, resolver: resolver, keeping: output.listedVerdicts(failOn: Set(failOn)), kms: session)
        if let streamed = try streamedAudit(auditor, kms: session) {
            try finish(result: streamed.result, provenance: streamed.provenance, resolver: resolver, configFile: configFile, rules: rules, kms: session)
            return
        }
        try input.withIndex { index in
            if history && index.provenance.counts.revisions == 0 {
                throw CommandFailure(message: "--history needs an input with history (an etcd snapshot or a k3s kine state.db); this one has only the latest revision of each key")
            }
            try KMSOptions.checkDemand(session, index: index, history: history)
            let stdout = StandardOutput()
            let result = try auditor.run(index, jobs: jobs, each: output == .jsonl ? { stdout.write(AuditReport.jsonLine($0) + "\n") } : nil)
            var historyAudit: HistoryAudit?
            var keyUsage: KeyUsage?
            if history {
                historyAudit = try HistoryAudit(index: index, auditor: EntryAuditor(configuration: configuration, resolver: resolver, kms: session))
                keyUsage = try KeyUsage(index: index, configuration: configuration)
            }
            try finish(result: result, provenance: index.provenance, resolver: resolver, configFile: configFile, rules: rules,
                       history: historyAudit, keyUsage: keyUsage, kms: session, stdout: stdout)
        }
    }

    /// The audit of export files in one pass, or of a snapshot file in two, without an
    /// index (`StreamingAudit`): `nil` when the inputs need one (an index, standard
    /// input, `--history`, `--salvage`, JSONL in key order, or keys out of order), and
    /// then nothing has been printed. With KMS plugins asked, the files are read once
    /// before, only to count the `Decrypt` calls they need (an index is counted instead).
    private func streamedAudit(_ auditor: Auditor, kms session: KMSSession?) throws -> (result: AuditResult, provenance: IndexProvenance)? {
        guard input.indexDirectory == nil, !history, output != .jsonl else { return nil }
        let snapshot = ExportReading.isSnapshotFile(input.inputs, options: input.readOptions)
        guard snapshot || ExportReading.isSequentialExport(input.inputs, options: input.readOptions) else { return nil }
        try KMSOptions.checkDemand(session, files: input.inputs, options: input.readOptions)
        let progress = ProgressBar(label: "auditing")
        defer { progress.finish() }
        do {
            if snapshot, let path = input.inputs.first {
                return try StreamingAudit.runSnapshot(path, options: input.readOptions, auditor: auditor, jobs: jobs, progress: progress.update)
            }
            return try StreamingAudit.run(input.inputs, options: input.readOptions, auditor: auditor, jobs: jobs, progress: progress.update)
        } catch is StreamingAudit.NotSequential {
            return nil
        }
    }

    /// Several etcd prefixes of one export (OpenShift's API servers): one index, one
    /// audit per prefix under its own configuration, the reports one after the other
    /// (JSON: one `AuditList` document). The exit status is the worst of the audits:
    /// 3 when any prefix has nothing under it, else 1 on findings, else 4 when salvaged.
    private func runSeveral(rules: KubernetesRules) throws {
        let loaded = try audits.map { (prefix: $0.prefix, configuration: try ConfigurationInput.load($0.config, rules: rules), file: ConfigurationInput.file($0.config)) }
        let session = try kms.session(for: loaded.map(\.configuration), rules: rules)
        try input.withIndex { index in
            if history && index.provenance.counts.revisions == 0 {
                throw CommandFailure(message: "--history needs an input with history (an etcd snapshot or a k3s kine state.db); this one has only the latest revision of each key")
            }
            try KMSOptions.checkDemand(session, index: index, history: history)
            let stdout = StandardOutput()
            var reports: [AuditReport] = []
            for audit in loaded {
                let resolver = ResourceResolver(etcdPrefix: audit.prefix)
                let auditor = Auditor(configuration: audit.configuration, resolver: resolver, keeping: output.listedVerdicts(failOn: Set(failOn)), kms: session)
                let result = try auditor.run(index, jobs: jobs, each: output == .jsonl ? { stdout.write(AuditReport.jsonLine($0) + "\n") } : nil)
                var report = AuditReport(provenance: index.provenance, configurationPath: audit.file.path, configurationSHA256: audit.file.sha256,
                                         etcdPrefix: String(decoding: resolver.prefix, as: UTF8.self), result: result)
                if history {
                    report.history = try HistoryAudit(index: index, auditor: EntryAuditor(configuration: audit.configuration, resolver: resolver, kms: session))
                    report.keyUsage = try KeyUsage(index: index, configuration: audit.configuration)
                }
                report.failOn = Set(failOn)
                report.kubernetesRules = rules
                report.kms = session
                report.wide = wide
                reports.append(report)
            }
            try KMSOptions.checkNoFailure(session)
            switch output {
            case .json: stdout.write(AuditReport.json(reports))
            case .jsonl: break
            default: stdout.write(reports.map { $0.text() }.joined(separator: "\n"))
            }
            stdout.flush()
            let empty = reports.filter { $0.result.summary.audited == 0 }
            for report in empty {
                Output.standardError(Data("atrest: nothing audited: no key under \(TerminalText.field(report.etcdPrefix))\n".utf8))
            }
            let findings = reports.contains { report in failOn.contains { (report.result.summary.byVerdict[$0] ?? 0) > 0 } }
            try RunOutcome(nothingAudited: !empty.isEmpty, findings: findings && !exitZero,
                           partial: index.provenance.completeness == .partial).finish()
        }
    }

    /// Prints the report and ends with its outcome's exit status.
    private func finish(result: AuditResult, provenance: IndexProvenance, resolver: ResourceResolver, configFile: ConfigurationFile,
                        rules: KubernetesRules, history: HistoryAudit? = nil, keyUsage: KeyUsage? = nil, kms session: KMSSession? = nil,
                        stdout: StandardOutput = StandardOutput()) throws {
        // Streamed JSONL lines are out already; nothing else is printed for a failed run.
        try KMSOptions.checkNoFailure(session)
        var report = AuditReport(provenance: provenance, configurationPath: configFile.path, configurationSHA256: configFile.sha256,
                                 etcdPrefix: String(decoding: resolver.prefix, as: UTF8.self), result: result,
                                 history: history, keyUsage: keyUsage)
        report.failOn = Set(failOn)
        report.kubernetesRules = rules
        report.kms = session
        report.wide = wide
        if let rendered = report.render(output) { stdout.write(rendered) }
        stdout.flush()
        if result.summary.audited == 0 {
            Output.standardError(Data("atrest: nothing audited: no key under \(TerminalText.field(audits[0].prefix))\n".utf8))
        }
        let findings = failOn.contains { (result.summary.byVerdict[$0] ?? 0) > 0 }
        try RunOutcome(nothingAudited: result.summary.audited == 0, findings: findings && !exitZero,
                       partial: provenance.completeness == .partial).finish()
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
        Output.standardOutput(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}
