import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A running `atrest`, for tests that act on it while it runs: feed its
/// standard input piece by piece, look at its files, send it a signal.
///
/// Every wait is bounded, and the process is killed (by its pid) when the test
/// lets go of it still running, so a failing test never leaves one behind.
public final class AtRestProcess {
    public struct Timeout: Error, CustomStringConvertible {
        public var description: String
    }

    private let process = Process()
    private let input = Pipe()
    private let outputFile: URL
    private let errorFile: URL
    public var pid: Int32 { process.processIdentifier }

    /// Starts `atrest arguments` with `environment` added to the test's own,
    /// standard input a pipe (`write`, `closeInput`), and its output kept in
    /// files under `scratch`. With `umask` (octal, e.g. "000"), a shell sets it
    /// and then becomes atrest (same pid).
    public init(_ arguments: [String], environment: [String: String] = [:], umask: String? = nil, scratch: URL) throws {
        // A write to a process that has ended must fail, not kill the tests.
        _ = Glibc.signal(SIGPIPE, SIG_IGN)
        let binary = try AtRestBinary.executable()
        if let umask {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "umask \(umask) && exec \"$0\" \"$@\"", binary.path] + arguments
        } else {
            process.executableURL = binary
            process.arguments = arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let name = UUID().uuidString
        outputFile = scratch.appendingPathComponent("\(name).out")
        errorFile = scratch.appendingPathComponent("\(name).err")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
        process.standardError = try FileHandle(forWritingTo: errorFile)
        process.standardInput = input
        try process.run()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Writes `bytes` to the process's standard input.
    public func write(_ bytes: [UInt8]) throws {
        try input.fileHandleForWriting.write(contentsOf: Data(bytes))
    }

    /// Closes standard input: the process sees the end of its input.
    public func closeInput() throws {
        try input.fileHandleForWriting.close()
    }

    public func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    /// How the process ended.
    public enum Ending: Equatable, Sendable {
        case exited(Int32)
        case signalled(Int32)
    }

    /// Waits up to `seconds` for the process to end; kills it and throws if it does not.
    @discardableResult
    public func wait(seconds: Double = 30) throws -> Ending {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        guard !process.isRunning else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw Timeout(description: "atrest \(process.arguments ?? []) still ran after \(seconds) s: killed")
        }
        process.waitUntilExit()
        switch process.terminationReason {
        case .exit: return .exited(process.terminationStatus)
        case .uncaughtSignal: return .signalled(process.terminationStatus)
        @unknown default: return .exited(process.terminationStatus)
        }
    }

    public var stdout: String { (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "" }

    /// Polls `condition` every 20 ms for up to `seconds`; throws if it never holds.
    public static func waitUntil(seconds: Double = 30, _ what: String, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            usleep(20_000)
        }
        throw Timeout(description: "\(what): not within \(seconds) s")
    }

    /// Runs `atrest arguments` to its end (bounded), with `environment` added.
    public static func run(_ arguments: [String], environment: [String: String] = [:], stdin: [UInt8] = [], scratch: URL,
                           seconds: Double = 120) throws -> (ending: Ending, stdout: String, stderr: String) {
        let running = try AtRestProcess(arguments, environment: environment, scratch: scratch)
        let bytes = stdin
        let handle = running.input.fileHandleForWriting
        Thread.detachNewThread {
            try? handle.write(contentsOf: Data(bytes))
            try? handle.close()
        }
        let ending = try running.wait(seconds: seconds)
        return (ending, running.stdout, running.stderr)
    }
}
