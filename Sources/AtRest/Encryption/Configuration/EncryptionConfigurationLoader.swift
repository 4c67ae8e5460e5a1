import AtRestDump
import Foundation
import Yams

/// Why a file could not be checked at all: unreadable, too large, not YAML/JSON, or not an
/// EncryptionConfiguration. One line, `FILE:LINE: message`, never containing a secret.
public struct ConfigurationLoadError: Error, Sendable, CustomStringConvertible {
    /// The file, as given, so the message can be pasted into an editor.
    public var sourcePath: String
    /// 1-based line, when the problem has one.
    public var line: Int?
    /// 0-based byte offset, for problems below the level of YAML (size, encoding).
    public var byteOffset: Int?
    /// What went wrong, without file or line.
    public var message: String

    /// Used by the loader; public so that callers can wrap their own read failures the same way.
    public init(sourcePath: String, line: Int? = nil, byteOffset: Int? = nil, message: String) {
        self.sourcePath = sourcePath
        self.line = line
        self.byteOffset = byteOffset
        self.message = message
    }

    /// `FILE:LINE: message` (`FILE: message` without a line), one line, compiler style. With a byte offset,
    /// the form of input errors: `FILE: line L (byte N): message`, or `FILE: byte N: message`.
    public var description: String {
        switch (line, byteOffset) {
        case (let line?, let byte?): return "\(sourcePath): line \(line) (byte \(byte)): \(message)"
        case (nil, let byte?): return "\(sourcePath): byte \(byte): \(message)"
        case (let line?, nil): return "\(sourcePath):\(line): \(message)"
        case (nil, nil): return "\(sourcePath): \(message)"
        }
    }
}

/// The outcome of checking one file: every finding, and the configuration when it has no errors.
public struct ConfigurationCheck: Sendable {
    /// The file checked, for messages.
    public var sourcePath: String
    /// Errors first in file order, then warnings in file order.
    public var findings: [ConfigurationFinding]
    /// The release (and gates) whose rules the file was checked against.
    public var rules: KubernetesRules
    /// Built only when there is no error, so that nothing downstream ever runs with a configuration
    /// the apiserver would refuse.
    public var configuration: EncryptionConfiguration?

    /// Whether the apiserver would refuse the file (or, under releases before 1.27, silently ignore a wildcard).
    public var hasErrors: Bool { findings.contains { $0.severity == .error } }
}

/// Reads an EncryptionConfiguration the way the apiserver does (`loadConfig` in k8s.io/apiserver
/// `pkg/server/options/encryptionconfig/config.go`): either kind, YAML or JSON, strictly, then validated.
///
/// Why not Yams' `Codable` decoding: it ignores unknown keys, and a misspelt field (`secrte:`) silently
/// dropped is precisely a configuration the apiserver refuses. Hostile input is bounded: files over
/// `maximumFileSize` are refused unread past the limit, bytes that are not UTF-8 are refused at their offset
/// before parsing, parsing runs on a thread with a large stack (libyaml caps nesting at 1000 levels, which Yams
/// composes recursively), and walking aliases is capped at `StrictDecoder.maximumNodes` nodes.
public enum EncryptionConfigurationLoader {
    /// Real configurations are a few KiB; anything larger is refused before parsing.
    public static let maximumFileSize = 1 << 20

    /// libyaml's nesting limit (`MAX_NESTING_LEVEL` in `parser.c`), which bounds Yams' recursion.
    public static let maximumNesting = 1000

    /// The kinds the apiserver registers (`addKnownTypes` in `pkg/apis/apiserver/v1/register.go`):
    /// `apiserver.config.k8s.io/v1` `EncryptionConfiguration`, and `v1` `EncryptionConfig` "due to a docs bug".
    public static let acceptedKinds: [(apiVersion: String, kind: String)] = [
        ("apiserver.config.k8s.io/v1", "EncryptionConfiguration"),
        ("v1", "EncryptionConfig"),
    ]

