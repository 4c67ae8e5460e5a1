import Foundation

/// `ValidateEncryptionConfiguration` (k8s.io/apiserver `pkg/apis/apiserver/validation/validation_encryption.go`),
/// the checks config.go does while building transformers (feature gates, masking), and atrest's warnings, each
/// as the release in `rules` has it.
struct ConfigurationValidator {
    var automaticReload: Bool
    var rules: KubernetesRules

    /// Key sizes: `aesKeySizes` and `secretBoxKeySizes` in validation_encryption.go.
    static let aesKeySizes = [16, 24, 32]
    static let secretboxKeySizes = [32]
    /// Written without a transformer (`nonRESTAPIResourceErr`; spec §4.3).
    static let nonRESTResources: Set<String> = ["apiserveripinfo", "serviceipallocations", "servicenodeportallocations"]

    private var findings: [ConfigurationFinding] = []

    init(automaticReload: Bool, rules: KubernetesRules = .newest) {
        self.automaticReload = automaticReload
        self.rules = rules
    }

    private mutating func add(_ message: ConfigurationFinding.Message, _ path: String, _ line: Int?) {
        findings.append(ConfigurationFinding(message, at: path, line: line))
    }

    // MARK: Upstream errors, in upstream order

    mutating func validate(_ document: RawDocument) -> [ConfigurationFinding] {
        findings = []
        let root = "resources"
        if document.rules.isEmpty {
            add(.atLeastOneRequired(root), root, document.line)
            return findings
        }
        var kmsNames = Set<String>()
        for (i, rule) in document.rules.enumerated() {
            let r = "\(root)[\(i)].resources", p = "\(root)[\(i)].providers"
            if rule.resources.isEmpty { add(.atLeastOneRequired(r), r, rule.resourcesLine ?? rule.line) }
            if rules.validatesResourceNames {
                validateOverlap(rule, r)
                validateNames(rule, r)
            } else {
                validateResourcesBefore127(rule, r)
            }
            if rule.providers.isEmpty { add(.atLeastOneRequired(p), p, rule.providersLine ?? rule.line) }
            for (j, provider) in rule.providers.enumerated() {
                let path = "\(p)[\(j)]"
                validateSingle(provider, path)
                // The upstream switch checks kms, aesgcm, aescbc, secretbox in this order and validates only the first set.
                if let kms = provider.kms {
                    validateKMS(kms, "\(path).kms", names: kmsNames)
                    kmsNames.insert(kms.name)
                } else if let list = provider.aesgcm {
                    validateKeys(list, "\(path).aesgcm.keys", sizes: Self.aesKeySizes)
                } else if let list = provider.aescbc {
                    validateKeys(list, "\(path).aescbc.keys", sizes: Self.aesKeySizes)
                } else if let list = provider.secretbox {
                    validateKeys(list, "\(path).secretbox.keys", sizes: Self.secretboxKeySizes)
                }
            }
        }
        validateTransformers(document)
        return findings
    }

    /// Before 1.27 neither resource lists nor names are validated, and lookups are exact. A wildcard then matches
    /// nothing: an error here, because the rule silently encrypts nothing (the apiserver has no message for it).
    /// What 1.27 refuses is reported as a warning, so that the file can be fixed before the upgrade. (An overlap
    /// needs a wildcard, which is already an error.)
    private mutating func validateResourcesBefore127(_ rule: RawRule, _ path: String) {
        let refusedFrom = KubernetesVersion(1, 27)
        if Self.overlap(rule).duplicate {
            add(.refusedFromLaterRelease(.duplicateResource(rule.resources.map(\.value)), from: refusedFrom, rules: rules), path, rule.resourcesLine)
        }
        for (j, located) in rule.resources.enumerated() {
            let parsed = ResourceMatcher.parse(located.value)
            if parsed.group == "*" || parsed.resource == "*" {
                add(.wildcardBeforeKubernetes127(located.value, rules: rules), "\(path)[\(j)]", located.line)
            } else if let problem = Self.nameProblem(located.value) {
                add(.refusedFromLaterRelease(problem, from: refusedFrom, rules: rules), "\(path)[\(j)]", located.line)
            }
        }
    }

    /// `validateResourceOverlap`: one duplicate error and one overlap error at most per list, as upstream.
    private mutating func validateOverlap(_ rule: RawRule, _ path: String) {
        let (hasDuplicate, hasOverlap) = Self.overlap(rule)
        let list = rule.resources.map(\.value)
        if hasDuplicate { add(.duplicateResource(list), path, rule.resourcesLine) }
        if hasOverlap { add(.overlappingResources(list), path, rule.resourcesLine) }
    }

