@testable import AtRestIndex
import AtRestTestSupport
import Foundation
import Testing

/// The index checksum is XXH64 as published (seed 0), so `atrest.sum` can be
/// checked with any xxHash implementation.
@Suite struct IndexChecksumTests {
    @Test(arguments: [("", 0xEF46_DB37_51D8_E999 as UInt64), ("a", 0xD24E_C4F1_A98C_6E5B), ("abc", 0x44BC_2CF5_AD77_0999),
                      ("Nobody inspects the spammish repetition", 0xFBCE_A83C_8A37_8BF1)])
    func matchesTheReferenceVectors(_ text: String, _ expected: UInt64) {
        #expect(XXH64.hash(Array(text.utf8)) == expected)
    }

    @Test func aLongInputHashedInPiecesHashesAsInOnePiece() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var pieces = XXH64()
        bytes.withUnsafeBytes { raw in
            pieces.update(UnsafeRawBufferPointer(rebasing: raw[..<320]))
            pieces.update(UnsafeRawBufferPointer(rebasing: raw[320...]))
        }
        #expect(pieces.finish() == XXH64.hash(bytes))
    }

    @Test func aBuiltIndexRecordsTheSumOfItsDataFile() throws {
        let dir = try Fixtures.temporaryDirectory("checksum")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("idx").path
        try IndexBuilder.build(inputs: [Fixtures.path("samples/get_all.json")], at: path)
        let sums = try IndexChecksum.read(directory: path)
        let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "/data.mdb")))
        #expect(sums == IndexChecksum.Sums(dataSize: UInt64(data.count), chunks: [XXH64.hash(data)]))
    }
}
