import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A throwaway single-member etcd for tests.
///
/// House rules: it listens on 127.0.0.1 only, on free ports (client, peer and
/// metrics), with a private temporary data dir, and is stopped by its pid
/// (SIGTERM, bounded wait, SIGKILL fallback) when the test ends: `stop()`, or
/// `deinit` when a failing test lets it go, or at process exit as a last resort.
///
/// Binaries: `$ETCD`/`$ETCDCTL` if set, else `/usr/bin/etcd` and
/// `/usr/bin/etcdctl`, else `etcd`/`etcdctl` on `PATH`. Use
/// `.enabled(if: EtcdServer.shouldRun)` on tests: they are skipped when etcd is
/// missing, except in CI (`CI=true`), where they run and fail in `init`.
public final class EtcdServer {
    /// A failure to start or drive the server; `description` says what happened.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    public let clientURL: String
    public let clientPort: UInt16
    public let peerPort: UInt16
    public let metricsPort: UInt16
    /// The private temporary directory (data dir and log); removed by `stop()`.
    public let directory: URL
    public private(set) var pid: pid_t?

    // MARK: Availability

    /// The etcd binary, if installed.
    public static let etcdPath: String? = locate("etcd")
    /// The etcdctl binary, if installed.
    public static let etcdctlPath: String? = locate("etcdctl")

    /// Whether etcd and etcdctl are both installed.
    public static var isAvailable: Bool { etcdPath != nil && etcdctlPath != nil }

    /// Whether the environment demands live-etcd tests (`CI=true`).
    public static var isRequired: Bool {
        ProcessInfo.processInfo.environment["CI"]?.lowercased() == "true"
    }

    /// For `.enabled(if:)`: run when etcd is installed, and always in CI, so that
    /// a CI machine without etcd fails these tests (in `init`) instead of skipping them.
    public static var shouldRun: Bool { isAvailable || isRequired }

