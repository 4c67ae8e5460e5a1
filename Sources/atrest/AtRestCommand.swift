import ArgumentParser
import AtRestDump
import AtRestIndex
import AtRestReport
import Foundation

/// `atrest`: audit Kubernetes encryption at rest offline, from an etcd export.
struct AtRestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atrest",
        abstract: "Audit Kubernetes encryption at rest offline, from an etcd export.",
        discussion: """
            Inputs are read by content: `etcdctl get "" --prefix -w json` (one or several pages), \
            the grpc-gateway JSON, `-w fields`, `--hex`, an `etcdctl snapshot save` file or a \
            member/snap/db copy. `-` reads standard input.
            """,
        version: BuildVersion.text,
        subcommands: [IndexCommand.self, StatsCommand.self, AuditCommand.self, PlanCommand.self, InspectCommand.self, ConfigCommand.self]
    )

    /// Exit statuses: 0 success, 2 usage, configuration or input error.
    /// (ArgumentParser would use 64 for usage errors; one status for "your input is wrong" is simpler to script.)
    static func run() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as any ReportableError {
            fail(error)
        } catch {
            // --help and --version arrive as errors with status 0; usage errors
            // (status 64 in ArgumentParser) are reported with status 2 like every other input error.
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            if code == .validationFailure {
                Output.standardError(Data((TerminalText.document(fullMessage(for: error)) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }

    /// Prints the error's one line, with its stable identifier, and exits 2.
    /// A message is kept to one line, with no terminal control in it, whatever it
    /// quotes from the input or a KMS plugin (`TerminalText.errorLine`).
    static func fail(_ error: any ReportableError) -> Never {
        Output.standardError(Data("atrest: \(TerminalText.errorLine(error.description)) [\(error.identifier)]\n".utf8))
        Foundation.exit(2)
    }
}

/// A one-line failure of the command line itself (status 2).
struct CommandFailure: ReportableError {
    var message: String
    var identifier: String { "usage" }
    var description: String { message }
}
