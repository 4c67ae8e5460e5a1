import ArgumentParser
import AtRestAudit
import AtRestDump
import AtRestEncryption
import AtRestIndex
import AtRestReport
import Foundation

/// `atrest inspect INPUT KEY...` / `atrest inspect --index DIR KEY...`
///
/// Why its own input handling instead of `InputOptions`: that option group takes
/// every positional argument as an input file, and here the positionals are etcd
/// keys. Without `--index` the first positional is the one input (`-` for
/// standard input); with `--index` every positional is a key.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show stored values byte by byte: an annotated hex dump, etcd metadata, the resource, history, verdict.",
        usage: """
            atrest inspect <input> <key>... [--key-hex <hex>]... [--prefix <p>] [options]
            atrest inspect --index <dir> <key>... [--key-hex <hex>]... [--prefix <p>] [options]
            """,
        discussion: """
            Each region of the value (provider prefix, key name, IV/nonce, ciphertext, tag, KMS v2 fields, \
            protobuf fields) is labelled beside the hexdump -C line where it starts. --raw prints exactly \
            what `hexdump -C` prints for the value. With --config, the rule's providers and the verdict; with \
            --decrypt, the decrypted object's apiVersion, kind, name and namespace, and its data as sizes only \
            (--reveal prints it). A Secret stored in plaintext is not dumped (nor printed by --raw) without \
            --reveal: its bytes are its data. Exit status: 0 every key shown; 1 a key is not in the input; 2 usage, \
            configuration or input error, or a --revision that is not one of the key's.
            """
    )

    @Argument(help: ArgumentHelp("Without --index: the export file (or -), then etcd keys. With --index: etcd keys.",
                                 valueName: "input-or-key"))
    var positionals: [String] = []

    @Option(name: .customLong("index"), help: ArgumentHelp("Read an index built by 'atrest index' instead of an input file.", valueName: "dir"))
    var indexDirectory: String?

    @Option(name: .customLong("key-hex"), help: ArgumentHelp("A key given as hex bytes (for keys that are not UTF-8); repeatable.", valueName: "hex"))
    var keyHex: [String] = []

    @Option(name: .customLong("prefix"), help: ArgumentHelp("Inspect every live key starting with this prefix.", valueName: "prefix"))
    var prefix: String?

    @Option(name: .customLong("limit"), help: "With --prefix: show at most this many keys.")
    var limit = 100

    @Option(name: .customLong("revision"), help: ArgumentHelp("Show this revision of the key from a snapshot's history.", valueName: "n"))
    var revision: Int64?

    @Option(name: .customLong("config"), help: ArgumentHelp("The apiserver's --encryption-provider-config: show the providers and the verdict.", valueName: "file"))
    var configPath: String?

    @Flag(name: .customLong("decrypt"), help: "Decrypt with the configured key that reads the value and show the object's envelope (needs --config).")
    var decrypt = false

    @Flag(name: .customLong("reveal"), help: "Print Secret data: decrypted (with --decrypt), or a Secret's bytes stored in plaintext. It may hold secrets.")
    var reveal = false

    @Flag(name: .customLong("raw"), help: "Print only the stored value as `hexdump -C` prints it (one key).")
    var raw = false

    @Flag(name: .customLong("wide"), help: "Never cut long table cells.")
    var wide = false

    @OptionGroup var kubernetes: KubernetesRulesOptions

    @OptionGroup var kms: KMSOptions

    @Option(name: .customLong("etcd-prefix"), help: "The apiserver's --etcd-prefix (OpenShift: /kubernetes.io).")
    var etcdPrefix = "/registry"

    @Flag(name: .customLong("skip-hash-check"), help: "Read a snapshot whose sha256 trailer does not match.")
    var skipHashCheck = false

    @Flag(name: .customLong("salvage"),
          help: "Recover what a damaged snapshot still holds (a page scan) instead of failing; results are partial.")
    var salvage = false

    @Option(name: .customLong("spool-limit"),
            help: ArgumentHelp("The most bytes copied to a temporary file from standard input or a FIFO, when its format must be read twice (snapshot, kine, plain output, --salvage).",
                               valueName: "size"))
    var spoolLimit = ByteSize(ReadOptions.defaultSpoolLimit)

    /// The input file, when not reading an index.
    private var input: String? { indexDirectory == nil ? positionals.first : nil }

    /// The keys named on the command line, in order: positionals, then --key-hex.
    private func namedKeys() throws -> [[UInt8]] {
        let textual = indexDirectory == nil ? Array(positionals.dropFirst()) : positionals
        return try textual.map { Array($0.utf8) } + keyHex.map { hex in
            guard let bytes = Self.decodeHex(hex) else { throw ValidationError("--key-hex \(hex): not hex bytes (an even number of digits 0-9, a-f)") }
            return bytes
        }
    }

    func validate() throws {
        if indexDirectory == nil && positionals.isEmpty { throw ValidationError("give an input file (or --index DIR), then keys") }
        let keys = try namedKeys()
        if keys.isEmpty && prefix == nil { throw ValidationError("give at least one key, --key-hex HEX or --prefix PREFIX") }
        if decrypt && configPath == nil { throw ValidationError("--decrypt needs --config FILE: the keys come from the configuration") }
        if raw && (keys.count != 1 || prefix != nil) { throw ValidationError("--raw prints one value: give exactly one key") }
        if raw && (decrypt || configPath != nil) { throw ValidationError("--raw prints the stored value alone: no --config or --decrypt") }
        if revision != nil && prefix != nil { throw ValidationError("--revision applies to named keys, not to --prefix") }
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        var configuration: EncryptionConfiguration?
        var session: KMSSession?
        if let configPath {
            let rules = try kubernetes.rules()
            let loaded = try ConfigurationInput.load(configPath, rules: rules)
            configuration = loaded
            session = try kms.session(for: [loaded], rules: rules)
        } else if kms.isGiven {
            throw CommandFailure(message: "--kms, --kms-endpoint and --kms-key-id need --config FILE: the KMS providers come from the configuration")
        }
        try withIndex { index in
            let resolver = ResourceResolver(etcdPrefix: etcdPrefix)
            let hasHistory = index.provenance.counts.revisions > 0

            // The keys to show: the named ones, or the live keys under --prefix (up to --limit).
            var keys = try namedKeys()
            var moreUnderPrefix = 0
            if let prefix {
                let start = Array(prefix.utf8)
                var found = 0
                try index.forEachLive(from: start) { view in
                    guard view.key.starts(with: start) else { return false }
                    found += 1
                    if found <= limit { keys.append(Array(view.key)) }
                    return true
                }
                moreUnderPrefix = max(0, found - limit)
                if found == 0 {
                    Output.standardError(Data("atrest: no live key starts with \(EscapedBytes.string(start))\n".utf8))
                }
            }

            if revision != nil && !hasHistory {
                throw CommandFailure(message: "--revision: \(inputName) has no history (only a snapshot keeps earlier revisions; etcdctl get exports hold live keys only)")
            }
            let history = hasHistory ? try collectHistory(index, keys: Set(keys)) : [:]

            // Check every --revision before printing anything: a wrong one is a usage error (status 2).
            var pickedRevisions: [[UInt8]: KeyValue] = [:]
            if let revision {
                for key in keys {
                    guard let revisions = history[key]?.revisions, !revisions.isEmpty else { continue }  // not in the input: status 1 below
                    guard let picked = revisions.first(where: { $0.revision.main == revision }) else {
                        let list = revisions.map { "\($0.revision.main)\($0.tombstone ? " (delete)" : "")" }.joined(separator: ", ")
                        throw CommandFailure(message: "--revision \(revision) is not a revision of \(EscapedBytes.string(key)); its revisions: \(list)")
                    }
                    guard !picked.tombstone, let entry = history[key]?.entries[revision] else {
                        throw CommandFailure(message: "--revision \(revision) deleted \(EscapedBytes.string(key)): a tombstone stores no value")
                    }
                    pickedRevisions[key] = entry
                }
            }

            let stdout = StandardOutput()
            var missing = false
            var shown = 0
            for key in keys {
                let entry: KeyValue?
                if revision != nil { entry = pickedRevisions[key] } else { entry = try index.entry(forKey: key) }
                guard let entry else {
                    if let revisions = history[key]?.revisions, !revisions.isEmpty, revision == nil {
                        // Deleted: not live, but its history is in the input.
                        if shown > 0 { stdout.write(Self.separator) }
                        shown += 1
                        stdout.write("key       \(EscapedBytes.string(key))\n")
                        stdout.write("stored    not live: deleted at revision \(revisions.last?.revision.main ?? 0); --revision N shows an earlier value\n")
                        stdout.write(InspectReport.historyText(revisions, shown: -1, wide: wide))
                        continue
                    }
                    Output.standardError(Data("atrest: \(EscapedBytes.string(key)): not in the input\n".utf8))
                    missing = true
                    continue
                }
                if raw {
                    if !reveal && InspectReport.isPlaintextSecret(entry, resolver: resolver) {
                        throw CommandFailure(message: "\(EscapedBytes.string(key)) is a Secret stored in plaintext: its bytes are its data; add --reveal to print them")
                    }
                    stdout.write(InspectReport.raw(entry.value))
                    continue
                }
                if shown > 0 { stdout.write(Self.separator) }
                shown += 1
                var report = InspectReport(entry: entry, shownRevision: revision.map { Revision(main: $0, sub: 0) },
                                           history: hasHistory ? (history[key]?.revisions ?? []) : nil, resolver: resolver,
                                           configuration: configuration, configurationName: configPath, decrypt: decrypt, reveal: reveal)
                report.kms = session
                report.wide = wide
                let text = report.text()
                try KMSOptions.checkNoFailure(session)
                stdout.write(text)
            }
            if moreUnderPrefix > 0 {
                stdout.write("\n... and \(moreUnderPrefix) more key\(moreUnderPrefix == 1 ? "" : "s") under \(EscapedBytes.string(Array((prefix ?? "").utf8))) (--limit \(limit))\n")
            }
            stdout.flush()
            if missing || (prefix != nil && keys.isEmpty) { try RunOutcome.findings.finish() }
        }
    }

    private static let separator = "\n" + String(repeating: "-", count: 78) + "\n\n"

    private var inputName: String { indexDirectory.map { "index \($0)" } ?? (input ?? "the input") }

    /// Opens the input the way every command does (`InputOptions.withIndex`).
    private func withIndex<R>(_ body: (Index) throws -> R) throws -> R {
        // Parsed from nothing, so that every option of InputOptions has its default (a property wrapper
        // that is neither parsed nor given a value traps when read).
        var options = try InputOptions.parse([])
        options.inputs = input.map { [$0] } ?? []
        options.indexDirectory = indexDirectory
        options.skipHashCheck = skipHashCheck
        options.salvage = salvage
        options.spoolLimit = spoolLimit
        return try options.withIndex(body)
    }

    /// One pass over the history for all wanted keys: every revision's summary,
    /// and the full entry at `--revision`.
    private func collectHistory(_ index: Index, keys: Set<[UInt8]>) throws -> [[UInt8]: (revisions: [InspectedRevision], entries: [Int64: KeyValue])] {
        var result: [[UInt8]: (revisions: [InspectedRevision], entries: [Int64: KeyValue])] = [:]
        try index.forEachRevision { view in
            let key = Array(view.entry.key)
            guard keys.contains(key) else { return true }
            result[key, default: ([], [:])].revisions.append(InspectedRevision(view))
            if let revision, view.revision.main == revision, !view.tombstone {
                result[key, default: ([], [:])].entries[revision] = view.entry.keyValue
            }
            return true
        }
        return result
    }

    /// `6b38...` (upper or lower case, optional `0x`) to bytes; `nil` if malformed.
    static func decodeHex(_ text: String) -> [UInt8]? {
        var digits = Substring(text)
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
        // `UInt8(_:radix:)` alone would accept a sign (`+f`).
        guard digits.count % 2 == 0, digits.allSatisfy(\.isHexDigit) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            guard let byte = UInt8(digits[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
