import Foundation

/// Runs the built `atrest` executable, as a user would, for end-to-end tests.
public enum AtRestBinary {
    /// The `atrest` executable beside the test bundle (SwiftPM builds every product
    /// into the same directory before testing).
    public static var url: URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("atrest")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        return Fixtures.root.appendingPathComponent(".build/debug/atrest")
    }

    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs `atrest` with `arguments`, optionally feeding `stdin`, and waits.
    public static func run(_ arguments: [String], stdin: [UInt8]? = nil) throws -> Result {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
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
