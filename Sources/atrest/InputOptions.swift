import ArgumentParser
import AtRestDump
import AtRestIndex
import Foundation

/// Where a command's entries come from: export files read on the fly, or an index.
struct InputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("Export files (etcdctl JSON pages, fields, hex, snapshot, k3s kine state.db), or - for standard input.",
                                 valueName: "input"))
    var inputs: [String] = []

    @Option(name: .customLong("index"), help: ArgumentHelp("Read an index built by 'atrest index' instead of input files.", valueName: "dir"))
    var indexDirectory: String?

    @Flag(name: .customLong("skip-hash-check"), help: "Read a snapshot whose sha256 trailer does not match.")
    var skipHashCheck = false

    @Flag(name: .customLong("salvage"),
          help: "Recover what a damaged snapshot still holds (a page scan) instead of failing; results are partial.")
    var salvage = false

    func validate() throws {
        if !inputs.isEmpty && indexDirectory != nil { throw ValidationError("give input files or --index DIR, not both") }
    }

    /// Whether an input was given (`plan --compare` can do without one).
    var isGiven: Bool { !inputs.isEmpty || indexDirectory != nil }

    var readOptions: ReadOptions { ReadOptions(skipHashCheck: skipHashCheck, salvage: salvage) }

    /// Whether the inputs are files that can be read once more before the command's own read
    /// (not standard input, not an index).
    var isReadTwice: Bool { indexDirectory == nil && !inputs.isEmpty && !inputs.contains("-") }

    /// Lends `body` the index: the one given with `--index`, or a temporary one
    /// built from the inputs (plus `extra` inputs found elsewhere on the command
    /// line) and removed afterwards; a usage error without input.
    func withIndex<R>(extra: [String] = [], _ body: (Index) throws -> R) throws -> R {
        if let indexDirectory {
            guard extra.isEmpty else { throw CommandFailure(message: "give input files or --index DIR, not both") }
            return try body(try Index(directory: indexDirectory))
        }
        guard isGiven || !extra.isEmpty else { throw CommandFailure(message: "no input: give export files (or - for standard input) or --index DIR") }
        let progress = ProgressBar(label: "reading")
        defer { progress.finish() }
        return try IndexBuilder.withTemporaryIndex(inputs: inputs + extra, options: readOptions, progress: progress.update) { index in
            // The bar ends when reading does, before the command prints anything.
            progress.finish()
            return try body(index)
        }
    }
}

/// `--output` formats shared by the commands.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}
