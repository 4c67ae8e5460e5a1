/// The canonical hex+ASCII display of `hexdump -C` (util-linux / Debian
/// `bsdextrautils`), reproduced byte for byte.
///
/// Why reproduce a tool rather than call it: operators already read this layout
/// (and diff it against `etcdctl get --print-value-only | hexdump -C`), the
/// annotated view needs to know which offsets every printed line covers, and
/// atrest must not spawn processes or depend on what is installed. The format,
/// as `hexdump -C` defines it (`-e '"%08.8_Ax\n"' -e '"%08.8_ax  " 8/1 "%02x "
/// "  " 8/1 "%02x "' -e '"  |" 16/1 "%_p" "|\n"'`):
///
/// - each line: the offset as at least 8 lower-case hex digits, two spaces,
///   16 bytes as `xx ` in two groups of 8 with one extra space between them
///   (a short last line is padded with spaces to the same width), a space,
///   then the bytes between `|` with `.` for anything outside 0x20–0x7e;
/// - a line identical to the one before is not printed; a run of them is
///   replaced by one `*` line (`-v` would print them; `hexdump -C` does not);
/// - after the data, a line with the total length as an offset;
/// - an empty input prints nothing at all, not even the length line.
public enum HexDump {
    public static let bytesPerLine = 16

    /// One line of output (without its newline) and the bytes it stands for.
    public struct Line: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            /// Bytes shown on this line.
            case data
            /// `*`: lines identical to the previous data line, not shown.
            case repeated
            /// The final offset line: the total length.
            case end
        }

        public var kind: Kind
        /// The bytes of the input this line covers (empty for `.end`).
        public var range: Range<Int>
        public var text: String
    }

    /// The lines `hexdump -C` prints for `bytes`; empty for an empty input.
    public static func lines(_ bytes: [UInt8]) -> [Line] {
        guard !bytes.isEmpty else { return [] }
        var lines: [Line] = []
        var previous: ArraySlice<UInt8>?
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + bytesPerLine, bytes.count)
            let chunk = bytes[offset..<end]
            // Only a full line can repeat a full line; a short last line never collapses.
            if let previous, chunk.count == bytesPerLine, previous.elementsEqual(chunk) {
                if let last = lines.last, last.kind == .repeated {
                    lines[lines.count - 1].range = last.range.lowerBound..<end
                } else {
                    lines.append(Line(kind: .repeated, range: offset..<end, text: "*"))
                }
            } else {
                lines.append(Line(kind: .data, range: offset..<end, text: dataLine(chunk, offset: offset)))
            }
            previous = chunk
            offset = end
        }
        lines.append(Line(kind: .end, range: bytes.count..<bytes.count, text: offsetText(bytes.count)))
        return lines
    }

    /// Exactly what `hexdump -C` writes for `bytes`: every line followed by `\n`.
    public static func canonical(_ bytes: [UInt8]) -> String {
        var out = ""
        out.reserveCapacity((bytes.count / bytesPerLine + 2) * 79)
        for line in lines(bytes) {
            out += line.text
            out += "\n"
        }
        return out
    }

    /// The width of a full data line (`00000000  xx ... xx  |................|`),
    /// where annotations start.
    public static let fullLineWidth = 10 + 49 + 1 + 18

    /// `%08.8_ax`: at least 8 digits; more for offsets past 4 GiB, never truncated.
    static func offsetText(_ offset: Int) -> String {
        let digits = String(offset, radix: 16)
        return digits.count >= 8 ? digits : String(repeating: "0", count: 8 - digits.count) + digits
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func dataLine(_ chunk: ArraySlice<UInt8>, offset: Int) -> String {
        var out = Array(offsetText(offset).utf8)
        out += [0x20, 0x20]
        for position in 0..<bytesPerLine {
            if position == 8 { out.append(0x20) }
            if position < chunk.count {
                let byte = chunk[chunk.startIndex + position]
                out += [hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0f)], 0x20]
            } else {
                out += [0x20, 0x20, 0x20]
            }
        }
        out += [0x20, UInt8(ascii: "|")]
        for byte in chunk { out.append(byte >= 0x20 && byte <= 0x7e ? byte : UInt8(ascii: ".")) }
        out.append(UInt8(ascii: "|"))
        return String(decoding: out, as: UTF8.self)
    }
}
