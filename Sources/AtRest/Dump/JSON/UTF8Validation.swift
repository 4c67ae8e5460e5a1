/// Finds the first byte that is not well-formed UTF-8 (Unicode 15, table 3-7:
/// no overlong forms, no surrogates, nothing above U+10FFFF), as Go's
/// `utf8.Valid` and Swift's `String(validating:)` decide, but with the offset,
/// which an error message needs and `String(validating:)` does not give.
///
/// Built for the hot path of reading exports: eight ASCII bytes are checked at
/// a time, and nothing is allocated.
package enum UTF8Validation {
    /// What is wrong at an offset.
    package enum Problem: Equatable, Sendable {
        /// The byte starts an ill-formed sequence (or continues nothing).
        case invalidUTF8(UInt8)
        /// A control byte (below 0x20), when those are refused too.
        case controlByte(UInt8)
    }

    private static let highBits: UInt64 = 0x8080_8080_8080_8080
    private static let controlBias: UInt64 = 0x6060_6060_6060_6060

    /// The offset and kind of the first problem in `bytes`, or nil when every byte is
    /// well-formed UTF-8 (and, with `refusingControlBytes`, none is below 0x20, as
    /// JSON strings require: RFC 8259 §7).
    @inline(__always)
    package static func firstProblem(in bytes: UnsafeRawBufferPointer, refusingControlBytes: Bool = false) -> (offset: Int, problem: Problem)? {
        guard let base = bytes.baseAddress else { return nil }
        let count = bytes.count
        var i = 0
        while i < count {
            // Fast path: eight ASCII bytes (and, if asked, none below 0x20) at a time.
            while i + 8 <= count {
                let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                if word & highBits != 0 { break }
                // For an ASCII byte b, b + 0x60 has its top bit set exactly when b >= 0x20,
                // and no byte carries into the next.
                if refusingControlBytes, (word &+ controlBias) & highBits != highBits { break }
                i += 8
            }
            guard i < count else { return nil }
            let lead = base.load(fromByteOffset: i, as: UInt8.self)
            if lead < 0x80 {
                if refusingControlBytes, lead < 0x20 { return (i, .controlByte(lead)) }
                i += 1
                continue
            }
            let length = sequenceLength(base, at: i, count: count, lead: lead)
            if length == 0 { return (i, .invalidUTF8(lead)) }
            i += length
        }
        return nil
    }

    /// The length of the well-formed sequence starting with `lead` (>= 0x80) at `i`, or 0.
    @inline(__always)
    private static func sequenceLength(_ base: UnsafeRawPointer, at i: Int, count: Int, lead: UInt8) -> Int {
        @inline(__always) func byte(_ k: Int) -> UInt8 { base.load(fromByteOffset: i + k, as: UInt8.self) }
        @inline(__always) func isContinuation(_ b: UInt8) -> Bool { b & 0xC0 == 0x80 }
        switch lead {
        case 0xC2...0xDF:
            guard i + 1 < count, isContinuation(byte(1)) else { return 0 }
            return 2
        case 0xE0...0xEF:
            guard i + 2 < count else { return 0 }
            let second = byte(1)
            let low: UInt8 = lead == 0xE0 ? 0xA0 : 0x80
            let high: UInt8 = lead == 0xED ? 0x9F : 0xBF
            guard second >= low, second <= high, isContinuation(byte(2)) else { return 0 }
            return 3
        case 0xF0...0xF4:
            guard i + 3 < count else { return 0 }
            let second = byte(1)
            let low: UInt8 = lead == 0xF0 ? 0x90 : 0x80
            let high: UInt8 = lead == 0xF4 ? 0x8F : 0xBF
            guard second >= low, second <= high, isContinuation(byte(2)), isContinuation(byte(3)) else { return 0 }
            return 4
        default:
            return 0
        }
    }
}
