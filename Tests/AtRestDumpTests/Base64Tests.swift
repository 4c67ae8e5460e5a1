@testable import AtRestDump
import Foundation
import Testing

/// The base64 decoder of JSON exports against Foundation's, at every length and
/// with a bad symbol at every position (the fast path decodes whole quads at once),
/// with AVX2 blocks where the CPU has them and with the tables alone (`vectorised`).
@Suite struct Base64Tests {
    func decode(_ text: String) -> [UInt8]? { Base64.decode(Array(text.utf8)) }

    @Test(arguments: [true, false])
    func decodesWhatFoundationEncodesAtEveryLengthUpTo300(vectorised: Bool) {
        var generator = SystemRandomNumberGenerator()
        for length in 0...300 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(Base64.decode(Array(Data(bytes).base64EncodedString().utf8), vectorised: vectorised) == bytes, "length \(length)")
        }
    }

    @Test func refusesASymbolOutsideTheAlphabetAtEveryPosition() {
        let encoded = Array(Data((0..<48).map { UInt8(truncatingIfNeeded: $0 &* 37) }).base64EncodedString().utf8)
        for position in encoded.indices {
            for bad in [UInt8(ascii: "*"), UInt8(ascii: "="), 0x00, 0x80, 0xFF] {
                var damaged = encoded
                damaged[position] = bad
                #expect(Base64.decode(damaged) == nil, "byte 0x\(String(bad, radix: 16)) at \(position)")
            }
        }
    }

    /// 172 symbols: five 32-symbol blocks for the vector path, and a tail for the tables.
    static let long = Array(Data((0..<128).map { UInt8(truncatingIfNeeded: $0 &* 151 &+ 7) }).base64EncodedString().utf8)

    @Test(arguments: [true, false])
    func refusesEveryByteOutsideTheAlphabetAtEveryPositionOfALongValue(vectorised: Bool) {
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        for bad in UInt8.min...UInt8.max where !alphabet.contains(bad) {
            for position in Self.long.indices where !(bad == UInt8(ascii: "=") && position >= Self.long.count - 2) {
                var damaged = Self.long
                damaged[position] = bad
                #expect(Base64.decode(damaged, vectorised: vectorised) == nil, "byte 0x\(String(bad, radix: 16)) at \(position)")
            }
        }
    }

    @Test(arguments: [true, false])
    func decodesEverySymbolInEveryPositionOfABlock(vectorised: Bool) {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        for shift in 0..<64 {
            let symbols = (0..<128).map { alphabet[($0 + shift) % 64] }
            let expected = Data(base64Encoded: Data(symbols)).map { Array($0) }
            #expect(Base64.decode(symbols, vectorised: vectorised) == expected, "shift \(shift)")
        }
    }

    @Test func refusesNonCanonicalPaddingBitsAndBadLengths() {
        #expect(decode("QQ==") == [0x41])
        #expect(decode("QR==") == nil)
        #expect(decode("QUI=") == [0x41, 0x42])
        #expect(decode("QUJ=") == nil)
        #expect(decode("QUJD") == [0x41, 0x42, 0x43])
        #expect(decode("QUJ") == nil)
        #expect(decode("Q===") == nil)
        #expect(decode("") == [])
    }
}
