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

    @Option(name: .customLong("spool-limit"),
            help: ArgumentHelp("The most bytes copied to a temporary file from standard input or a FIFO, when its format must be read twice (snapshot, kine, plain output, --salvage).",
                               valueName: "size"))
    var spoolLimit = ByteSize(ReadOptions.defaultSpoolLimit)

    func validate() throws {
        if !inputs.isEmpty && indexDirectory != nil { throw ValidationError("give input files or --index DIR, not both") }
    }

    /// Whether an input was given (`plan --compare` can do without one).
    var isGiven: Bool { !inputs.isEmpty || indexDirectory != nil }

    var readOptions: ReadOptions { ReadOptions(skipHashCheck: skipHashCheck, salvage: salvage, spoolLimit: spoolLimit.bytes) }

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

/// A size on the command line: bytes, or with a binary suffix (`512M`, `8G`, `1T`).
struct ByteSize: ExpressibleByArgument, CustomStringConvertible {
    var bytes: UInt64

    init(_ bytes: UInt64) { self.bytes = bytes }

    init?(argument: String) {
        let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var digits = Substring(argument)
        var unit: UInt64 = 1
        if let last = digits.last?.uppercased().first, let scale = units[last] {
            unit = scale
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = UInt64(digits) else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: unit)
        guard !overflow else { return nil }
        bytes = product
    }

    var description: String {
        for (shift, unit) in [(40, "T"), (30, "G"), (20, "M"), (10, "K")] where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(unit)"
        }
        return "\(bytes)"
    }

    var defaultValueDescription: String { description }
}

/// `--output` formats shared by the commands.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}
