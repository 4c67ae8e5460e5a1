import Foundation

/// Runs the built `atrest` executable, as a user would, for end-to-end tests.
///
/// The binary under test is `$ATREST_BINARY` when set (`scripts/test.sh` runs the
/// end-to-end suite once with the debug build and once with the release build,
/// which is what users run), else the `atrest` SwiftPM built beside this test
/// bundle. A binary that is asked for and missing is an error, never a silent
/// fallback to some other build.
public enum AtRestBinary {
    /// A missing or unusable binary: the test fails, naming it.
    public struct Missing: Error, CustomStringConvertible {
        public var description: String
    }

    /// The executable under test.
    public static func executable() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["ATREST_BINARY"], !path.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw Missing(description: "ATREST_BINARY=\(path) is not an executable file: build it first")
            }
            return URL(fileURLWithPath: path)
        }
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        var directory = bundleDirectory
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("atrest")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        throw Missing(description: "no atrest executable beside the tests in \(bundleDirectory.path): run 'swift build --build-tests', or set ATREST_BINARY")
    }

    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs `atrest` with `arguments`, optionally feeding `stdin`, and waits. `directory` is the
    /// working directory (the caller's when `nil`).
    public static func run(_ arguments: [String], stdin: [UInt8]? = nil, in directory: URL? = nil) throws -> Result {
        try launch(try executable(), arguments, stdin: stdin, directory: directory)
    }

    /// Runs `program` (a wrapper that starts atrest in a setting of its own: `unshare`, `setpriv`,
    /// `bash` for process substitution, `strace`) and waits. `environment` replaces the caller's.
    public static func runProgram(_ program: String, _ arguments: [String], environment: [String: String]? = nil) throws -> Result {
        try launch(URL(fileURLWithPath: program), arguments, environment: environment)
    }

    private static func launch(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil,
                               stdin: [UInt8]? = nil, directory: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try process.run()
        if let stdin {
            // Write from another thread: a large input must not dead-lock against a full stdout pipe.
            let handle = input.fileHandleForWriting
            let data = Data(stdin)
            Thread.detachNewThread {
                handle.write(data)
                try? handle.close()
            }
        }
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: stdoutData, as: UTF8.self),
                      stderr: String(decoding: stderrData, as: UTF8.self))
    }
}
