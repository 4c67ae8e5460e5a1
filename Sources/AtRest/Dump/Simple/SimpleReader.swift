/// Reads the default `etcdctl get` output (`etcdctl/ctlv3/command/printer_simple.go`
/// → `util.go printKV`: `fmt.Println(key)` then `fmt.Println(value)`, raw bytes,
/// no escaping, no length) — but only when it cannot be misread.
///
/// That output is ambiguous (spec §1.4): a newline in a key or value shifts the
/// key/value pairing, and a value such as `"harmless\n/app/config\nEVIL"` forges
/// a record for another key. An audit that paired lines naively could report a
/// forged value as what etcd stores, so the whole input is refused
/// (`.ambiguousPlainOutput`, pointing to `-w json`) unless ALL of these hold:
///
/// 1. the input is not empty and ends with `\n` (etcdctl's last `Println`);
/// 2. it has an even number of lines (key line, value line, ...);
/// 3. every line is valid UTF-8 with no control byte except tab (no NUL, CR,
///    DEL, ...): binary values, encrypted values (`k8s:enc:...`) and
///    protobuf-encoded Kubernetes objects all fail this, and with it the main
///    way a value smuggles in extra lines;
/// 4. every key line is non-empty and starts with `/` (Kubernetes keys do; a
///    key outside `/` is refused rather than guessed);
/// 5. no value line starts with `/` (it could be a key whose value was lost);
/// 6. keys are strictly ascending in byte order, as etcd returns a range
///    (`--sort-by`/`--order` output is refused: a key out of order or repeated
///    is exactly what a value spilling onto extra lines produces);
/// 7. not every value is empty (that is `--keys-only` output: the values were
///    never exported, and reading them as empty would be false).
///
/// Residual risk, stated: a value whose extra lines themselves look like a
/// well-ordered `/key` + non-`/` value pair cannot be told apart from two real
/// records. That is why `-w json` is the recommended input and this reader
/// exists only for small, printable, hand-made exports.
///
/// Because one bad record refuses the whole input, nothing is delivered to the
/// sink until the whole input has been checked: the reader makes two passes
/// (`validate`, then `deliver` over a reopened file; stdin is spooled first).
struct SimpleReader {
    static let refusalMessage = "plain etcdctl output is ambiguous here (a value contains a newline or looks like a key); export with: etcdctl get \"\" --prefix -w json > export.json"

    let name: String

    /// The first pass: checks the rules above over the whole stream; returns the
    /// number of records. Throws `.ambiguousPlainOutput` (with the first offending
    /// line) when any rule fails.
    func validate(_ stream: ByteStream) throws -> Int64 {
        var lineNumber = 0
        var previousKey: [UInt8]?
        var sawNonEmptyValue = false
        var records: Int64 = 0
        func refuse(_ location: Location, _ why: String) -> DumpError {
            DumpError(.ambiguousPlainOutput, file: name, at: location, "\(SimpleReader.refusalMessage) [\(why)]")
        }
        while let line = try stream.nextLine() {
            lineNumber += 1
            let location = Location.line(lineNumber, byte: line.offset)
            guard line.terminated else { throw refuse(location, "the last line has no newline") }
            let bytes = line.bytes
            guard SimpleReader.isPrintableUTF8(bytes) else { throw refuse(location, "line is not printable UTF-8 text") }
            if lineNumber % 2 == 1 {
                guard bytes.count > 0, bytes[0] == 0x2F else { throw refuse(location, "a key line does not start with '/'") }
                let key = [UInt8](bytes)
                if let previousKey, !previousKey.lexicographicallyPrecedes(key) {
                    throw refuse(location, "keys are not in strictly ascending order")
                }
                previousKey = key
            } else {
                if bytes.count > 0 {
                    guard bytes[0] != 0x2F else { throw refuse(location, "a value line starts with '/' and could be a key") }
                    sawNonEmptyValue = true
                }
                records += 1
            }
        }
        if lineNumber == 0 {
            throw DumpError(.unknownFormat, file: name, at: .file, "empty input")
        }
        if lineNumber % 2 != 0 {
            throw refuse(.line(lineNumber, byte: stream.offset), "odd number of lines")
        }
        if !sawNonEmptyValue { throw refuse(.file, "every value is empty: this looks like --keys-only output") }
        return records
    }

    /// The second pass, over a fresh stream of the same bytes that `validate` accepted.
    func deliver<S: DumpSink>(_ stream: ByteStream, into sink: inout S, guard keys: inout PageKeyGuard) throws {
        var lineNumber = 0
        var pendingKey: [UInt8]?
        var keyLocation = Location.file
        keys.beginPage()
        while let line = try stream.nextLine() {
            lineNumber += 1
            if let key = pendingKey {
                pendingKey = nil
                if keys.admit(key) {
                    try sink.live(KeyValue(key: key, value: [UInt8](line.bytes)))
                } else {
                    try sink.refused(Refusal(reason: .duplicateKey, file: name, location: keyLocation, key: key))
                }
            } else {
                pendingKey = [UInt8](line.bytes)
                keyLocation = .line(lineNumber, byte: line.offset)
            }
        }
        keys.endPage()
    }

    /// Valid UTF-8 (no overlongs, surrogates or values above U+10FFFF) without
    /// C0 control bytes other than tab, and without DEL.
    static func isPrintableUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                if (b < 0x20 && b != 0x09) || b == 0x7F { return false }
                i += 1
                continue
            }
            var need = 0
            var minimum: UInt32 = 0
            var scalar: UInt32 = 0
            switch b {
            case 0xC2...0xDF: need = 1; minimum = 0x80; scalar = UInt32(b & 0x1F)
            case 0xE0...0xEF: need = 2; minimum = 0x800; scalar = UInt32(b & 0x0F)
            case 0xF0...0xF4: need = 3; minimum = 0x10000; scalar = UInt32(b & 0x07)
            default: return false
            }
            guard i + need < n else { return false }
            for k in 1...need {
                let c = bytes[i + k]
                guard c & 0xC0 == 0x80 else { return false }
                scalar = scalar << 6 | UInt32(c & 0x3F)
            }
            if scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) { return false }
            // C1 controls (U+0080–U+009F) are not printable either.
            if scalar < 0xA0 { return false }
            i += need + 1
        }
        return true
    }
}
