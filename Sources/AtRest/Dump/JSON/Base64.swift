internal import CBase64

/// Strict standard base64 (RFC 4648 §4, with `=` padding), as Go's
/// `encoding/json` writes `[]byte` fields (etcdctl `printer_json.go` marshals
/// `mvccpb.KeyValue.Key`/`Value` this way).
///
/// Fast because decoding values is most of the cost of reading a JSON export:
/// whole 32-symbol blocks go through AVX2 where the CPU has it (`CBase64`), the
/// rest through four lookup tables, branch-light. Strict: no whitespace, length a multiple of 4, padding
/// only at the end, and the unused bits of the last symbol must be zero (etcd
/// never writes anything else; a non-canonical encoding is not etcdctl output).
enum Base64 {
    /// 0xFF marks a byte that is not in the alphabet.
    static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        for (index, symbol) in alphabet.enumerated() { table[Int(symbol)] = UInt8(index) }
        return table
    }()

    /// The same alphabet as four tables of pre-shifted 32-bit contributions, one per
    /// position in a quad: OR-ing the four gives the quad's three bytes in
    /// little-endian order, and a symbol outside the alphabet sets bit 24. Decoding
    /// a quad is then four loads, three ORs and one 4-byte store.
    static let quadTables: [UInt32] = {
        var tables = [UInt32](repeating: 0x0100_0000, count: 4 * 256)
        for (symbol, value) in decodeTable.enumerated() where value != 0xFF {
            let v = UInt32(value)
            tables[symbol] = v << 2
            tables[256 + symbol] = v >> 4 | (v & 0x0F) << 12
            tables[512 + symbol] = (v >> 2) << 8 | (v & 0x03) << 22
            tables[768 + symbol] = v << 16
        }
        return tables
    }()

    /// Decodes `source`, or returns nil if it is not strict standard base64.
    static func decode(_ source: UnsafeRawBufferPointer, vectorised: Bool = true) -> [UInt8]? {
        var output: [UInt8] = []
        return decode(source, into: &output, vectorised: vectorised) ? output : nil
    }

    /// `vectorised: false` decodes with the tables alone, as on a CPU without AVX2 (for tests).
    static func decode(_ bytes: [UInt8], vectorised: Bool = true) -> [UInt8]? {
        bytes.withUnsafeBytes { decode($0, vectorised: vectorised) }
    }

    /// Decodes `source` into `output`, replacing what it held and reusing its storage
    /// (a reader decodes every value into the same buffer); returns whether `source`
    /// is strict standard base64. On failure `output` holds nothing meaningful.
    static func decode(_ source: UnsafeRawBufferPointer, into output: inout [UInt8], vectorised: Bool = true) -> Bool {
        guard let length = decodedLength(source) else { return false }
        // Growing zero-fills the new bytes once; values of similar sizes then decode in place.
        if output.count < length {
            output.append(contentsOf: repeatElement(0, count: length - output.count))
        } else if output.count > length {
            output.removeLast(output.count - length)
        }
        if length == 0 { return true }
        return output.withUnsafeMutableBytes { decode(source, to: $0, vectorised: vectorised) }
    }

    /// The decoded length of `source`, or nil if that length cannot be strict base64.
    private static func decodedLength(_ source: UnsafeRawBufferPointer) -> Int? {
        let length = source.count
        if length == 0 { return 0 }
        guard length & 3 == 0, let src = source.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        var padding = 0
        if src[length - 1] == 0x3D { padding = src[length - 2] == 0x3D ? 2 : 1 }
        return (length / 4) * 3 - padding
    }

    /// Decodes non-empty `source` into `output`, exactly `decodedLength(source)` bytes.
    private static func decode(_ source: UnsafeRawBufferPointer, to output: UnsafeMutableRawBufferPointer, vectorised: Bool) -> Bool {
        let length = source.count
        guard let src = source.baseAddress?.assumingMemoryBound(to: UInt8.self), let raw = output.baseAddress else { return false }
        let out = raw.assumingMemoryBound(to: UInt8.self)
        let padding = (length / 4) * 3 - output.count
        let fullQuads = length / 4 - 1
        return quadTables.withUnsafeBufferPointer { quadPointer -> Bool in
            decodeTable.withUnsafeBufferPointer { tablePointer -> Bool in
                guard let table = tablePointer.baseAddress, let quad = quadPointer.baseAddress else { return false }
                // Each full quad stores four bytes; the fourth is overwritten by the next
                // quad, and the last quad (which always yields a byte) writes its own.
                // Whole 32-symbol blocks of the quads before the last, vectorised where the CPU can.
                var invalid: Int32 = 0
                var i = vectorised ? atrest_base64_decode_blocks(src, fullQuads * 4, out, output.count, &invalid) : 0
                if invalid != 0 { return false }
                var o = i / 4 * 3
                var bad: UInt32 = 0
                // The other quads but the last: no padding possible.
                while i < fullQuads * 4 {
                    let word = quad[Int(src[i])] | quad[256 + Int(src[i + 1])] | quad[512 + Int(src[i + 2])] | quad[768 + Int(src[i + 3])]
                    bad |= word
                    raw.storeBytes(of: word.littleEndian, toByteOffset: o, as: UInt32.self)
                    i += 4
                    o += 3
                }
                if bad & 0x0100_0000 != 0 { return false }
                let a = table[Int(src[i])], b = table[Int(src[i + 1])]
                switch padding {
                case 0:
                    let c = table[Int(src[i + 2])], d = table[Int(src[i + 3])]
                    if (a | b | c | d) & 0x80 != 0 { return false }
                    out[o] = a << 2 | b >> 4
                    out[o + 1] = b << 4 | c >> 2
                    out[o + 2] = c << 6 | d
                case 1:
                    let c = table[Int(src[i + 2])]
                    if (a | b | c) & 0x80 != 0 || c & 0x03 != 0 { return false }
                    out[o] = a << 2 | b >> 4
                    out[o + 1] = b << 4 | c >> 2
                default:
                    if (a | b) & 0x80 != 0 || b & 0x0F != 0 { return false }
                    out[o] = a << 2 | b >> 4
                }
                return true
            }
        }
    }
}
