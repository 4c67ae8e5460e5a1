import Foundation

/// A progress bar on standard error, shown only when it is a terminal, so
/// redirected runs and CI logs stay clean.
final class ProgressBar {
    private let label: String
    private let enabled: Bool
    private var lastDraw = Date.distantPast
    private var drawn = false

    init(label: String) {
        self.label = label
        enabled = isatty(2) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    func update(done: UInt64, total: UInt64?) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        var line = "\r\(label) "
        if let total, total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let width = 30
            let filled = Int(fraction * Double(width))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "] "
            line += "\(Int(fraction * 100))% "
        }
        line += "\(done >> 20) MiB"
        Output.standardError(Data(line.utf8))
        drawn = true
    }

    func finish() {
        guard drawn else { return }
        Output.standardError(Data("\r\u{1B}[K".utf8))
        drawn = false
    }
}
