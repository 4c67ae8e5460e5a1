import AtRestTestSupport
import Foundation
import Testing

/// Inputs found by the fuzz targets (docs/reliability.md, "Fuzzing"), kept under
/// `testdata/fuzz-regressions/`: each must stay a clean refusal, exit 2 with one
/// line that names the file and the byte, and never echo raw control bytes.
@Suite struct FuzzRegressionTests {
    /// Runs `atrest stats` on a regression input and returns its one-line error.
    private func refusal(_ name: String) throws -> String {
        let path = Fixtures.path("fuzz-regressions/\(name)")
        let result = try AtRestBinary.run(["stats", path])
        #expect(result.status == 2, "exit \(result.status); stderr: \(result.stderr)")
        #expect(result.stdout.isEmpty)
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[1].isEmpty, "not one line: \(result.stderr.debugDescription)")
        let line = String(lines[0])
        #expect(line.contains("\(path): "))
        #expect(!line.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "raw control byte in: \(line.debugDescription)")
        return line
    }

    @Test func fieldsUnknownFieldWithControlBytesIsShownEscaped() throws {
        let line = try refusal("fields-unknown-field-control-bytes.txt")
        #expect(line.contains(#"line 5 (byte 61): unknown field "\r\x1b[2KBogus""#), "\(line)")
    }

    @Test func jsonRawNewlineAfterABackslashIsAControlByteAtItsOffset() throws {
        let line = try refusal("json-invalid-escape-newline.json")
        #expect(line.contains("byte 4: control byte 0xa inside a string"), "\(line)")
    }

    @Test func kineIntegrityCheckOfSeveralLinesIsOneLine() throws {
        let line = try refusal("kine-quick-check-several-lines.db")
        #expect(line.contains("the SQLite database is damaged: *** in database main ***; On tree page"), "\(line)")
    }

    @Test func jsonInvalidEscapeOfADeleteIsShownEscaped() throws {
        let line = try refusal("json-invalid-escape-delete.json")
        #expect(line.contains(#"byte 3: invalid escape '\\x7f' in a string"#), "\(line)")
    }
}
