#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A pull tokenizer for the subset of work a streaming etcd JSON reader needs:
/// structural bytes, member names matched in place, exact integers (bare or
/// quoted), base64 strings decoded straight from the buffer, and a generic skip
/// of any value. Byte-level and allocation-free on the hot path (no Foundation:
/// `JSONSerialization`/`JSONDecoder` would materialise the whole document and
/// round integers above 2^53 through `Double`).
///
/// Every error carries the absolute byte offset; end of input inside a value is
/// `.truncated`, anything else that is not JSON is `.malformedJSON`.
final class JSONScanner {
    let stream: ByteStream
    /// Set when an integer was read in its quoted form (grpc-gateway / proto3 JSON).
    private(set) var sawQuotedInteger = false
    /// Bounds the generic skip of unknown nested values (hostile input).
    static let maxDepth = 1000

    init(stream: ByteStream) {
        self.stream = stream
    }

    var name: String { stream.name }
    var offset: UInt64 { stream.offset }

    func malformed(_ message: String, at offset: UInt64? = nil) -> DumpError {
        DumpError(.malformedJSON, file: name, at: .byte(offset ?? stream.offset), message)
    }

    func truncated(_ context: String) -> DumpError {
        DumpError(.truncated, file: name, at: .byte(stream.offset), "input ends inside \(context)")
    }

    @inline(__always)
    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// Skips JSON whitespace and returns the next byte without consuming it; nil at end of input.
    @inline(__always)
    func peekNonWhitespace() throws -> UInt8? {
        while true {
            while stream.position < stream.limit {
                let byte = stream.base.load(fromByteOffset: stream.position, as: UInt8.self)
                if !JSONScanner.isWhitespace(byte) { return byte }
                stream.position += 1
            }
            if try !stream.refill() { return nil }
        }
    }

    /// Like `peekNonWhitespace`, but end of input is `.truncated` inside `context`.
    @inline(__always)
    func nextToken(in context: String) throws -> UInt8 {
        guard let byte = try peekNonWhitespace() else { throw truncated(context) }
        return byte
    }

    @inline(__always)
    func consume() { stream.position += 1 }

    /// Consumes `byte` after whitespace, or throws with `message`.
    func expect(_ byte: UInt8, in context: String, _ message: @autoclosure () -> String) throws {
        let next = try nextToken(in: context)
        guard next == byte else { throw malformed(message()) }
        consume()
    }

    // MARK: Strings

    /// The longest string (raw text between the quotes) read, 32 MiB: a value's
    /// base64 of up to 24 MiB. etcd refuses requests above `--max-request-bytes`
    /// (1.5 MiB by default, `embed.DefaultMaxRequestBytes`) and warns at start-up
    /// when it is set above 10 MiB (`recommendedMaxRequestBytes`), so no key or
    /// value of a served cluster comes near; a longer string is hostile, and
    /// buffering it would make memory grow with the input.
    static let maxStringBytes = 32 << 20

    /// Finds the closing quote of the string whose opening quote is the next byte.
    /// Returns the content length, and whether it contains a backslash (then the
    /// caller must unescape). The opening quote is not consumed.
    private func stringSpan(context: String) throws -> (length: Int, escaped: Bool) {
        var from = 1
        var escaped = false
        while true {
            let start = stream.position + from
            guard start < stream.limit, let hit = memchr(stream.base + start, 0x22, stream.limit - start) else {
                from = max(from, stream.available)
                // Refuse before buffering more than the limit (plus one read).
                if from - 1 > JSONScanner.maxStringBytes { throw tooLong(context) }
                if try !stream.refill() { throw truncated(context) }
                continue
            }
            let quote = stream.base.distance(to: hit) - stream.position
            if quote - 1 > JSONScanner.maxStringBytes { throw tooLong(context) }
            // Count the backslashes right before the quote: odd means it is escaped.
            var backslashes = 0
            var index = stream.position + quote - 1
            while index > stream.position, stream.base.load(fromByteOffset: index, as: UInt8.self) == 0x5C {
                backslashes += 1
                index -= 1
            }
            if backslashes > 0 { escaped = true }
            if backslashes & 1 == 0 {
                if !escaped, quote > 1 {
                    // A backslash not adjacent to a quote still needs the slow path.
                    if memchr(stream.base + stream.position + 1, 0x5C, quote - 1) != nil { escaped = true }
                }
                return (quote - 1, escaped)
            }
            from = quote + 1
        }
    }

