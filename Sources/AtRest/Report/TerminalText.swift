/// Text for a terminal: what every text report and error line passes through.
///
/// Keys, resource and group names, provider names, KMS key IDs and plugin messages
/// come from etcd bytes or a plugin: attacker-controlled. Printed raw, an ESC starts
/// a terminal escape sequence (OSC 52 writes the clipboard, OSC 8 makes links), CR
/// overwrites a line, a newline fakes one, and bidirectional overrides make text
/// read differently from what it is. Here every C0 control (newline included),
/// DEL, C1 control, format character (bidi overrides and isolates, LRM/RLM, ALM,
/// zero-width characters) and line or paragraph separator becomes a visible escape,
/// in the notation `EscapedBytes` uses for keys (`\n`, `\x1b`, `\u{202e}`).
///
/// A backslash is left as it is, so text that is escaped already (etcd keys) is
/// shown unchanged: the escaping is for safety, not a reversible encoding.
public enum TerminalText {
    /// One string from the data, for a place inside a line: nothing in it can end
    /// the line or control the terminal.
    public static func field(_ text: String) -> String {
        escape(text, keepingNewlines: false)
    }

    /// A whole text document (a report): its own line breaks are kept, everything
    /// else `field` would escape is escaped. A safety net behind the escaping of each
    /// field, which alone keeps a newline in the data from faking a line.
    public static func document(_ text: String) -> String {
        escape(text, keepingNewlines: true)
    }

    /// One line for standard error (`atrest: ...`): line breaks in the message
    /// become spaces, as error lines have always been flattened, and the rest is escaped.
    public static func errorLine(_ text: String) -> String {
        field(text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).joined(separator: " "))
    }

    /// Whether `scalar` is shown as an escape: C0 and C1 controls, DEL, format
    /// characters (bidi overrides and isolates U+202A-U+202E, U+2066-U+2069, LRM and
    /// RLM, ALM U+061C, zero-width characters), line and paragraph separators.
    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x20 || (0x7F...0x9F).contains(value) { return true }
        if value < 0x7F { return false }
        switch scalar.properties.generalCategory {
        case .format, .control, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }

    /// The escape of one scalar, as `EscapedBytes` writes it.
    static func escaped(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        default:
            if scalar.value < 0x80 {
                let digits = String(scalar.value, radix: 16)
                return "\\x" + (digits.count < 2 ? "0" : "") + digits
            }
            return "\\u{\(String(scalar.value, radix: 16))}"
        }
    }

    private static func escape(_ text: String, keepingNewlines: Bool) -> String {
        // Fast path: nearly every string is printable ASCII.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F || (keepingNewlines && $0 == 0x0A) }) { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            if keepingNewlines && scalar == "\n" {
                out.unicodeScalars.append(scalar)
            } else if needsEscape(scalar) {
                out += escaped(scalar)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension String {
    /// `TerminalText.field(self)`: this data string, safe inside a line of text.
    var terminal: String { TerminalText.field(self) }
}

extension Optional where Wrapped == String {
    /// The string safe inside a line of text, or `fallback` (atrest's own words) when there is none.
    func terminal(or fallback: String) -> String { map(TerminalText.field) ?? fallback }
}
