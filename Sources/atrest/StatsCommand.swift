import ArgumentParser
import AtRestAudit
import AtRestReport

/// `atrest stats INPUT|--index DIR`
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show what an export holds: keys, revisions, and how each entry is stored."
    )

    @OptionGroup var input: InputOptions

    @Option(name: .customLong("etcd-prefix"), help: "The apiserver's --etcd-prefix (OpenShift: /kubernetes.io).")
    var etcdPrefix = "/registry"

    @Option(name: .customLong("output"), help: "text or json.")
    var output: OutputFormat = .text

    @Flag(name: .customLong("wide"), help: "Text: never cut long table cells.")
    var wide = false

    func run() throws {
        var report = try input.withIndex { index in
            StatsReport(provenance: index.provenance,
                        inventory: try Inventory(index: index, resolver: ResourceResolver(etcdPrefix: etcdPrefix)),
                        keyUsage: try KeyUsage(index: index))
        }
        report.wide = wide
        switch output {
        case .text: print(report.text(), terminator: "")
        case .json: print(try report.json(), terminator: "")
        }
    }
}
