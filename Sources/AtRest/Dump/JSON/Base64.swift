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

    /// Decodes `source`, or returns nil if it is not strict standard base64.
    static func decode(_ source: UnsafeRawBufferPointer) -> [UInt8]? {
        let length = source.count
        if length == 0 { return [] }
        guard length & 3 == 0, let src = source.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        var padding = 0
        if src[length - 1] == 0x3D { padding = src[length - 2] == 0x3D ? 2 : 1 }
        let outputLength = (length / 4) * 3 - padding
        let fullQuads = length / 4 - 1
        return decodeTable.withUnsafeBufferPointer { tablePointer -> [UInt8]? in
            guard let table = tablePointer.baseAddress else { return nil }
            var valid = true
            let output = [UInt8](unsafeUninitializedCapacity: outputLength) { buffer, initialized in
                guard let out = buffer.baseAddress else { initialized = 0; return }
                var i = 0
                var o = 0
                var bad: UInt8 = 0
                // All quads but the last: no padding possible.
                while i < fullQuads * 4 {
                    let a = table[Int(src[i])], b = table[Int(src[i + 1])]
                    let c = table[Int(src[i + 2])], d = table[Int(src[i + 3])]
                    bad |= a | b | c | d
                    let word = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    out[o] = UInt8(truncatingIfNeeded: word >> 16)
                    out[o + 1] = UInt8(truncatingIfNeeded: word >> 8)
                    out[o + 2] = UInt8(truncatingIfNeeded: word)
                    i += 4
                    o += 3
                }
                // Any symbol outside the alphabet maps to 0xFF, so bit 7 flags it.
                if bad & 0x80 != 0 { valid = false; initialized = 0; return }
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

    static func decode(_ bytes: [UInt8]) -> [UInt8]? {
        bytes.withUnsafeBytes { decode($0) }
    }
}
