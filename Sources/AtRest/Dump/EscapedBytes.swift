/// Shows bytes as text without losing or hiding anything: valid printable UTF-8
/// stays as it is; control bytes, `\` and invalid UTF-8 become escapes (`\n`,
/// `\\`, `\xff`). etcd keys are bytes and may be anything; this is how atrest
/// prints them.
public enum EscapedBytes {
    public static func string(_ bytes: some Collection<UInt8>) -> String {
        // Fast path: etcd keys are nearly always printable ASCII without `\`.
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\\") }) {
            return String(decoding: bytes, as: UTF8.self)
        }
        let bytes = Array(bytes)
        var out = String()
        out.reserveCapacity(bytes.count)
        var decoder = UTF8()
        var index = 0
        while index < bytes.count {
            let length = scalarLength(bytes, at: index)
            if length > 0 {
                var scalarBytes = bytes[index ..< index + length].makeIterator()
                if case .scalarValue(let scalar) = decoder.decode(&scalarBytes) {
                    append(scalar, to: &out)
                    index += length
                    continue
                }
            }
            // Not well-formed UTF-8 here: show the byte itself.
            out += hex(bytes[index])
            index += 1
        }
        return out
    }

    private static func append(_ scalar: Unicode.Scalar, to out: inout String) {
        switch scalar {
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        case "\\": out += "\\\\"
        default:
            if scalar.value >= 0x20 && scalar.value < 0x7f {
                out.unicodeScalars.append(scalar)
            } else if scalar.value < 0x20 || scalar.value == 0x7f {
                out += hex(UInt8(scalar.value))
            } else if scalar.properties.generalCategory == .format || scalar.properties.generalCategory == .control
                        || scalar.properties.generalCategory == .lineSeparator || scalar.properties.generalCategory == .paragraphSeparator {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return "\\x\(digits[Int(byte >> 4)])\(digits[Int(byte & 0x0f)])"
    }

    /// Length of a well-formed UTF-8 sequence at `index`, or 0.
    private static func scalarLength(_ bytes: [UInt8], at index: Int) -> Int {
        let lead = bytes[index]
        let length: Int
        switch lead {
        case 0x00...0x7f: return 1
        case 0xc2...0xdf: length = 2
        case 0xe0...0xef: length = 3
        case 0xf0...0xf4: length = 4
        default: return 0
        }
        guard index + length <= bytes.count else { return 0 }
        for i in 1..<length where bytes[index + i] & 0xc0 != 0x80 { return 0 }
        return length
    }
}