    private static func overlap(_ rule: RawRule) -> (duplicate: Bool, overlap: Bool) {
        guard rule.resources.count >= 2 else { return (false, false) }
        let parsed = rule.resources.map { ResourceMatcher.parse($0.value) }
        var hasOverlap = false, hasDuplicate = false
        for (i, r1) in parsed.enumerated() {
            for (j, r2) in parsed.enumerated() where i != j {
                if r1 == r2 && !hasDuplicate {
                    hasDuplicate = true
                    continue
                }
                if hasOverlap { continue }
                if r1.group == "*" && r1.resource == "*" {
                    hasOverlap = true
                    continue
                }
                if r1.group != r2.group { continue }
                if r1.resource == "*" || r2.resource == "*" { hasOverlap = true }
            }
        }
        return (hasDuplicate, hasOverlap)
    }

    /// `validateResourceNames`: the first failing check per string.
    private mutating func validateNames(_ rule: RawRule, _ path: String) {
        for (j, located) in rule.resources.enumerated() {
            if let problem = Self.nameProblem(located.value) { add(problem, "\(path)[\(j)]", located.line) }
        }
    }

    private static func nameProblem(_ resource: String) -> ConfigurationFinding.Message? {
        let parsed = ResourceMatcher.parse(resource)
        if resource.lowercased() != resource { return .resourceHasCapitals(resource) }
        if resource == "*" { return .starResource() }
        if nonRESTResources.contains(resource) { return .nonRESTResource(resource) }
        if parsed.group == "events.k8s.io" { return .eventsGroup(resource) }
        if parsed.group == "extensions" { return .extensionsGroup(resource) }
        if parsed.group == "*" && parsed.resource != "*" { return .resourceAcrossGroups(resource) }
        return nil
    }

    /// `validateSingleProvider`.
    private mutating func validateSingle(_ provider: RawProvider, _ path: String) {
        if provider.setCount == 0 {
            add(.noProvider(Self.render(provider)), path, provider.line)
        } else if provider.setCount > 1 {
            add(.moreThanOneProvider(Self.render(provider)), path, provider.line)
        }
    }

