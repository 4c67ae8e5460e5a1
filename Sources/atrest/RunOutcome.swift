import ArgumentParser

/// What a command's run came to, and the one place that maps it to an exit status.
/// Errors are not outcomes: they exit with 2 (`docs/errors.md`).
enum RunOutcome: Equatable {
    /// Exit status 0.
    case clean
    /// Exit status 1: findings the operator asked to fail on, an unsafe plan or host
    /// comparison, keys `inspect` did not find.
    case findings
    /// Exit status 3: no key under the etcd prefix, so nothing was audited.
    case nothingAudited
    /// Exit status 4: the input was read only in part (`--salvage`, a partial index).
    case partialInput

    /// The precedence of a run that audits: nothing audited, then findings, then partial input.
    init(nothingAudited: Bool, findings: Bool, partial: Bool) {
        self = nothingAudited ? .nothingAudited : findings ? .findings : partial ? .partialInput : .clean
    }

    var exitStatus: Int32 {
        switch self {
        case .clean: 0
        case .findings: 1
        case .nothingAudited: 3
        case .partialInput: 4
        }
    }

    /// Ends the command with the outcome's exit status (returns for `.clean`).
    func finish() throws {
        guard self != .clean else { return }
        throw ExitCode(exitStatus)
    }
}
