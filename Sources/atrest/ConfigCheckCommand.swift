import ArgumentParser
import AtRestEncryption
import AtRestReport
import Foundation

/// `atrest config`: commands about the apiserver's `--encryption-provider-config` file.
///
/// A group rather than a flag on the audit commands, because checking the file needs no etcd export
/// and is worth running on its own (before a rollout, in CI).
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check an apiserver EncryptionConfiguration file.",
        subcommands: [ConfigCheckCommand.self]
    )
}

/// `atrest config check FILE`: the apiserver's validation of the file, with YAML line numbers, plus
/// atrest's warnings about configurations that are accepted but weaker than they look.
///
/// Exit status 2 when the apiserver would refuse the file (or, with `--strict`, on any warning), as
/// every "your input is wrong" condition in atrest; 0 otherwise.
struct ConfigCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate an EncryptionConfiguration as the apiserver does, and warn about weak settings.",
        discussion: """
            Prints FILE:LINE: error|warning: FIELD: MESSAGE per finding, then a summary naming the rules used. \
            Error texts are the apiserver's own (k8s.io/apiserver validation_encryption.go, config.go); secrets are \
            never printed. --kube-version applies that release's rules (default: the newest atrest knows), \
            --feature-gates the gates set on it, e.g. KMSv1=true.
            """
    )

    @Argument(help: "The EncryptionConfiguration file (YAML or JSON).")
    var file: String

    @Flag(help: "Exit with status 2 on warnings too.")
    var strict = false

    @Flag(name: .customLong("automatic-reload"),
          help: "Validate as with --encryption-provider-config-automatic-reload (KMS v1 names must be unique too).")
    var automaticReload = false

    @OptionGroup var kubernetes: KubernetesRulesOptions

    @Option(name: .customLong("output"), help: "text or json.")
    var output: OutputFormat = .text

    func run() throws {
        let rules = try kubernetes.rules()
        let check = try EncryptionConfigurationLoader.check(contentsOf: file, automaticReload: automaticReload, rules: rules)
        let errors = check.findings.filter { $0.severity == .error }.count
        let warnings = check.findings.count - errors
        let failed = errors > 0 || (strict && warnings > 0)
        let rendered = switch output {
        case .text: Self.text(check, errors: errors, warnings: warnings)
        case .json: try Self.json(check, errors: errors, warnings: warnings, failed: failed)
        }
        // Unbuffered, so that nothing is lost when exiting with status 2 right after.
        Output.standardOutput(Data(rendered.utf8))
        if failed { Foundation.exit(2) }
    }

    /// `FILE:LINE: severity: path: message` per finding (the compiler-style form editors jump to), then a summary.
    static func text(_ check: ConfigurationCheck, errors: Int, warnings: Int) -> String {
        var out = ""
        for finding in check.findings {
            let location = finding.line.map { "\(TerminalText.field(check.sourcePath)):\($0)" } ?? TerminalText.field(check.sourcePath)
            out += "\(location): \(finding.severity.rawValue): \(TerminalText.field(finding.description))\n"
        }
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        let verdict = errors > 0 ? "invalid" : "valid"
        out += "\(TerminalText.field(check.sourcePath)): \(verdict): \(plural(errors, "error")), \(plural(warnings, "warning")) (rules of \(check.rules))\n"
        return out
    }

    /// Versioned, sorted keys, no timestamps: identical from run to run.
    static func json(_ check: ConfigurationCheck, errors: Int, warnings: Int, failed: Bool) throws -> String {
        let gates = Dictionary(uniqueKeysWithValues: check.rules.effectiveFeatureGates.map { ($0.key.rawValue, $0.value) })
        let report = Report(file: check.sourcePath, rules: Report.Rules(kubernetesVersion: check.rules.version.description, featureGates: gates),
                            valid: errors == 0, passed: !failed, errors: errors, warnings: warnings,
                            findings: check.findings.map {
                                Report.Finding(severity: $0.severity.rawValue, fieldPath: $0.fieldPath, message: $0.message, line: $0.line)
                            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return JSONText.escapingInvisibles(String(decoding: try encoder.encode(report), as: UTF8.self)) + "\n"
    }

    /// `{"apiVersion":"atrest.io/v1","kind":"ConfigCheck",...}`.
    struct Report: Encodable {
        var apiVersion = "atrest.io/v1"
        var kind = "ConfigCheck"
        var file: String
        /// The release whose rules were applied, and the values of the gates atrest models in it.
        var rules: Rules
        /// Whether the file has no error under `rules`: that release's apiserver accepts it (and, before 1.27,
        /// no wildcard silently matches nothing).
        var valid: Bool
        /// Whether the check passed (exit status 0), `--strict` included.
        var passed: Bool
        var errors: Int
        var warnings: Int
        var findings: [Finding]

        struct Rules: Encodable {
            var kubernetesVersion: String
            var featureGates: [String: Bool]
        }

        struct Finding: Encodable {
            var severity: String
            var fieldPath: String
            var message: String
            var line: Int?
        }
    }
}
