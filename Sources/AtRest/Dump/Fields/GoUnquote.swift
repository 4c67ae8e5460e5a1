/// An exact inverse of Go's `strconv.Quote` (the `%q` verb), which etcdctl
/// `printer_fields.go` uses for `Key` and `Value`.
///
/// Go quotes bytes, not text: invalid UTF-8 and control bytes become `\xNN`
/// (one raw byte), non-printable runes `\uNNNN`/`\UNNNNNNNN` (the rune's UTF-8
/// encoding), printable UTF-8 stays raw. Octal `\NNN` and `\'` are accepted as
/// `strconv.Unquote` accepts them. A general-purpose unescaper (Python
/// `literal_eval`, JSON) would turn `\xff` into U+00FF and corrupt binary values.
enum GoUnquote {
    struct Failure: Error {
        /// Index in the input where the problem is.
        var index: Int
        var message: String
    }

    /// Unquotes a complete `"..."` literal that must span all of `source`.
    static func unquote(_ source: UnsafeRawBufferPointer) throws(Failure) -> [UInt8] {
        let n = source.count
        guard n >= 2, source[0] == 0x22 else { throw Failure(index: 0, message: "expected a Go-quoted string") }
        var out = [UInt8]()
        out.reserveCapacity(n)
        var i = 1
        while i < n {
            let byte = source[i]
            if byte == 0x22 {
                guard i == n - 1 else { throw Failure(index: i + 1, message: "unexpected text after the closing quote") }
                return out
            }
            if byte != 0x5C {
                if byte == 0x0A { throw Failure(index: i, message: "raw newline inside a quoted string") }
                out.append(byte)
                i += 1
                continue
            }
            guard i + 1 < n else { break }
            let escape = source[i + 1]
            switch escape {
            case 0x61: out.append(0x07); i += 2  // \a
            case 0x62: out.append(0x08); i += 2  // \b
            case 0x66: out.append(0x0C); i += 2  // \f
            case 0x6E: out.append(0x0A); i += 2  // \n
            case 0x72: out.append(0x0D); i += 2  // \r
            case 0x74: out.append(0x09); i += 2  // \t
            case 0x76: out.append(0x0B); i += 2  // \v
            case 0x5C: out.append(0x5C); i += 2
            case 0x22: out.append(0x22); i += 2
            case 0x27: out.append(0x27); i += 2
            case 0x78:  // \xNN: one raw byte
                guard i + 3 < n, let high = hexValue(source[i + 2]), let low = hexValue(source[i + 3]) else {
                    throw Failure(index: i, message: "invalid \\x escape")
                }
                out.append(high << 4 | low)
                i += 4
            case 0x75, 0x55:  // \uNNNN, \UNNNNNNNN: a rune, UTF-8 encoded
                let digits = escape == 0x75 ? 4 : 8
                guard i + 1 + digits < n else { throw Failure(index: i, message: "incomplete \\\(escape == 0x75 ? "u" : "U") escape") }
                var value: UInt32 = 0
                for k in (i + 2)..<(i + 2 + digits) {
                    guard let digit = hexValue(source[k]) else { throw Failure(index: k, message: "invalid hex digit in a \\u or \\U escape") }
                    value = value << 4 | UInt32(digit)
                }
                // Go's UnquoteChar: the value must be a valid rune (no surrogates, <= U+10FFFF).
                guard value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value) else {
                    throw Failure(index: i, message: "escape is not a valid Unicode scalar")
                }
                appendUTF8(value, to: &out)
                i += 2 + digits
            case 0x30...0x37:  // \NNN octal: one byte
                guard i + 3 < n else { throw Failure(index: i, message: "incomplete octal escape") }
                var value: UInt32 = 0
                for k in (i + 1)...(i + 3) {
                    let digit = source[k]
                    guard digit >= 0x30, digit <= 0x37 else { throw Failure(index: k, message: "invalid octal escape") }
                    value = value << 3 | UInt32(digit - 0x30)
                }
                guard value <= 0xFF else { throw Failure(index: i, message: "octal escape above \\377") }
                out.append(UInt8(value))
                i += 4
            default:
                throw Failure(index: i, message: "unknown escape")
            }
        }
        throw Failure(index: n, message: "missing closing quote")
    }
}
