import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A real KMS plugin for tests: `testdata/kms/kms_plugin.py` (gRPC, grpcio) serving
/// the v2 or v1 API on a unix socket in a private temporary directory, with the
/// KEKs of `testdata/kms/keks.json`.
///
/// House rules, as for `EtcdServer`: stopped by its pid (SIGTERM, bounded wait,
/// SIGKILL) by `stop()`, by `deinit` when a failing test lets it go, or at process
/// exit. Its Python is `$ATREST_TEST_PYTHON`, else the venv `scripts/lib/test-python.sh`
/// makes in `.build-python`; a missing one fails the test, never skips it.
public final class KMSPluginServer {
    public struct Options: Sendable {
        public var api = "v2"
        public var currentKeyID = "k1"
        public var healthz = "ok"
        public var statusVersion: String?
        /// Seconds the plugin waits before every answer.
        public var delay: Double = 0
        /// Seconds more it waits before every `Decrypt` answer.
        public var decryptDelay: Double = 0
        /// A KEK file other than `testdata/kms/keks.json` (a plugin that lost a key).
        public var keks: String?
        /// A hostile plugin's answer to every `Decrypt` (`kms_plugin.py --misbehave`): `huge-plaintext`
        /// (8 MiB where a DEK belongs) or `huge-error` (a gRPC status message of 1 MiB).
        public var misbehave: String?

        public init(api: String = "v2", currentKeyID: String? = nil) {
            self.api = api
            self.currentKeyID = currentKeyID ?? (api == "v1" ? "legacy" : "k1")
        }
    }

    public let directory: URL
    public let options: Options
    public private(set) var pid: pid_t?

    /// The socket, as an EncryptionConfiguration's `endpoint` names it.
    public var endpoint: String { "unix://" + socketPath }
    public var socketPath: String { directory.appendingPathComponent("kms.sock").path }
    /// One JSON line per call the plugin received.
    public var callsPath: String { directory.appendingPathComponent("calls.jsonl").path }
    public var logPath: String { directory.appendingPathComponent("plugin.log").path }

    public static func python() throws -> String {
        let environment = ProcessInfo.processInfo.environment["ATREST_TEST_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
        let path = environment ?? Fixtures.root.appendingPathComponent(".build-python/bin/python3").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw EtcdServer.Failure("no Python for the KMS test plugins at \(path): run scripts/lib/test-python.sh (scripts/test.sh does)")
        }
        return path
    }

    /// Starts the plugin and waits (at most `timeout` seconds) until it listens.
    public init(_ options: Options = Options(), timeout: TimeInterval = 30) throws {
        self.options = options
        directory = try Fixtures.temporaryDirectory("kms")
        let pidPath = directory.appendingPathComponent("plugin.pid").path
        var arguments = [try Self.python(), Fixtures.path("kms/kms_plugin.py"), "--api", options.api, "--socket", socketPath,
                         "--keks", options.keks ?? Fixtures.path("kms/keks.json"), "--current-key-id", options.currentKeyID,
                         "--healthz", options.healthz, "--calls", callsPath, "--pid-file", pidPath]
        if let version = options.statusVersion { arguments += ["--status-version", version] }
        if options.delay > 0 { arguments += ["--delay", "\(options.delay)"] }
        if options.decryptDelay > 0 { arguments += ["--decrypt-delay", "\(options.decryptDelay)"] }
        if let misbehave = options.misbehave { arguments += ["--misbehave", misbehave] }
        do {
            let child = try EtcdServer.spawn(arguments.map { Array($0.utf8) }, stdin: nil, stdout: logPath, stderr: logPath)
            pid = child
            EtcdServer.registry.add(child)
            let deadline = Date().addingTimeInterval(timeout)
            while !FileManager.default.fileExists(atPath: pidPath) {
                var status: Int32 = 0
                if waitpid(child, &status, WNOHANG) == child {
                    EtcdServer.registry.remove(child)
                    pid = nil
                    throw EtcdServer.Failure("the KMS plugin exited during startup (status \(status)): \(log)")
                }
                guard Date() < deadline else { throw EtcdServer.Failure("the KMS plugin did not listen within \(Int(timeout)) s: \(log)") }
                usleep(20_000)
            }
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// Stops the plugin (SIGTERM, up to 10 s, then SIGKILL) and removes its directory. Safe to call twice.
    public func stop() {
        if let pid {
            EtcdServer.terminate(pid)
            self.pid = nil
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// The calls the plugin received, in order: each line's `method` and, for Decrypt, its `key_id`.
    public func calls() throws -> [(method: String, keyID: String?)] {
        guard let data = FileManager.default.contents(atPath: callsPath) else { return [] }
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            return (object["method"] as? String ?? "", object["key_id"] as? String)
        }
    }

    private var log: String {
        FileManager.default.contents(atPath: logPath).map { String(decoding: $0, as: UTF8.self) } ?? "(no log)"
    }
}