    /// `ETCD` / `ETCDCTL` in the environment name the binaries explicitly (a path
    /// that is not executable makes etcd unavailable); else /usr/bin, else PATH.
    private static func locate(_ name: String) -> String? {
        if let explicit = ProcessInfo.processInfo.environment[name.uppercased()], !explicit.isEmpty {
            return FileManager.default.isExecutableFile(atPath: explicit) ? explicit : nil
        }
        var candidates = ["/usr/bin/\(name)"]
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            candidates.append("\(dir)/\(name)")
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    // MARK: Lifecycle

    /// Starts etcd and waits (at most `timeout` seconds) until it reports healthy.
    /// Retries once with new ports if a port was taken between probing and binding.
    public convenience init(timeout: TimeInterval = 15) throws {
        do {
            try self.init(attempt: timeout)
        } catch let failure as Failure where failure.description.contains("address already in use") {
            try self.init(attempt: timeout)
        }
    }

    private init(attempt timeout: TimeInterval) throws {
        guard let etcd = Self.etcdPath, Self.etcdctlPath != nil else {
            throw Failure("etcd/etcdctl not found (looked at $ETCD/$ETCDCTL, /usr/bin and PATH)"
                + (Self.isRequired ? "; CI=true requires them: install etcd-server and etcd-client" : ""))
        }
        let ports = try Self.freePorts(3)
        (clientPort, peerPort, metricsPort) = (ports[0], ports[1], ports[2])
        clientURL = "http://127.0.0.1:\(clientPort)"
        directory = try Fixtures.temporaryDirectory("etcd")
        let peer = "http://127.0.0.1:\(peerPort)"
        let arguments = [
            etcd,
            "--name", "atrest-test",
            "--data-dir", directory.appendingPathComponent("data").path,
            "--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", "atrest-test=\(peer)", "--initial-cluster-state", "new",
            "--listen-metrics-urls", "http://127.0.0.1:\(metricsPort)",
        ]
        do {
            pid = try Self.spawn(arguments.map { Array($0.utf8) }, stdin: nil,
                                 stdout: logPath, stderr: logPath)
            EtcdServer.registry.add(pid!)
            try waitUntilHealthy(timeout: timeout)
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// etcd's combined stdout and stderr.
    public var logPath: String { directory.appendingPathComponent("etcd.log").path }

    /// The last lines of etcd's log, for failure messages.
    public func logTail(_ lines: Int = 20) -> String {
        guard let data = FileManager.default.contents(atPath: logPath) else { return "(no log)" }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Stops etcd (SIGTERM, up to 10 s, then SIGKILL), reaps it, removes the data dir.
    /// Safe to call more than once.
    public func stop() {
        if let pid {
            Self.terminate(pid)
            self.pid = nil
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// SIGTERM, up to 10 s, then SIGKILL; reaps the child and forgets it.
    static func terminate(_ pid: pid_t) {
        kill(pid, SIGTERM)
        if !reap(pid, timeout: 10) {
            kill(pid, SIGKILL)
            _ = reap(pid, timeout: 10)
        }
        registry.remove(pid)
    }

    private func waitUntilHealthy(timeout: TimeInterval) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let pid {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid {
                    self.pid = nil
                    EtcdServer.registry.remove(pid)
                    throw Failure("etcd exited during startup (status \(status)):\n\(logTail())")
                }
            }
            if let body = Self.httpGet(port: clientPort, path: "/health"), body.contains("\"health\":\"true\"") {
                return
            }
            usleep(50_000)
        }
        throw Failure("etcd at \(clientURL) was not healthy within \(Int(timeout)) s:\n\(logTail())")
    }

    // MARK: etcdctl

    /// Runs `etcdctl` (API v3) against this server.
    public func etcdctl(_ args: [String], stdin: [UInt8]? = nil) throws -> (status: Int32, stdout: [UInt8], stderr: String) {
        try etcdctl(raw: args.map { Array($0.utf8) }, stdin: stdin)
    }

    /// Runs `etcdctl` with arguments given as raw bytes (non-UTF-8 keys).
    public func etcdctl(raw args: [[UInt8]], stdin: [UInt8]? = nil, timeout: TimeInterval = 60) throws -> (status: Int32, stdout: [UInt8], stderr: String) {
        guard let etcdctl = Self.etcdctlPath else { throw Failure("etcdctl not found") }
        let scratch = try Fixtures.temporaryDirectory("etcdctl")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let inPath = scratch.appendingPathComponent("stdin").path
        let outPath = scratch.appendingPathComponent("stdout").path
        let errPath = scratch.appendingPathComponent("stderr").path
        if let stdin {
            guard FileManager.default.createFile(atPath: inPath, contents: Data(stdin)) else {
                throw Failure("cannot write \(inPath)")
            }
        }
        let argv = [Array(etcdctl.utf8), Array("--endpoints=\(clientURL)".utf8),
                    Array("--command-timeout=30s".utf8)] + args
        let child = try Self.spawn(argv, stdin: stdin == nil ? nil : inPath, stdout: outPath, stderr: errPath,
                                   environment: ["ETCDCTL_API=3"])
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(timeout)
        while waitpid(child, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(child, SIGKILL)
                waitpid(child, &status, 0)
                throw Failure("etcdctl \(args.map { String(decoding: $0, as: UTF8.self) }) did not finish within \(Int(timeout)) s")
            }
            usleep(5_000)
        }
        let exit: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let out = FileManager.default.contents(atPath: outPath).map { [UInt8]($0) } ?? []
        let err = FileManager.default.contents(atPath: errPath).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return (exit, out, err)
    }

    /// Runs etcdctl and throws unless it exits 0; returns stdout.
    @discardableResult
    public func etcdctlChecked(raw args: [[UInt8]], stdin: [UInt8]? = nil) throws -> [UInt8] {
        let result = try etcdctl(raw: args, stdin: stdin)
        guard result.status == 0 else {
            let shown = args.map { String(decoding: $0, as: UTF8.self).debugDescription }.joined(separator: " ")
            throw Failure("etcdctl \(shown) exited \(result.status): \(result.stderr)")
        }
        return result.stdout
    }

    /// Writes `value` under `key`, byte for byte: the key goes in argv as raw bytes
    /// (anything but NUL), the value through stdin, which `etcdctl put` reads whole
    /// (NUL bytes and trailing newlines kept). etcdctl refuses an empty stdin, so an
    /// empty value is passed as an empty argument instead.
    public func put(_ key: [UInt8], _ value: [UInt8], lease: Int64? = nil) throws {
        guard !key.contains(0) else { throw Failure("etcdctl cannot take a key with a NUL byte in argv") }
        var args: [[UInt8]] = [Array("put".utf8)]
        if let lease { args.append(Array("--lease=\(String(UInt64(bitPattern: lease), radix: 16))".utf8)) }
        args += [Array("--".utf8), key]
        if value.isEmpty {
            try etcdctlChecked(raw: args + [[]])
        } else {
            try etcdctlChecked(raw: args, stdin: value)
        }
    }

    public func put(_ key: String, _ value: [UInt8], lease: Int64? = nil) throws {
        try put(Array(key.utf8), value, lease: lease)
    }

    /// Deletes `key` (exact key, not a prefix).
    public func delete(_ key: [UInt8]) throws {
        guard !key.contains(0) else { throw Failure("etcdctl cannot take a key with a NUL byte in argv") }
        try etcdctlChecked(raw: [Array("del".utf8), Array("--".utf8), key])
    }

    public func delete(_ key: String) throws { try delete(Array(key.utf8)) }

    /// `etcdctl snapshot save`: a bbolt file plus the 32-byte sha256 trailer.
    public func snapshotSave(to path: String) throws {
        try etcdctlChecked(raw: [Array("snapshot".utf8), Array("save".utf8), Array(path.utf8)])
    }

    /// `etcdctl lease grant TTL`; returns the lease ID (etcdctl prints it in hex).
    public func leaseGrant(ttl: Int) throws -> Int64 {
        let out = String(decoding: try etcdctlChecked(raw: [Array("lease".utf8), Array("grant".utf8), Array(String(ttl).utf8)]),
                         as: UTF8.self)
        // "lease 694d7f968772d35d granted with TTL(3600s)"
        let words = out.split(separator: " ")
        guard words.count >= 2, words[0] == "lease", let id = UInt64(words[1], radix: 16) else {
            throw Failure("unexpected `lease grant` output: \(out)")
        }
        return Int64(bitPattern: id)
    }

    // MARK: Plumbing

    /// `count` distinct free TCP ports on 127.0.0.1: each found by binding port 0
    /// (all held open together so they differ), read back, then closed. Another
    /// process could take one before etcd binds it; `init` retries once.
    public static func freePorts(_ count: Int) throws -> [UInt16] {
        var fds: [Int32] = []
        defer { fds.forEach { _ = close($0) } }
        var ports: [UInt16] = []
        for _ in 0..<count {
            #if canImport(Darwin)
            let fd = socket(AF_INET, SOCK_STREAM, 0)
            #else
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #endif
            guard fd >= 0 else { throw Failure("socket(): errno \(errno)") }
            fds.append(fd)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = 0
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
                }
            }
            guard bound else { throw Failure("bind(127.0.0.1:0): errno \(errno)") }
            ports.append(UInt16(bigEndian: address.sin_port))
        }
        return ports
    }

    /// A minimal HTTP/1.0 GET on 127.0.0.1 (for `/health`); nil on any error.
    static func httpGet(port: UInt16, path: String) -> String? {
        #if canImport(Darwin)
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #else
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #endif
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { return nil }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { return nil }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while response.count < 65536 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        return String(decoding: response, as: UTF8.self)
    }

    /// posix_spawn with raw-byte argv, stdin from a file (or /dev/null), stdout and
    /// stderr to files (the same file for both is allowed). Not Foundation.Process:
    /// we reap the child ourselves with waitpid.
    static func spawn(_ argv: [[UInt8]], stdin: String?, stdout: String, stderr: String,
                      environment extra: [String] = []) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if stderr == stdout {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { bytes in
            let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            for (i, byte) in bytes.enumerated() { pointer[i] = CChar(bitPattern: byte) }
            pointer[bytes.count] = 0
            return pointer
        } + [nil]
        let names = Set(extra.map { $0.split(separator: "=", maxSplits: 1)[0] })
        let environment = ProcessInfo.processInfo.environment
            .filter { !names.contains(Substring($0.key)) }
            .map { "\($0.key)=\($0.value)" } + extra
        let cEnv: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            cArgs.forEach { $0?.deallocate() }
            cEnv.forEach { free($0) }
        }
        // The test process may block or ignore signals; the child must get SIGTERM
        // as a daemon expects it, or stopping it waits for the SIGKILL fallback.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), terminating = sigset_t()
        sigemptyset(&noSignals)
        sigemptyset(&terminating)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&terminating, signal) }
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &terminating)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, cArgs[0]!, &actions, &attributes, cArgs, cEnv)
        guard rc == 0 else {
            throw Failure("posix_spawn \(String(decoding: argv[0], as: UTF8.self)): errno \(rc)")
        }
        return pid
    }

    /// waitpid with a bound; true once reaped (or already gone).
    static func reap(_ pid: pid_t, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        repeat {
            let rc = waitpid(pid, &status, WNOHANG)
            if rc == pid || (rc < 0 && errno == ECHILD) { return true }
            usleep(20_000)
        } while Date() < deadline
        return false
    }

    /// Servers still running, killed at process exit if a test leaked one.
    final class Registry: @unchecked Sendable {
        private let lock = NSLock()
        private var pids: Set<pid_t> = []
        private var hooked = false

        func add(_ pid: pid_t) {
            lock.lock(); defer { lock.unlock() }
            pids.insert(pid)
            if !hooked {
                hooked = true
                atexit { EtcdServer.registry.killAll() }
            }
        }

        func remove(_ pid: pid_t) {
            lock.lock(); defer { lock.unlock() }
            pids.remove(pid)
        }

        func killAll() {
            lock.lock(); let all = pids; pids = []; lock.unlock()
            for pid in all {
                kill(pid, SIGKILL)
                _ = EtcdServer.reap(pid, timeout: 5)
            }
        }
    }

    static let registry = Registry()
}
