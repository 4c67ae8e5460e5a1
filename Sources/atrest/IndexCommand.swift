import ArgumentParser
import AtRestDump
import AtRestIndex
import AtRestReport

/// `atrest index INPUT... --index DIR`
struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Read an etcd export into an index that later commands read with --index.",
        discussion: """
            The index is written aside and published only when complete; re-running replaces it. \
            Files are created 0600: the index holds every stored value.
            """
    )

    @Argument(help: ArgumentHelp("Export files, or - for standard input.", valueName: "input"))
    var inputs: [String]

    @Option(name: .customLong("index"), help: ArgumentHelp("The index directory to write.", valueName: "dir"))
    var indexDirectory: String

    @Flag(name: .customLong("skip-hash-check"), help: "Read a snapshot whose sha256 trailer does not match.")
    var skipHashCheck = false

    @Flag(name: .customLong("salvage"),
          help: "Recover what a damaged snapshot still holds (a page scan) instead of failing; results are partial.")
    var salvage = false

    @Option(name: .customLong("spool-limit"),
            help: ArgumentHelp("The most bytes copied to a temporary file from standard input or a FIFO, when its format must be read twice (snapshot, kine, plain output, --salvage).",
                               valueName: "size"))
    var spoolLimit = ByteSize(ReadOptions.defaultSpoolLimit)

    func run() throws {
        let progress = ProgressBar(label: "indexing")
        let provenance: IndexProvenance
        do {
            defer { progress.finish() }
            provenance = try IndexBuilder.build(inputs: inputs, at: indexDirectory,
                                                options: ReadOptions(skipHashCheck: skipHashCheck, salvage: salvage, spoolLimit: spoolLimit.bytes),
                                                progress: progress.update)
        }
        let c = provenance.counts
        var line = "indexed \(c.liveKeys) keys"
        if c.revisions > 0 { line += ", \(c.revisions) revisions (\(c.tombstones) tombstones)" }
        line += ", \(c.refusedTotal) refused, from \(provenance.inputs.count) input(s) into \(indexDirectory)"
        print(TerminalText.field(line))
        if provenance.completeness == .incomplete {
            print("warning: incomplete export: \(TerminalText.field(provenance.completenessReason ?? "keys are missing"))")
        }
        if provenance.completeness == .partial {
            print("warning: completeness: partial: \(TerminalText.field(provenance.completenessReason ?? "salvaged from a damaged snapshot"))")
        }
    }
}