    /// Reads, decodes and validates the file at `path`; the file's permission bits feed the
    /// "readable by others" warning. `automaticReload` mirrors `--encryption-provider-config-automatic-reload`,
    /// under which KMS v1 names must be unique too; `rules` is the release (and feature gates) to check against.
    public static func check(contentsOf path: String, automaticReload: Bool = false,
                             rules: KubernetesRules = .newest) throws(ConfigurationLoadError) -> ConfigurationCheck {
        let fail = { (message: String) in ConfigurationLoadError(sourcePath: path, message: message) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw fail("error reading encryption provider configuration file: no such file")
        }
        if isDirectory.boolValue { throw fail("error reading encryption provider configuration file: is a directory") }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let mode = (attributes?[.posixPermissions] as? NSNumber)?.uint32Value
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw fail("error reading encryption provider configuration file: permission denied or unreadable")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maximumFileSize + 1) ?? Data()
        } catch {
            throw fail("error reading encryption provider configuration file: \(error.localizedDescription)")
        }
        return try check(bytes: [UInt8](data), sourcePath: path, fileMode: mode, automaticReload: automaticReload, rules: rules)
    }

    /// Decodes and validates `bytes`; `sourcePath` only names the file in messages, `fileMode` (permission
    /// bits) enables the "readable by others" warning.
    public static func check(bytes: [UInt8], sourcePath: String, fileMode: UInt32? = nil, automaticReload: Bool = false,
                             rules: KubernetesRules = .newest) throws(ConfigurationLoadError) -> ConfigurationCheck {
        let fail = { (line: Int?, message: String) in ConfigurationLoadError(sourcePath: sourcePath, line: line, message: message) }
        if bytes.count > maximumFileSize {
            throw ConfigurationLoadError(sourcePath: sourcePath, byteOffset: maximumFileSize,
                                         message: "larger than \(maximumFileSize >> 20) MiB; not an encryption configuration (real ones are a few KiB)")
        }
        // The apiserver's own words (`loadDataAndHash`).
        if bytes.isEmpty { throw fail(nil, "encryption provider configuration file \(GoFormat.quote(sourcePath)) is empty") }
        // Bytes that are not UTF-8: the apiserver's YAML reader refuses them too (yaml.v2 `readerc.go`), its JSON
        // reader would turn them into U+FFFD and silently rename a key. Either way the file is damaged: say where.
        if let (offset, _) = bytes.withUnsafeBytes({ UTF8Validation.firstProblem(in: $0) }) {
            let line = bytes[..<offset].reduce(1) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
            throw ConfigurationLoadError(sourcePath: sourcePath, line: line, byteOffset: offset, message: "not valid UTF-8")
        }
        let text = String(decoding: bytes, as: UTF8.self)

        let outcome = onLargeStack { () -> Result<(RawDocument, [ConfigurationFinding]), ConfigurationLoadError> in
            decode(text, sourcePath: sourcePath, rules: rules)
        }
        let (document, decodeFindings) = try outcome.get()
        var validator = ConfigurationValidator(automaticReload: automaticReload, rules: rules)
        // Like the apiserver, validate only what decoded: a decode error is the whole story for that file.
        // (Unknown fields before 1.31 are warnings: that apiserver ignores them and goes on.)
        let decodeErrors = decodeFindings.filter { $0.severity == .error }
        let errors = decodeErrors.isEmpty ? validator.validate(document) : decodeErrors
        let warnings = decodeFindings.filter { $0.severity == .warning } + validator.warnings(document, fileMode: fileMode)
        var result = ConfigurationCheck(sourcePath: sourcePath, findings: errors + warnings, rules: rules, configuration: nil)
        if errors.isEmpty { result.configuration = build(document, sourcePath: sourcePath) }
        return result
    }

    /// Parse and walk. Runs on the large-stack thread, so it returns only `Sendable` values.
    private static func decode(_ text: String, sourcePath: String, rules: KubernetesRules) -> Result<(RawDocument, [ConfigurationFinding]), ConfigurationLoadError> {
        let fail = { (line: Int?, message: String) in ConfigurationLoadError(sourcePath: sourcePath, line: line, message: message) }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                return .failure(fail(nil, "encryption provider configuration file \(GoFormat.quote(sourcePath)) is empty"))
            }
            root = node
        } catch let error as YamlError {
            let (line, message) = describe(error, text: text)
            return .failure(fail(line, message))
        } catch {
            return .failure(fail(nil, "cannot parse: \(error)"))
        }
        guard case .mapping(let mapping) = root else {
            return .failure(fail(root.mark?.line, "not a YAML or JSON object; expected an EncryptionConfiguration"))
        }
        // apiVersion and kind first: anything else is not this file type at all.
        var apiVersion: String?, kind: String?
        for (key, value) in mapping {
            if key.scalar?.string == "apiVersion" { apiVersion = value.scalar?.string }
            if key.scalar?.string == "kind" { kind = value.scalar?.string }
        }
        guard let kind, !kind.isEmpty else { return .failure(fail(root.mark?.line, "Object 'Kind' is missing; expected kind: EncryptionConfiguration")) }
        guard let apiVersion, !apiVersion.isEmpty else {
            return .failure(fail(root.mark?.line, "Object 'apiVersion' is missing; expected apiVersion: apiserver.config.k8s.io/v1"))
        }
        guard acceptedKinds.contains(where: { $0.apiVersion == apiVersion && $0.kind == kind }) else {
            return .failure(fail(root.mark?.line, "apiVersion \(GoFormat.quote(apiVersion)) kind \(GoFormat.quote(kind)) is not an encryption configuration the apiserver accepts: use apiVersion apiserver.config.k8s.io/v1 with kind EncryptionConfiguration (or the legacy apiVersion v1 with kind EncryptionConfig)"))
        }
        let decoder = StrictDecoder(rules: rules)
        do throws(StrictDecoder.TooLarge) {
            let document = try decoder.document(root)
            return .success((document, decoder.findings))
        } catch {
            switch error {
            case .nodes:
                return .failure(fail(nil, "more than \(StrictDecoder.maximumNodes) YAML nodes after expanding aliases; refusing to read further"))
            case .expandedBytes:
                return .failure(fail(nil, "more than \(StrictDecoder.maximumExpandedBytes >> 20) MiB of YAML text after expanding aliases; refusing to read further"))
            }
        }
    }

    /// A one-line message from Yams' multi-line `YamlError` description, with its line.
    private static func describe(_ error: YamlError, text: String) -> (Int?, String) {
        switch error {
        case .parser(_, let problem, let mark, _) where problem.hasPrefix("Maximum nesting level reached"):
            return (mark.line, "invalid YAML: nested deeper than \(maximumNesting) levels")
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let prefix = context.map { "\($0.text) at line \($0.mark.line), " } ?? ""
            return (mark.line, "invalid YAML: \(prefix)\(problem)")
        case .reader(let problem, let offset, _, _):
            let line = offset.map { off in text.utf8.prefix(off).reduce(1) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) } }
            return (line, "invalid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams refuses these while composing, before atrest sees the mapping; strict decoding refuses them too.
            return (context.mark.line, "strict decoding error: duplicate field " + duplicates.sorted().map(GoFormat.quote).joined(separator: ", "))
        default:
            return (nil, "invalid YAML: \(error)")
        }
    }

    /// libyaml allows 1000 nesting levels and Yams composes them recursively; a 64 MiB stack makes that safe
    /// whatever thread (test runner, cooperative pool) calls the loader.
    private static func onLargeStack<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            box.value = body()
            done.signal()
        }
        thread.stackSize = 64 << 20
        thread.start()
        done.wait()
        guard let value = box.value else { return body() }
        return value
    }

    /// The model from a document that passed validation (so every lookup below succeeds).
    private static func build(_ document: RawDocument, sourcePath: String) -> EncryptionConfiguration {
        func keys(_ list: RawKeyList) -> [NamedKey] {
            list.keys.map { key in
                var bytes = Base64Secret.decode(key.secret) ?? []
                defer { for i in bytes.indices { bytes[i] = 0 } }
                return NamedKey(name: key.name, secret: SecretBytes(bytes))
            }
        }
        let rules = document.rules.map { rule in
            ResourceRule(resources: rule.resources.map(\.value), providers: rule.providers.compactMap { provider -> ProviderConfiguration? in
                if let kms = provider.kms {
                    let version = KMSConfiguration.APIVersion(rawValue: (kms.apiVersion ?? "").isEmpty ? "v1" : kms.apiVersion ?? "v1") ?? .v1
                    let timeout = kms.timeout ?? 3_000_000_000
                    return .kms(KMSConfiguration(apiVersion: version, name: kms.name, endpoint: kms.endpoint, cacheSize: kms.cacheSize,
                                                 timeout: .nanoseconds(timeout)))
                }
                if let list = provider.aesgcm { return .aesgcm(keys(list)) }
                if let list = provider.aescbc { return .aescbc(keys(list)) }
                if let list = provider.secretbox { return .secretbox(keys(list)) }
                if provider.identity != nil { return .identity }
                return nil
            })
        }
        return EncryptionConfiguration(rules: rules, sourcePath: sourcePath)
    }
}

extension EncryptionConfiguration {
    /// Loads a configuration the apiserver would accept, or throws: a load error as is, a configuration with
    /// errors as its first error (`FILE:LINE: path: message`, plus how many more), under the rules of `rules`.
    /// Warnings are not errors here.
    public init(contentsOf path: String, automaticReload: Bool = false, rules: KubernetesRules = .newest) throws(ConfigurationLoadError) {
        let check = try EncryptionConfigurationLoader.check(contentsOf: path, automaticReload: automaticReload, rules: rules)
        guard let configuration = check.configuration else {
            let errors = check.findings.filter { $0.severity == .error }
            let first = errors.first
            let more = errors.count > 1 ? " (and \(errors.count - 1) more errors)" : ""
            throw ConfigurationLoadError(sourcePath: path, line: first?.line, message: "invalid encryption configuration (rules of \(rules)): \(first?.description ?? "")\(more)")
        }
        self = configuration
    }
}

/// Carries a result from the parsing thread back to the caller, which waits on a semaphore before reading it.
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}
