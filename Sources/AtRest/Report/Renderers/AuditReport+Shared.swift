import AtRestAudit
import AtRestDump
import AtRestEncryption

// What every rendering of an audit shares, so that they cannot drift apart: the
// readiness answers in one wording, the resource name of an entry, the verdicts
// shown as columns, and the escapers for each output language.

extension AuditReport {
    /// One readiness answer, worded once for every human format.
    struct ReadinessAnswer: Sendable, Hashable {
        /// A stable identifier (`identity`, `key:aesgcm:key2`), for HTML ids and tests.
        var id: String
        /// Whether the change can be made now.
        var safe: Bool
        /// The question answered, short (`identity`, `aesgcm key "key2"`).
        var subject: String
        /// The answer as a sentence, without markup.
        var sentence: String
        /// Entries that would become unreadable (identity) or still use the key.
        var entries: Int
    }

    /// The readiness answers in the text report's order and wording: identity first, then each non-writing key.
    var readinessAnswers: [ReadinessAnswer] {
        let r = result.readiness
        var answers: [ReadinessAnswer] = []
        if r.identityRemoval == 0 {
            answers.append(ReadinessAnswer(id: "identity", safe: true, subject: "identity",
                                           sentence: "identity can be removed now: no entry is read through identity", entries: 0))
        } else {
            let byResource = r.identityRemovalByResource.sorted { $0.key < $1.key }
                .map { "\($0.key) \(Human.count($0.value))" }.joined(separator: ", ")
            answers.append(ReadinessAnswer(
                id: "identity", safe: false, subject: "identity",
                sentence: "identity can NOT be removed yet: \(Human.count(r.identityRemoval, "entry", "entries")) would become unreadable (\(byResource)); rewrite them first",
                entries: r.identityRemoval))
        }
        for key in r.keys {
            let subject = if case .kms = key.format { "KMS provider \"\(key.keyName)\"" } else { "\(key.format.provider) key \"\(key.keyName)\"" }
            let sentence: String
            if key.canRemove {
                sentence = "\(subject) can be removed now: no readable entry uses it"
                    + (key.unreadable > 0 ? " (\(Human.count(key.unreadable, "undecryptable entry carries", "undecryptable entries carry")) its name)" : "")
            } else {
                sentence = "\(subject) can NOT be removed yet: \(Human.count(key.entries, "entry still uses", "entries still use")) it"
            }
            answers.append(ReadinessAnswer(id: "key:\(key.format.provider):\(key.keyName)", safe: key.canRemove, subject: subject,
                                           sentence: sentence, entries: key.entries))
        }
        return answers + kmsReadinessAnswers
    }

    /// The verdicts that occur at all, in `Verdict` order: the columns of every per-resource table.
    var shownVerdicts: [Verdict] {
        let s = result.summary
        return Verdict.allCases.filter { (s.byVerdict[$0] ?? 0) > 0 }
    }

    /// How a stored provider/key combination is labelled for people (the text report's wording).
    static func storageLabel(_ key: StoredAs) -> String {
        var label = key.isPlaintext ? "plaintext (identity)" : key.providerName
        if let version = key.kmsVersionName { label += " \(version)" }
        if let name = key.keyName { label += " \(name)" }
        if let keyID = key.keyID { label += " key id \(keyID)" }
        return label
    }

    /// The resource of an entry as the summary names it (`secrets`, `deployments.apps`).
    static func resourceName(_ entry: EntryAudit) -> String {
        entry.groupResource.description
    }

    /// The verdicts reported one by one as findings (SARIF rules), most severe first.
    static let findingVerdicts: [Verdict] = [.undecryptable, .unencrypted, .stale]

    /// Kept findings of the finding verdicts, most severe verdict first, then by key.
    var keptFindings: [EntryAudit] {
        Self.findingVerdicts.flatMap { result.summary.findings[$0] ?? [] }
    }

    /// Verdict counts of one resource with every verdict present (zero when none).
    func counts(resource: String) -> [Verdict: Int] {
        result.summary.byResource[resource] ?? [:]
    }

    /// The names of the input files, joined for a heading.
    var inputNames: String {
        provenance.inputs.map(\.name).joined(separator: ", ")
    }
}

/// Escapers for the output languages the reports are written in. Keys, names and
/// reasons come from etcd bytes, plugins and configuration files: attacker-controlled,
/// so every one of them passes through here (or `TerminalText`, for text and errors)
/// before it reaches a document. Every escaper also makes the characters that control
/// a terminal or reorder text (`TerminalText.needsEscape`) visible, in `TerminalText`'s
/// notation, since any report may end up printed on a terminal.
enum Markup {
    /// Text for HTML or XML element content and double- or single-quoted attribute values.
    /// Controls, DEL, C1 and format characters (bidi overrides) become visible escapes
    /// (`\x1b`, `\u{202e}`), so XML 1.0 never meets a character it forbids and a
    /// browser never reorders text; U+FFFE and U+FFFF become U+FFFD. In element content
    /// tab and newline stay (they are the body's own lines).
    static func xml(_ text: String, content: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t" where content, "\n" where content: out.unicodeScalars.append(scalar)
            default:
                if TerminalText.needsEscape(scalar) {
                    out += TerminalText.escaped(scalar)
                } else if scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// HTML escaping is XML escaping: the same five characters, and the same visible
    /// escapes, line breaks included (every HTML text from the data is one value).
    static func html(_ text: String) -> String { xml(text) }

    /// Text for a GitHub-flavoured Markdown table cell, rendered literally: controls and
    /// bidi characters made visible first (`TerminalText.field`, so no line can end), then
    /// every ASCII punctuation character with a meaning in a cell backslash-escaped
    /// (CommonMark renders `\X` as `X` for any ASCII punctuation), `|` included so the
    /// cell cannot split.
    static func markdown(_ text: String) -> String {
        var out = ""
        for scalar in TerminalText.field(text).unicodeScalars {
            switch scalar {
            case "\\", "`", "*", "_", "[", "]", "<", ">", "|", "~", "&":
                out += "\\"
                out.unicodeScalars.append(scalar)
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A Markdown code span showing `text` literally (for etcd keys): controls and bidi
    /// characters made visible, fenced by one more backtick than the longest run inside,
    /// padded when it starts or ends with one. In a table cell `|` is escaped too: GFM
    /// splits cells before it parses code spans, and unescapes `\|` inside them;
    /// elsewhere `\|` would show as is.
    static func markdownCode(_ text: String, inTable: Bool = true) -> String {
        let visible = TerminalText.field(text)
        var longest = 0, run = 0
        for c in visible { if c == "`" { run += 1; longest = max(longest, run) } else { run = 0 } }
        let fence = String(repeating: "`", count: longest + 1)
        let body = inTable ? visible.replacingOccurrences(of: "|", with: "\\|") : visible
        let pad = body.hasPrefix("`") || body.hasSuffix("`") || body.hasPrefix(" ") ? " " : ""
        return fence + pad + body + pad + fence
    }

    /// A Prometheus label value: controls and bidi characters made visible
    /// (`TerminalText.field`), then `\`, `"` and newline escaped, as the text exposition
    /// format requires. Resource names are distinct bytes escaped (`EscapedBytes`), so
    /// distinct resources stay distinct series.
    static func prometheusLabel(_ text: String) -> String {
        var out = ""
        for scalar in TerminalText.field(text).unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