    /// Go's JSON of the internal `ProviderConfiguration` (field names without json tags), with every set
    /// key-holding provider shown as `"REDACTED"`: upstream would print the secrets.
    static func render(_ provider: RawProvider) -> String {
        func keys(_ list: RawKeyList?) -> String { list == nil ? "null" : #""REDACTED""# }
        let kms: String
        if let k = provider.kms { kms = #"{"Name":\#(GoFormat.jsonString(k.name))}"# } else { kms = "null" }
        return #"{"AESGCM":\#(keys(provider.aesgcm)),"AESCBC":\#(keys(provider.aescbc)),"Secretbox":\#(keys(provider.secretbox)),"Identity":\#(provider.identity == nil ? "null" : "{}"),"KMS":\#(kms)}"#
    }

    /// `validateKeys` / `validateKey`.
    private mutating func validateKeys(_ list: RawKeyList, _ path: String, sizes: [Int]) {
        if list.keys.isEmpty {
            add(.atLeastOneRequired("keys"), path, list.line)
            return
        }
        for (k, key) in list.keys.enumerated() {
            let at = "\(path)[\(k)]"
            if key.name.isEmpty { add(.mandatoryField("name", of: "key"), "\(at).name", key.nameLine ?? key.line) }
            if key.secret.isEmpty {
                add(.mandatoryField("secret", of: "key"), "\(at).secret", key.secretLine ?? key.line)
                continue
            }
            guard let length = Base64Secret.decodedLength(key.secret) else {
                add(.secretNotBase64(), "\(at).secret", key.secretLine)
                continue
            }
            if !sizes.contains(length) { add(.secretLength(got: length, expected: sizes), "\(at).secret", key.secretLine) }
        }
    }

    /// `validateKMSConfiguration`, after `SetDefaults_KMSConfiguration` (apiVersion "v1", cachesize 1000 for v1, timeout 3s).
    private mutating func validateKMS(_ kms: RawKMS, _ path: String, names: Set<String>) {
        let apiVersion = (kms.apiVersion ?? "").isEmpty ? "v1" : kms.apiVersion ?? "v1"
        // Before 1.27 the cache size is defaulted for every KMS provider, v2 included.
        let cacheSize = kms.cacheSize ?? (apiVersion == "v1" || !rules.cacheSizeIsV1Only ? KMSConfiguration.defaultCacheSize : nil)
        let timeout = kms.timeout ?? 3_000_000_000
        // validateKMSConfigName
        if kms.name.isEmpty { add(.mandatoryField("name", of: "provider"), "\(path).name", kms.nameLine ?? kms.line) }
        if apiVersion != "v1" && kms.name.contains(":") { add(.kmsNameContainsColon(kms.name), "\(path).name", kms.nameLine) }
        if (automaticReload || apiVersion != "v1") && names.contains(kms.name) {
            add(.duplicateKMSName(kms.name), "\(path).name", kms.nameLine ?? kms.line)
        }
        // validateKMSTimeout
        if timeout <= 0 { add(.nonPositiveTimeout(GoDuration.format(timeout)), "\(path).timeout", kms.timeoutLine) }
        // validateKMSEndpoint
        if kms.endpoint.isEmpty {
            add(.endpointRequired(), "\(path).endpoint", kms.endpointLine ?? kms.line)
        } else {
            switch GoURL.scheme(of: kms.endpoint) {
            case .failure(let error): add(.invalidEndpoint(kms.endpoint, error: error.message), "\(path).endpoint", kms.endpointLine)
            case .success(let scheme) where scheme != "unix":
                add(.unsupportedScheme(kms.endpoint, scheme: scheme), "\(path).endpoint", kms.endpointLine)
            case .success: break
            }
        }
        // validateKMSCacheSize
        if rules.cacheSizeIsV1Only {
            if apiVersion != "v1", let size = cacheSize { add(.cacheSizeNotSupported(size), "\(path).cachesize", kms.cacheSizeLine) }
            if apiVersion == "v1" && cacheSize == 0 { add(.zeroCacheSize(), "\(path).cachesize", kms.cacheSizeLine) }
        } else if cacheSize == 0 {
            add(.zeroCacheSize(), "\(path).cachesize", kms.cacheSizeLine)
        }
        // validateKMSAPIVersion
        if apiVersion != "v1" && apiVersion != "v2" {
            add(.unsupportedKMSAPIVersion(apiVersion), "\(path).apiVersion", kms.apiVersionLine)
        }
    }

    /// config.go `getTransformerOverridesAndKMSPluginProbes`, rule by rule: the providers' transformers (refused
    /// when their feature gate is off, `kmsPrefixTransformer`), then, from 1.27, masking: a resource after an
    /// earlier rule's `*.<group>` or `*.*` is refused. Upstream stops at the first error; atrest reports each.
    /// A wildcard in the same list is already reported as an overlap by validation, so only earlier rules count.
    /// Transformers are built only from a file that passed validation, so gate errors come only then.
    private mutating func validateTransformers(_ document: RawDocument) {
        var seen: [String: Int] = [:]  // "group/resource" -> rule index that configured it
        func key(_ group: String, _ resource: String) -> String { "\(group)/\(resource)" }
        let validated = !findings.contains { $0.severity == .error }
        for (i, rule) in document.rules.enumerated() {
            for (j, provider) in rule.providers.enumerated() where validated {
                guard let kms = provider.kms else { continue }
                let apiVersion = (kms.apiVersion ?? "").isEmpty ? "v1" : kms.apiVersion ?? "v1"
                let path = "resources[\(i)].providers[\(j)].kms"
                if apiVersion == "v1" && !rules.isEnabled(.kmsV1) {
                    add(.kmsV1Disabled(), kms.apiVersionLine == nil ? path : "\(path).apiVersion", kms.apiVersionLine ?? kms.line)
                } else if apiVersion == "v2" && !rules.isEnabled(.kmsV2) {
                    add(.kmsV2Disabled(kms.name), "\(path).apiVersion", kms.apiVersionLine ?? kms.line)
                }
            }
            guard rules.validatesResourceNames else { continue }
            for (j, located) in rule.resources.enumerated() {
                let gr = ResourceMatcher.parse(located.value)
                let name = ResourceMatcher.yamlString(group: gr.group, resource: gr.resource)
                if let owner = seen[key(gr.group, "*")], owner != i {
                    add(.masked(name, by: ResourceMatcher.yamlString(group: gr.group, resource: "*")), "resources[\(i)].resources[\(j)]", located.line)
                } else if let owner = seen[key("*", "*")], owner != i {
                    add(.masked(name, by: "*.*"), "resources[\(i)].resources[\(j)]", located.line)
                }
                if seen[key(gr.group, gr.resource)] == nil { seen[key(gr.group, gr.resource)] = i }
            }
        }
    }

    // MARK: atrest's warnings

    mutating func warnings(_ document: RawDocument, fileMode: UInt32?) -> [ConfigurationFinding] {
        findings = []
        var holdsKeys = false
        for (i, rule) in document.rules.enumerated() {
            let p = "resources[\(i)].providers"
            if let first = rule.providers.first, first.setCount == 1, first.identity != nil,
               let encrypting = rule.providers.first(where: { $0.setCount == 1 && $0.identity == nil }) {
                add(.identityFirst(encrypting: Self.typeName(encrypting)), "\(p)[0].identity", first.identity?.line ?? first.line)
            }
            for (j, provider) in rule.providers.enumerated() {
                let path = "\(p)[\(j)]"
                if let list = provider.aescbc { add(.aescbcNotRecommended(), "\(path).aescbc", list.line) }
                for (name, list) in [("aesgcm", provider.aesgcm), ("aescbc", provider.aescbc), ("secretbox", provider.secretbox)] {
                    guard let list else { continue }
                    holdsKeys = holdsKeys || !list.keys.isEmpty
                    var firstIndex: [String: Int] = [:]
                    for (k, key) in list.keys.enumerated() where !key.name.isEmpty {
                        if let earlier = firstIndex[key.name] {
                            add(.duplicateKeyName(key.name, first: earlier), "\(path).\(name).keys[\(k)].name", key.nameLine ?? key.line)
                        } else {
                            firstIndex[key.name] = k
                        }
                    }
                }
                // When the gate is off the provider is an error (validateTransformers), not a warning.
                if let kms = provider.kms, (kms.apiVersion ?? "").isEmpty || kms.apiVersion == "v1", rules.isEnabled(.kmsV1) {
                    add(.kmsV1Deprecated(rules), kms.apiVersionLine == nil ? "\(path).kms" : "\(path).kms.apiVersion", kms.apiVersionLine ?? kms.line)
                }
            }
        }
        let lists = document.rules.map { ($0.resources.map(\.value), $0.providers) }
        if let providers = ResourceMatcher.lookup(lists, group: "", resource: "secrets", wildcards: rules.wildcards) {
            if let first = providers.first, first.identity != nil, first.setCount == 1 {
                add(.secretsNotEncrypted("the first provider of the rules matching them is identity"), "resources", document.line)
            }
        } else {
            add(.secretsNotEncrypted("no rule names secrets, *. or *.*, so the apiserver stores them in plaintext"), "resources", document.line)
        }
        if holdsKeys, let mode = fileMode, mode & 0o077 != 0 {
            add(.fileReadableByOthers(mode: mode), "", nil)
        }
        return findings
    }

    static func typeName(_ provider: RawProvider) -> String {
        if provider.kms != nil { return "kms" }
        if provider.aesgcm != nil { return "aesgcm" }
        if provider.aescbc != nil { return "aescbc" }
        if provider.secretbox != nil { return "secretbox" }
        return "identity"
    }
}

/// Go's `encoding/base64.StdEncoding` (padded, strict alphabet; `\r` and `\n` are ignored as Go does).
enum Base64Secret {
    private static func value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }

    /// The decoded bytes, or `nil` if Go's `StdEncoding.DecodeString` would fail.
    static func decode(_ text: String) -> [UInt8]? {
        let input = text.utf8.filter { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }
        guard input.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let chunk = input[index..<index + 4]
            let isLast = index + 4 == input.count
            var values: [UInt8] = []
            var padding = 0
            for (offset, byte) in chunk.enumerated() {
                if byte == UInt8(ascii: "=") {
                    // Padding only at the end of the last quantum, after at least two characters.
                    guard isLast, offset >= 2 else { return nil }
                    padding += 1
                } else {
                    guard padding == 0, let v = value(byte) else { return nil }
                    values.append(v)
                }
            }
            let bits = values.reduce(UInt32(0)) { $0 << 6 | UInt32($1) } << (6 * UInt32(padding))
            let bytes = [UInt8(truncatingIfNeeded: bits >> 16), UInt8(truncatingIfNeeded: bits >> 8), UInt8(truncatingIfNeeded: bits)]
            // Go (strict or not) rejects non-zero trailing bits only in Strict mode; StdEncoding accepts them.
            out.append(contentsOf: bytes.prefix(3 - padding))
            index += 4
        }
        return out
    }

    static func decodedLength(_ text: String) -> Int? {
        guard var bytes = decode(text) else { return nil }
        let count = bytes.count
        for i in bytes.indices { bytes[i] = 0 }
        return count
    }
}

/// The part of Go's `url.Parse` that decides the scheme (`net/url` `getScheme`), plus its control-character check.
enum GoURL {
    struct ParseError: Error { var message: String }

    static func scheme(of raw: String) -> Result<String, ParseError> {
        if raw.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            return .failure(ParseError(message: "parse \(GoFormat.quote(raw)): net/url: invalid control character in URL"))
        }
        for (i, c) in raw.utf8.enumerated() {
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
                continue
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."):
                if i == 0 { return .success("") }
            case UInt8(ascii: ":"):
                if i == 0 { return .failure(ParseError(message: "parse \(GoFormat.quote(raw)): missing protocol scheme")) }
                return .success(String(decoding: raw.utf8.prefix(i), as: UTF8.self).lowercased())
            default:
                return .success("")
            }
        }
        return .success("")
    }
}
