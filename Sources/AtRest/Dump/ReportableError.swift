/// An error atrest reports to its user as one line.
///
/// `description` is the line (`FILE: byte N: message`, never a secret);
/// `identifier` is stable across releases (`dump.truncated`,
/// `index.storage`, ...), so scripts and tests can match on it rather than on
/// wording. Every such error exits with status 2 (docs/verdicts.md).
public protocol ReportableError: Error, CustomStringConvertible {
    var identifier: String { get }
}

extension DumpError: ReportableError {
    public var identifier: String { "dump." + code.rawValue }
}

extension ProtobufError: ReportableError {
    public var identifier: String { "dump.malformed-protobuf" }
}
