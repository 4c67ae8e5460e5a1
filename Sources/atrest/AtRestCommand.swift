import ArgumentParser
import AtRestDump
import AtRestIndex
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
        version: "0.1.0",
        subcommands: [IndexCommand.self, StatsCommand.self, AuditCommand.self, PlanCommand.self, InspectCommand.self, ConfigCommand.self]
    )

    /// Exit statuses: 0 success, 2 usage, configuration or input error.
    /// (ArgumentParser would use 64 for usage errors; one status for "your input is wrong" is simpler to script.)
    static func run() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as DumpError {
            fail(error.description)
        } catch let error as IndexError {
            fail(error.description)
        } catch let error as LMDBError {
            fail("index: \(error)")
        } catch let error as CommandFailure {
            fail(error.message)
        } catch {
            // --help and --version arrive as errors with status 0; usage errors
            // (status 64 in ArgumentParser) are reported with status 2 like every other input error.
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data(("atrest: " + message + "\n").utf8))
        Foundation.exit(2)
    }
}

/// A one-line failure the CLI reports with status 2.
struct CommandFailure: Error {
    var message: String
}
