/// Strict standard base64 (RFC 4648 §4, with `=` padding), as Go's
/// `encoding/json` writes `[]byte` fields (etcdctl `printer_json.go` marshals
/// `mvccpb.KeyValue.Key`/`Value` this way).
///
/// Table-driven and branch-light because decoding values is most of the cost of
/// reading a JSON export. Strict: no whitespace, length a multiple of 4, padding
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
    static func decode(_ source: UnsafeRawBufferPointer) -> [UInt8]? {
        let length = source.count
        if length == 0 { return [] }
        guard length & 3 == 0, let src = source.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        var padding = 0
        if src[length - 1] == 0x3D { padding = src[length - 2] == 0x3D ? 2 : 1 }
        let outputLength = (length / 4) * 3 - padding
        let fullQuads = length / 4 - 1
        return quadTables.withUnsafeBufferPointer { quadPointer -> [UInt8]? in
            decodeTable.withUnsafeBufferPointer { tablePointer -> [UInt8]? in
                guard let table = tablePointer.baseAddress, let quad = quadPointer.baseAddress else { return nil }
                var valid = true
                // Each full quad stores four bytes; the fourth is overwritten by the next
                // quad, and the last quad (which always yields a byte) writes its own.
                let output = [UInt8](unsafeUninitializedCapacity: outputLength) { buffer, initialized in
                    guard let out = buffer.baseAddress else { initialized = 0; return }
                    let raw = UnsafeMutableRawPointer(out)
                    var i = 0
                    var o = 0
                    var bad: UInt32 = 0
                    // All quads but the last: no padding possible.
                    while i < fullQuads * 4 {
                        let word = quad[Int(src[i])] | quad[256 + Int(src[i + 1])] | quad[512 + Int(src[i + 2])] | quad[768 + Int(src[i + 3])]
                        bad |= word
                        raw.storeBytes(of: word.littleEndian, toByteOffset: o, as: UInt32.self)
                        i += 4
                        o += 3
                    }
                    if bad & 0x0100_0000 != 0 { valid = false; initialized = 0; return }
                    let a = table[Int(src[i])], b = table[Int(src[i + 1])]
                    switch padding {
                    case 0:
                        let c = table[Int(src[i + 2])], d = table[Int(src[i + 3])]
                        if (a | b | c | d) & 0x80 != 0 { valid = false; initialized = 0; return }
                        out[o] = a << 2 | b >> 4
                        out[o + 1] = b << 4 | c >> 2
                        out[o + 2] = c << 6 | d
                    case 1:
                        let c = table[Int(src[i + 2])]
                        if (a | b | c) & 0x80 != 0 || c & 0x03 != 0 { valid = false; initialized = 0; return }
                        out[o] = a << 2 | b >> 4
                        out[o + 1] = b << 4 | c >> 2
                    default:
                        if (a | b) & 0x80 != 0 || b & 0x0F != 0 { valid = false; initialized = 0; return }
                        out[o] = a << 2 | b >> 4
                    }
                    initialized = outputLength
                }
                return valid ? output : nil
            }
        }
    }

    static func decode(_ bytes: [UInt8]) -> [UInt8]? {
        bytes.withUnsafeBytes { decode($0) }
    }
}
