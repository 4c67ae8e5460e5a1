import AtRestTestSupport
import Foundation
import Testing

/// `atrest --version` names the release, the commit and the C libraries linked in,
/// which is what a bug report about a packaged binary needs.
@Suite struct VersionTests {
    @Test func versionNamesTheReleaseTheCommitAndTheLinkedLibraries() throws {
        let result = try AtRestBinary.run(["--version"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 6, "\(result.stdout)")
        #expect(lines[0].wholeMatch(of: /atrest \d+\.\d+\.\d+/) != nil, "\(lines[0])")
        #expect(lines[1].wholeMatch(of: /commit ([0-9a-f]{40}|unknown)/) != nil, "\(lines[1])")
        #expect(lines[2].hasPrefix("OpenSSL 3."), "\(lines[2])")
        #expect(lines[3].wholeMatch(of: /libsodium \d+\.\d+\.\d+/) != nil, "\(lines[3])")
        #expect(lines[4].hasPrefix("LMDB 0.9."), "\(lines[4])")
        #expect(lines[5].wholeMatch(of: /SQLite 3\.\d+\.\d+/) != nil, "\(lines[5])")
    }

    @Test func theCommitIsTheOneTheBuildWasGiven() throws {
        // The test scripts build with ATREST_GIT_COMMIT set; a plain build says "unknown".
        guard let commit = ProcessInfo.processInfo.environment["ATREST_GIT_COMMIT"], commit.count == 40 else { return }
        let result = try AtRestBinary.run(["--version"])
        #expect(result.stdout.contains("commit \(commit)\n"), "\(result.stdout)")
    }
}