    private func tooLong(_ context: String) -> DumpError {
        DumpError(.tooLarge, file: name, at: .byte(offset), "\(context): a string longer than \(JSONScanner.maxStringBytes >> 20) MiB; refusing it "
                  + "(etcd's request limit is 1.5 MiB by default, and 10 MiB the most it recommends)")
    }

    /// Reads a string value (next byte must be `"`), unescaping JSON escapes, and
    /// hands its content to `body` (valid only during the call).
    ///
    /// Every string is refused unless it is UTF-8 without control bytes, as Go's
    /// `encoding/json` writes (invalid bytes become U+FFFD on output), whether
    /// atrest uses the member or skips it.
    func withString<R>(context: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let start = stream.offset
        guard try nextToken(in: context) == 0x22 else { throw malformed("expected a string in \(context)") }
        let (length, escaped) = try stringSpan(context: context)
        return try withScannedString(start: start, length: length, escaped: escaped, body)
    }

    /// `withString` once the string's span is found: the UTF-8 check, unescaping, and the
    /// step past the closing quote.
    private func withScannedString<R>(start: UInt64, length: Int, escaped: Bool,
                                      _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let content = UnsafeRawBufferPointer(start: stream.base + stream.position + 1, count: length)
        if let problem = stringProblem(content, stringStart: start) { throw problem }
        if !escaped {
            let result = try body(content)
            stream.position += length + 2
            return result
        }
        let unescaped = try unescape(content, stringStart: start)
        stream.position += length + 2
        return try unescaped.withUnsafeBytes { try body($0) }
    }

    /// The error for the first byte of a string's raw content that is not UTF-8 or
    /// is a control byte, at its own offset; nil if there is none.
    private func stringProblem(_ content: UnsafeRawBufferPointer, stringStart: UInt64) -> DumpError? {
        guard let (index, problem) = UTF8Validation.firstProblem(in: content, refusingControlBytes: true) else { return nil }
        let at = stringStart + 1 + UInt64(index)
        switch problem {
        case .controlByte(let byte):
            return malformed("control byte 0x\(String(byte, radix: 16)) inside a string", at: at)
        case .invalidUTF8(let byte):
            return malformed("invalid UTF-8 (byte 0x\(String(byte, radix: 16, uppercase: true))) inside a string; etcdctl writes UTF-8 only", at: at)
        }
    }

