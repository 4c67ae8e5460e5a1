/// A hex string that is not an even number of hex digits.
public struct BadHex: Error {}

/// The bytes of a hex string (test vectors are stored as hex); throws on odd
/// length or a non-hex digit, so a typo in a vector fails the test loudly.
public func hexBytes(_ text: String) throws -> [UInt8] {
    let digits = Array(text.utf8)
    guard digits.count % 2 == 0 else { throw BadHex() }
    func nibble(_ c: UInt8) throws -> UInt8 {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: throw BadHex()
        }
    }
    return try stride(from: 0, to: digits.count, by: 2).map { try nibble(digits[$0]) << 4 | nibble(digits[$0 + 1]) }
}
