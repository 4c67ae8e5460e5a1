import AtRestTestSupport
import Foundation
import Testing

/// A headless Chromium, to check what a reader of the HTML report sees: the DOM
/// after the page's script ran, not just the bytes atrest wrote.
///
/// Like `EtcdServer`: tests using it are skipped when Chromium is missing, except
/// with `CI=true`, where they run and fail. `CHROMIUM` names the binary explicitly.
enum HeadlessChromium {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static var path: String? {
        if let explicit = ProcessInfo.processInfo.environment["CHROMIUM"], !explicit.isEmpty {
            return FileManager.default.isExecutableFile(atPath: explicit) ? explicit : nil
        }
        let directories = ["/usr/bin", "/usr/local/bin"]
            + (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for directory in directories where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
                return "\(directory)/\(name)"
            }
        }
        return nil
    }

    static var isRequired: Bool { ProcessInfo.processInfo.environment["CI"]?.lowercased() == "true" }
    /// For `.enabled(if:)`: run when Chromium is installed, and always in CI, so a CI
    /// machine without it fails these tests instead of skipping them.
    static var shouldRun: Bool { path != nil || isRequired }

    /// How long one page load may take before the browser is killed.
    static let timeout: TimeInterval = 60

    /// The DOM of `url` after its scripts ran (`--dump-dom`), from a throwaway profile.
    static func dumpDOM(_ url: URL) throws -> String {
        guard let path else {
            throw Failure(description: "chromium is not installed; CI=true requires it: apt-get install chromium")
        }
        let profile = try Fixtures.temporaryDirectory("chromium-profile")
        defer { try? FileManager.default.removeItem(at: profile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--disable-extensions", "--disable-background-networking", "--user-data-dir=\(profile.path)",
            "--virtual-time-budget=2000", "--dump-dom", url.absoluteString,
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = profile.path
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        // Read on another thread so a large DOM cannot fill the pipe and stall the browser.
        let collected = Collected()
        let reader = Thread {
            collected.set(out.fileHandleForReading.readDataToEndOfFile())
        }
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        reader.start()
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            if exited.wait(timeout: .now() + 5) == .timedOut { kill(process.processIdentifier, SIGKILL); exited.wait() }
            throw Failure(description: "chromium did not finish within \(Int(timeout)) s; killed")
        }
        let data = collected.wait()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "chromium exited \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Data handed from the reading thread, once.
    final class Collected: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private var data = Data()
        func set(_ value: Data) { data = value; done.signal() }
        func wait() -> Data { done.wait(); return data }
    }
}

/// The HTML report as a browser renders it: numbers, script, filter and sort.
@Suite(.serialized) struct HTMLReportBrowserTests {
    /// Writes the HTML report and the JSON reference of one audit; returns the page's URL.
    static func report() throws -> (URL, ReportFixture.Reference, ReportFixture.Workspace) {
        let workspace = try ReportFixture.Workspace(label: "report-browser")
        let html = try workspace.audit("html")
        #expect(html.status == 1, "stderr: \(html.stderr)")
        let page = workspace.directory.appendingPathComponent("report.html")
        try Data(html.stdout.utf8).write(to: page)
        let reference = try ReportFixture.Reference(try workspace.audit("json").stdout)
        return (page, reference, workspace)
    }

    static func url(_ page: URL, fragment: String) -> URL {
        URL(string: page.absoluteString + "#" + fragment)!
    }

    /// The by-resource table's rows in DOM order: (resource, hidden).
    static func resourceRows(_ dom: String) -> [(resource: String, hidden: Bool)] {
        ReportFixture.tags(dom).compactMap { tag in
            guard tag.name == "tr", let resource = tag.attributes["data-resource"] else { return nil }
            return (resource, tag.attributes["hidden"] != nil)
        }
    }

    @Test(.enabled(if: HeadlessChromium.shouldRun, "chromium is not installed (set CI=true to make this a failure)"),
          .timeLimit(.minutes(3)))
    func renderedNumbersAgreeWithJSON() throws {
        let (page, reference, workspace) = try Self.report()
        defer { workspace.remove() }
        let dom = try HeadlessChromium.dumpDOM(page)
        let tags = ReportFixture.tags(dom)
        let body = try #require(tags.first { $0.name == "body" })
        #expect(body.attributes["data-ready"] == "1", "the page's script did not run to the end")
        let totals = ReportFixture.totals(tags)
        #expect(totals.audited == reference.audited)
        #expect(totals.verdicts == reference.verdicts)
        #expect(ReportFixture.resourceCells(tags) == reference.resources)
        let identity = tags.first { $0.attributes["id"] == "readiness-identity" }
        #expect(identity?.attributes["data-entries"] == String(reference.identityRemoval))
        // The hostile key is text in the DOM, not an element.
        #expect(!tags.contains { $0.name == "script" && $0.attributes.isEmpty == false })
        #expect(tags.filter { $0.name == "script" }.count == 1)
        #expect(dom.contains("evil&lt;script&gt;alert(1)"))
    }

    @Test(.enabled(if: HeadlessChromium.shouldRun, "chromium is not installed (set CI=true to make this a failure)"),
          .timeLimit(.minutes(3)))
    func filterFromTheURLHidesRowsThatDoNotMatch() throws {
        let (page, reference, workspace) = try Self.report()
        defer { workspace.remove() }
        let rows = Self.resourceRows(try HeadlessChromium.dumpDOM(Self.url(page, fragment: "filter=secrets")))
        #expect(rows.count == reference.resources.count)
        #expect(rows.filter { !$0.hidden }.map(\.resource) == ["secrets"])
        // Without a filter, nothing is hidden.
        let all = Self.resourceRows(try HeadlessChromium.dumpDOM(page))
        #expect(all.allSatisfy { !$0.hidden })
    }

    @Test(.enabled(if: HeadlessChromium.shouldRun, "chromium is not installed (set CI=true to make this a failure)"),
          .timeLimit(.minutes(3)))
    func sortFromTheURLOrdersRowsByTheColumn() throws {
        let (page, reference, workspace) = try Self.report()
        defer { workspace.remove() }
        let rows = Self.resourceRows(try HeadlessChromium.dumpDOM(Self.url(page, fragment: "sort=undecryptable:desc")))
        let order = rows.map(\.resource)
        // Largest first; ties keep the previous (name) order: the sort is stable.
        let expected = reference.resources.keys.sorted().enumerated()
            .sorted { a, b in
                let x = reference.resources[a.element]?["undecryptable"] ?? 0, y = reference.resources[b.element]?["undecryptable"] ?? 0
                return x != y ? x > y : a.offset < b.offset
            }.map(\.element)
        #expect(order == expected)
        #expect(order.first == "secrets")
    }
}