    /// Decodes JSON string escapes (`\" \\ \/ \b \f \n \r \t \uXXXX`, surrogate pairs)
    /// into UTF-8 bytes. The content is already known to be UTF-8 without control bytes.
    private func unescape(_ content: UnsafeRawBufferPointer, stringStart: UInt64) throws -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(content.count)
        var i = 0
        let n = content.count
        func at(_ index: Int) -> UInt64 { stringStart + 1 + UInt64(index) }
        func hex4(_ index: Int) throws -> UInt32 {
            guard index + 4 <= n else { throw malformed("incomplete \\u escape", at: at(index)) }
            var value: UInt32 = 0
            for k in index..<(index + 4) {
                guard let digit = hexValue(content[k]) else { throw malformed("invalid hex digit in \\u escape", at: at(k)) }
                value = value << 4 | UInt32(digit)
            }
            return value
        }
        while i < n {
            let byte = content[i]
            guard byte == 0x5C else { out.append(byte); i += 1; continue }
            guard i + 1 < n else { throw malformed("dangling backslash in a string", at: at(i)) }
            let escape = content[i + 1]
            i += 2
            switch escape {
            case 0x22: out.append(0x22)
            case 0x5C: out.append(0x5C)
            case 0x2F: out.append(0x2F)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var scalar = try hex4(i)
                i += 4
                if scalar >= 0xD800, scalar < 0xDC00 {
                    // High surrogate: a low one must follow, else U+FFFD as Go does.
                    if i + 6 <= n, content[i] == 0x5C, content[i + 1] == 0x75 {
                        let low = try hex4(i + 2)
                        if low >= 0xDC00, low < 0xE000 {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            i += 6
                        } else {
                            scalar = 0xFFFD
                        }
                    } else {
                        scalar = 0xFFFD
                    }
                } else if scalar >= 0xDC00, scalar < 0xE000 {
                    scalar = 0xFFFD
                }
                appendUTF8(scalar, to: &out)
            default:
                throw malformed("invalid escape '\\\(EscapedBytes.string(CollectionOfOne(escape)))' in a string", at: at(i - 2))
            }
        }
        return out
    }

    /// Skips a string value (next byte must be `"`), validating it.
    func skipString(context: String) throws {
        try withString(context: context) { _ in }
    }

    /// Reads a string holding base64 and decodes it, in one pass over the bytes of
    /// an unescaped string: the alphabet is ASCII, so valid base64 is valid UTF-8.
    /// When decoding fails, a byte that is not UTF-8 or a control byte is reported
    /// at its offset; any other invalid base64 is `.invalidBase64` at the string's
    /// opening quote.
    func readBase64(context: String) throws -> [UInt8] {
        var decoded: [UInt8] = []
        try readBase64(context: context, into: &decoded)
        return decoded
    }

    /// `readBase64` into `output`, reusing its storage.
    func readBase64(context: String, into output: inout [UInt8]) throws {
        let start = stream.offset
        guard try nextToken(in: context) == 0x22 else { throw malformed("expected a string in \(context)") }
        let (length, escaped) = try stringSpan(context: context)
        let content = UnsafeRawBufferPointer(start: stream.base + stream.position + 1, count: length)
        let valid: Bool
        if escaped {
            if let problem = stringProblem(content, stringStart: start) { throw problem }
            valid = try unescape(content, stringStart: start).withUnsafeBytes { Base64.decode($0, into: &output) }
        } else {
            valid = Base64.decode(content, into: &output)
            if !valid, let problem = stringProblem(content, stringStart: start) { throw problem }
        }
        guard valid else {
            throw DumpError(.invalidBase64, file: name, at: .byte(start), "\(context) is not valid standard base64")
        }
        stream.position += length + 2
    }

    /// Reads a member name and matches it against `names` (printable ASCII, compared
    /// in place). Returns its index, or nil for an unknown member.
    func readMemberName(_ names: [[UInt8]], context: String) throws -> Int? {
        let start = stream.offset
        guard try nextToken(in: context) == 0x22 else { throw malformed("expected a string in \(context)") }
        let (length, escaped) = try stringSpan(context: context)
        if !escaped {
            // A known name is printable ASCII and needs no UTF-8 check: matched in place first.
            let content = UnsafeRawBufferPointer(start: stream.base + stream.position + 1, count: length)
            if let index = Self.index(of: content, in: names) {
                stream.position += length + 2
                return index
            }
        }
        // Checked as every string is; an unescaped name was matched above already.
        return try withScannedString(start: start, length: length, escaped: escaped) { content in
            escaped ? Self.index(of: content, in: names) : nil
        }
    }

    private static func index(of name: UnsafeRawBufferPointer, in names: [[UInt8]]) -> Int? {
        for (index, candidate) in names.enumerated() where candidate.count == name.count {
            if candidate.withUnsafeBytes({ memcmpEqual($0, name) }) { return index }
        }
        return nil
    }

    // MARK: Numbers

    /// An integer as written: magnitude and sign, exact.
    struct RawInteger {
        var magnitude: UInt64
        var negative: Bool
        var offset: UInt64
    }

    /// Reads an integer in bare (`20`) or quoted (`"20"`, proto3 JSON) form.
    /// Fractions and exponents are refused: etcd's fields are integers.
    func readInteger(context: String) throws -> RawInteger {
        let start = stream.offset
        let first = try nextToken(in: context)
        if first == 0x22 {
            sawQuotedInteger = true
            return try withString(context: context) { content -> RawInteger in
                guard let value = try parseInteger(content, allowTrailing: false, start: start + 1, context: context) else {
                    throw malformed("expected an integer string in \(context)", at: start)
                }
                return value.0
            }
        }
        // Bare number: read digits in place (refilling as needed).
        var length = 0
        while true {
            guard let byte = try stream.peekByte(ahead: length) else { break }
            if (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x2B || byte == 0x2E || byte == 0x45 || byte == 0x65 {
                length += 1
                if length > 64 { throw malformed("number too long in \(context)", at: start) }
            } else {
                break
            }
        }
        if length == 0 { throw malformed("expected an integer in \(context)", at: start) }
        let content = UnsafeRawBufferPointer(start: stream.base + stream.position, count: length)
        guard let (value, _) = try parseInteger(content, allowTrailing: false, start: start, context: context) else {
            throw malformed("expected an integer in \(context)", at: start)
        }
        stream.position += length
        return value
    }

    /// Parses `-?(0|[1-9][0-9]*)` exactly. Returns nil when the text is not an integer.
    private func parseInteger(_ content: UnsafeRawBufferPointer, allowTrailing: Bool, start: UInt64, context: String) throws -> (RawInteger, Int)? {
        var i = 0
        var negative = false
        if i < content.count, content[i] == 0x2D { negative = true; i += 1 }
        let digitsStart = i
        var magnitude: UInt64 = 0
        while i < content.count, content[i] >= 0x30, content[i] <= 0x39 {
            let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(content[i] - 0x30))
            if o1 || o2 {
                throw DumpError(.integerOverflow, file: name, at: .byte(start), "\(context) does not fit in 64 bits")
            }
            magnitude = sum
            i += 1
        }
        let digits = i - digitsStart
        if digits == 0 { return nil }
        if digits > 1, content[digitsStart] == 0x30 { return nil }  // leading zero
        if i != content.count && !allowTrailing { return nil }
        return (RawInteger(magnitude: magnitude, negative: negative, offset: start), i)
    }

    func readInt64(context: String) throws -> Int64 {
        let raw = try readInteger(context: context)
        if raw.negative {
            guard raw.magnitude <= UInt64(Int64.max) + 1 else {
                throw DumpError(.integerOverflow, file: name, at: .byte(raw.offset), "\(context) is below the int64 range")
            }
            return raw.magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(raw.magnitude)
        }
        guard raw.magnitude <= UInt64(Int64.max) else {
            throw DumpError(.integerOverflow, file: name, at: .byte(raw.offset), "\(context) exceeds the int64 range")
        }
        return Int64(raw.magnitude)
    }

    func readUInt64(context: String) throws -> UInt64 {
        let raw = try readInteger(context: context)
        if raw.negative {
            if raw.magnitude == 0 { return 0 }
            throw DumpError(.integerOverflow, file: name, at: .byte(raw.offset), "\(context) is negative but must be unsigned")
        }
        return raw.magnitude
    }

    // MARK: Literals and generic values

    /// Consumes `literal` (e.g. `true`) if it is next.
    func readLiteral(_ literal: StaticString, context: String) throws -> Bool {
        let count = literal.utf8CodeUnitCount
        guard try stream.require(count) else {
            // Might be a prefix of the literal at end of input.
            let have = stream.available
            let prefix = UnsafeRawBufferPointer(start: stream.base + stream.position, count: have)
            let expected = UnsafeRawBufferPointer(start: literal.utf8Start, count: have)
            if memcmpEqual(prefix, expected) { throw truncated(context) }
            return false
        }
        let here = UnsafeRawBufferPointer(start: stream.base + stream.position, count: count)
        let expected = UnsafeRawBufferPointer(start: literal.utf8Start, count: count)
        guard memcmpEqual(here, expected) else { return false }
        stream.position += count
        return true
    }

    /// Reads `true` or `false` (`null` reads as false: absent in proto3 JSON).
    func readBool(context: String) throws -> Bool {
        let start = stream.offset
        _ = try nextToken(in: context)
        if try readLiteral("true", context: context) { return true }
        if try readLiteral("false", context: context) { return false }
        if try readLiteral("null", context: context) { return false }
        throw malformed("expected true or false in \(context)", at: start)
    }

    /// Consumes `null` if it is the next token.
    func readNullIfPresent(context: String) throws -> Bool {
        guard try nextToken(in: context) == 0x6E else { return false }
        if try readLiteral("null", context: context) { return true }
        throw malformed("expected a value in \(context)")
    }

    /// Skips any JSON value, nested or not, without recursion (bounded depth).
    func skipValue(context: String) throws {
        var stack: [UInt8] = []  // '{' or '['
        var expectValue = true
        while true {
            let byte = try nextToken(in: context)
            if expectValue {
                switch byte {
                case 0x7B, 0x5B:
                    guard stack.count < JSONScanner.maxDepth else { throw malformed("JSON nested deeper than \(JSONScanner.maxDepth) levels") }
                    consume()
                    stack.append(byte)
                    let next = try nextToken(in: context)
                    if (byte == 0x7B && next == 0x7D) || (byte == 0x5B && next == 0x5D) {
                        consume()
                        stack.removeLast()
                        expectValue = false
                        break
                    }
                    if byte == 0x7B {
                        try skipString(context: context)
                        try expect(0x3A, in: context, "expected ':' after a member name in \(context)")
                    }
                    continue
                case 0x22:
                    try skipString(context: context)
                case 0x74:
                    guard try readLiteral("true", context: context) else { throw malformed("invalid literal in \(context)") }
                case 0x66:
                    guard try readLiteral("false", context: context) else { throw malformed("invalid literal in \(context)") }
                case 0x6E:
                    guard try readLiteral("null", context: context) else { throw malformed("invalid literal in \(context)") }
                case 0x2D, 0x30...0x39:
                    try skipNumber(context: context)
                default:
                    throw malformed("expected a value in \(context)")
                }
                expectValue = false
            }
            // After a value: close containers or move to the next element.
            guard let top = stack.last else { return }
            let next = try nextToken(in: context)
            if next == 0x2C {
                consume()
                if top == 0x7B {
                    try skipString(context: context)
                    try expect(0x3A, in: context, "expected ':' after a member name in \(context)")
                }
                expectValue = true
            } else if (top == 0x7B && next == 0x7D) || (top == 0x5B && next == 0x5D) {
                consume()
                stack.removeLast()
                if stack.isEmpty { return }
            } else {
                throw malformed(top == 0x7B ? "expected ',' or '}' in \(context)" : "expected ',' or ']' in \(context)")
            }
        }
    }

    /// Skips a JSON number (full grammar: sign, fraction, exponent).
    private func skipNumber(context: String) throws {
        let start = stream.offset
        var length = 0
        var state = 0  // 0 start, 1 after '-', 2 int digits, 3 after leading 0, 4 after '.', 5 frac digits, 6 after e, 7 after e sign, 8 exp digits
        while true {
            guard let byte = try stream.peekByte(ahead: length) else { break }
            let isDigit = byte >= 0x30 && byte <= 0x39
            var next = -1
            switch state {
            case 0: next = byte == 0x2D ? 1 : (byte == 0x30 ? 3 : (isDigit ? 2 : -1))
            case 1: next = byte == 0x30 ? 3 : (isDigit ? 2 : -1)
            case 2: next = isDigit ? 2 : (byte == 0x2E ? 4 : (byte == 0x65 || byte == 0x45 ? 6 : -1))
            case 3: next = byte == 0x2E ? 4 : (byte == 0x65 || byte == 0x45 ? 6 : -1)
            case 4: next = isDigit ? 5 : -1
            case 5: next = isDigit ? 5 : (byte == 0x65 || byte == 0x45 ? 6 : -1)
            case 6: next = (byte == 0x2B || byte == 0x2D) ? 7 : (isDigit ? 8 : -1)
            case 7: next = isDigit ? 8 : -1
            default: next = isDigit ? 8 : -1
            }
            if next < 0 { break }
            state = next
            length += 1
        }
        guard state == 2 || state == 3 || state == 5 || state == 8 else {
            if stream.isAtEOF && stream.available == length { throw truncated(context) }
            throw malformed("invalid number in \(context)", at: start)
        }
        stream.position += length
    }
}

@inline(__always)
func memcmpEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    if a.count == 0 { return true }
    for i in 0..<a.count where a[i] != b[i] { return false }
    return true
}

@inline(__always)
func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 0x30...0x39: return byte - 0x30
    case 0x41...0x46: return byte - 0x41 + 10
    case 0x61...0x66: return byte - 0x61 + 10
    default: return nil
    }
}

/// Appends the UTF-8 encoding of a Unicode scalar value (caller ensures validity).
func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
    switch scalar {
    case 0..<0x80:
        out.append(UInt8(scalar))
    case 0x80..<0x800:
        out.append(UInt8(0xC0 | (scalar >> 6)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    case 0x800..<0x10000:
        out.append(UInt8(0xE0 | (scalar >> 12)))
        out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    default:
        out.append(UInt8(0xF0 | ((scalar >> 18) & 0x07)))
        out.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    }
}
