import Testing
@testable import AtRestDump

/// The validator behind every JSON string and every configuration file: the standard library's notion of
/// well-formed UTF-8, plus the offset of the first byte that breaks it.
@Suite struct UTF8ValidationTests {
    private func problem(_ bytes: [UInt8], refusingControlBytes: Bool = false) -> (offset: Int, problem: UTF8Validation.Problem)? {
        bytes.withUnsafeBytes { UTF8Validation.firstProblem(in: $0, refusingControlBytes: refusingControlBytes) }
    }

    @Test func agreesWithTheStandardLibraryOnEveryTwoByteSequence() {
        for first in 0...255 {
            for second in 0...255 {
                let bytes = [UInt8(first), UInt8(second)]
                #expect((problem(bytes) == nil) == (String(validating: bytes, as: UTF8.self) != nil), "\(bytes)")
            }
        }
    }

    @Test func agreesWithTheStandardLibraryOnThreeAndFourByteSequences() {
        var generator = SystemRandomNumberGenerator()
        let leads: [UInt8] = [0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xC2, 0x80, 0x41]
        for lead in leads {
            for second in stride(from: 0x70, through: 0xC0, by: 1) {
                for _ in 0..<20 {
                    let bytes = [lead, UInt8(second)] + (0..<Int.random(in: 1...2, using: &generator)).map { _ in
                        UInt8.random(in: 0x70...0xC0, using: &generator)
                    }
                    #expect((problem(bytes) == nil) == (String(validating: bytes, as: UTF8.self) != nil), "\(bytes)")
                }
            }
        }
    }

    @Test func reportsTheFirstByteOfTheBrokenSequence() {
        let text = Array("0123456789abcdef é ✓ 😀 ".utf8)
        #expect(problem(text) == nil)
        #expect(problem(text + [0xF0, 0x9F, 0x98]) ?? (0, .invalidUTF8(0)) == (text.count, .invalidUTF8(0xF0)))
        #expect(problem(text + [0xC0, 0x80])?.offset == text.count)  // overlong NUL
        #expect(problem(text + [0xED, 0xA0, 0x80])?.offset == text.count)  // a surrogate
        #expect(problem(text + [0xF4, 0x90, 0x80, 0x80])?.offset == text.count)  // above U+10FFFF
        #expect(problem([0x41, 0x80])?.offset == 1)  // a continuation byte alone
    }

    @Test func controlBytesAreProblemsOnlyWhenAsked() {
        let bytes = Array("abcdefghijklmnop\tq".utf8)
        #expect(problem(bytes) == nil)
        #expect(problem(bytes, refusingControlBytes: true) ?? (0, .invalidUTF8(0)) == (16, .controlByte(0x09)))
        #expect(problem([0x7F, 0x20, 0x7E], refusingControlBytes: true) == nil)
    }
}
