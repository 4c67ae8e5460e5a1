/// One problem found in an EncryptionConfiguration: an error the apiserver would refuse the file for,
/// or a warning about a configuration it accepts but that does not protect what it seems to.
///
/// Why the shape: `fieldPath` and `message` together print exactly as the apiserver's
/// `field.Error.Error()` (k8s.io/apimachinery `pkg/util/validation/field/errors.go`):
/// `resources[0].providers[1].aesgcm.keys[0].secret: Invalid value: "REDACTED": secret is not of the expected length, got 8, expected one of [16 24 32]`,
/// so a user can search for the upstream text; `line` adds the YAML line the apiserver does not give.
/// Messages never contain a key's secret, not even a wrong one.
public struct ConfigurationFinding: Sendable, Hashable, CustomStringConvertible {
    /// Errors make the apiserver refuse the file; warnings are atrest's own advice.
    public enum Severity: String, Sendable, Hashable, Codable {
        case error, warning
    }

    /// A finding's text and severity, built by the typed constructors in the extensions below
    /// (swift-format's `Finding.Message` pattern), so that each rule's wording lives in one place.
    public struct Message: Sendable, Hashable {
        public var severity: Severity
        /// The text after the field path: `<type>: <value>: <detail>` for upstream field errors.
        public var text: String

        /// A message of atrest's own; prefer the typed constructors.
        public init(_ text: String, severity: Severity) {
            self.text = text
            self.severity = severity
        }
    }

    /// Whether the apiserver refuses the file because of it.
    public var severity: Severity
    /// `resources[1].providers[0].aesgcm.keys[0].secret`, as the apiserver names fields; empty for the whole file.
    public var fieldPath: String
    /// The text after the path (`Invalid value: "REDACTED": …`), upstream's wording for upstream rules.
    public var message: String
    /// 1-based line in the file, when known.
    public var line: Int?

    /// A finding from its parts, for callers that produce findings of their own.
    public init(severity: Severity, fieldPath: String, message: String, line: Int?) {
        self.severity = severity
        self.fieldPath = fieldPath
        self.message = message
        self.line = line
    }

    /// A finding from one of the typed messages below, the way the validator builds them.
    public init(_ message: Message, at fieldPath: String, line: Int?) {
        self.init(severity: message.severity, fieldPath: fieldPath, message: message.text, line: line)
    }

    /// `<fieldPath>: <message>`, the apiserver's format (just the message for file-level findings).
    public var description: String { fieldPath.isEmpty ? message : "\(fieldPath): \(message)" }
}

// MARK: - Upstream validation errors
// Texts from k8s.io/apiserver `pkg/apis/apiserver/validation/validation_encryption.go` (constants at the top of
// the file), wrapped as `field.Required` ("Required value: …") or `field.Invalid` ("Invalid value: <value>: …").

extension ConfigurationFinding.Message {
    static func required(_ detail: String) -> Self { Self("Required value: \(detail)", severity: .error) }
    static func invalid(_ renderedValue: String, _ detail: String) -> Self {
        Self("Invalid value: \(renderedValue): \(detail)", severity: .error)
    }

    /// `atLeastOneRequiredErrFmt` ("at least one %s is required"); `what` is the field path, or `keys`.
    public static func atLeastOneRequired(_ what: String) -> Self { required("at least one \(what) is required") }

    /// `mandatoryFieldErrFmt` as `field.Required`: key `name`/`secret` ("key"), kms `name` ("provider").
    public static func mandatoryField(_ field: String, of owner: String) -> Self {
        required("\(field) is a mandatory field for a \(owner)")
    }

    /// A provider element that sets none of the providers. Upstream prints the whole Go struct as the value;
    /// atrest prints which providers are set (none) in the same JSON shape.
    public static func noProvider(_ renderedProvider: String) -> Self {
        invalid(renderedProvider, "provider does not contain any of the expected providers: KMS, AESGCM, AESCBC, Secretbox, Identity")
    }

    /// `moreThanOneElementErr`. Upstream would print the provider struct, secrets included; atrest prints `"REDACTED"` for them.
    public static func moreThanOneProvider(_ renderedProvider: String) -> Self {
        invalid(renderedProvider, "more than one provider specified in a single element, should split into different list elements")
    }

    /// `base64EncodingErr`; the value is always `"REDACTED"`, as upstream.
    public static func secretNotBase64() -> Self { invalid(#""REDACTED""#, "secrets must be base64 encoded") }

    /// `keyLenErrFmt`, with Go's `%v` of an `[]int` (`[16 24 32]`).
    public static func secretLength(got: Int, expected: [Int]) -> Self {
        invalid(#""REDACTED""#, "secret is not of the expected length, got \(got), expected one of [\(expected.map(String.init).joined(separator: " "))]")
    }

    /// `invalidKMSConfigNameErrFmt` (v2 names become part of a `:`-separated prefix).
    public static func kmsNameContainsColon(_ name: String) -> Self {
        invalid(GoFormat.quote(name), "invalid KMS provider name \(name), must not contain ':'")
    }

    /// `duplicateKMSConfigNameErrFmt`.
    public static func duplicateKMSName(_ name: String) -> Self {
        invalid(GoFormat.quote(name), "duplicate KMS provider name \(name), names must be unique")
    }

    /// `zeroOrNegativeErrFmt` for `timeout`; `rendered` is the Go duration string (`"0s"`).
    public static func nonPositiveTimeout(_ rendered: String) -> Self {
        invalid(GoFormat.quote(rendered), "timeout should be a positive value")
    }

    /// `nonZeroErrFmt` for a v1 `cachesize` of 0.
    public static func zeroCacheSize() -> Self { invalid("0", "cachesize should be a positive value, or negative to disable") }

    /// A `cachesize` on a non-v1 provider.
    public static func cacheSizeNotSupported(_ value: Int32) -> Self { invalid(String(value), "cachesize is not supported in v2") }

    /// `mandatoryFieldErrFmt` for `endpoint`, which upstream reports as `field.Invalid` with value `""`.
    public static func endpointRequired() -> Self { invalid(#""""#, "endpoint is a mandatory field for a kms") }

    /// `invalidURLErrFmt`: Go's `url.Parse` failed.
    public static func invalidEndpoint(_ endpoint: String, error: String) -> Self {
        invalid(GoFormat.quote(endpoint), "invalid endpoint for kms provider, error: \(error)")
    }

    /// `unsupportedSchemeErrFmt`.
    public static func unsupportedScheme(_ endpoint: String, scheme: String) -> Self {
        invalid(GoFormat.quote(endpoint), "unsupported scheme \(GoFormat.quote(scheme)) for KMS provider, only unix is supported")
    }

    /// `unsupportedKMSAPIVersionErrFmt`. Upstream formats it with the literal string "apiVersion" rather than
    /// the value, so the detail reads "unsupported apiVersion apiVersion …"; kept verbatim so it can be searched for.
    public static func unsupportedKMSAPIVersion(_ value: String) -> Self {
        invalid(GoFormat.quote(value), "unsupported apiVersion apiVersion for KMS provider, only v1 and v2 are supported")
    }

    /// `resourceNameErr`.
    public static func resourceHasCapitals(_ resource: String) -> Self {
        invalid(GoFormat.quote(resource), "resource name should not contain capital letters")
    }

    /// `starResourceErr`: a bare `*`.
    public static func starResource() -> Self {
        invalid(#""*""#, "use '*.' to encrypt all the resources from core API group or *.* to encrypt all resources")
    }

    /// `nonRESTAPIResourceErr`: `apiserveripinfo`, `serviceipallocations`, `servicenodeportallocations`
    /// are written without any transformer, so a rule for them could never take effect.
    public static func nonRESTResource(_ resource: String) -> Self {
        invalid(GoFormat.quote(resource), "resources which do not have REST API/s cannot be encrypted")
    }

    /// `eventsGroupErr`.
    public static func eventsGroup(_ resource: String) -> Self {
        invalid(GoFormat.quote(resource), "'*.events.k8s.io' objects are stored using the 'events' API group in etcd. Use 'events' instead in the config file")
    }

    /// `extensionsGroupErr`.
    public static func extensionsGroup(_ resource: String) -> Self {
        invalid(GoFormat.quote(resource), "'extensions' group has been removed and cannot be used for encryption")
    }

    /// `resourceAcrossGroupErr`: `<resource>.*`.
    public static func resourceAcrossGroups(_ resource: String) -> Self {
        invalid(GoFormat.quote(resource), "encrypting the same resource across groups is not supported")
    }

    /// `duplicateResourceErr`, with the whole list as the value (Go's JSON of a `[]string`).
    public static func duplicateResource(_ list: [String]) -> Self {
        invalid(GoFormat.jsonArray(list), "the same resource cannot be specified multiple times")
    }

    /// `overlapErr`, with the whole list as the value.
    public static func overlappingResources(_ list: [String]) -> Self {
        invalid(GoFormat.jsonArray(list), "using overlapping resources such as 'secrets' and '*.' in the same resource list is not allowed as they will be masked")
    }

    /// The load-time error of config.go `getTransformerOverridesAndKMSPluginProbes` (not a field error upstream):
    /// a resource after an earlier `*.<group>` or `*.*` rule would never be used.
    public static func masked(_ resource: String, by rule: String) -> Self {
        Self("resource \(GoFormat.quote(resource)) is masked by earlier rule \(GoFormat.quote(rule))", severity: .error)
    }
}

// MARK: - Strict decoding errors
// The apiserver decodes with `serializer.EnableStrict` (config.go `init`), so these make it refuse the file.

extension ConfigurationFinding.Message {
    /// A field the schema does not have; the text the apiserver's strict decoder gives (config_test.go).
    public static func unknownField(_ path: String) -> Self {
        Self("strict decoding error: unknown field \(GoFormat.quote(path))", severity: .error)
    }

    /// A field given twice in one mapping.
    public static func duplicateField(_ path: String) -> Self {
        Self("strict decoding error: duplicate field \(GoFormat.quote(path))", severity: .error)
    }

    /// A value of the wrong YAML type (a list where a mapping belongs, a number for a name...).
    public static func wrongType(found: String, expected: String) -> Self {
        Self("cannot unmarshal \(found) into a field of type \(expected)", severity: .error)
    }

    /// A value of the right type the decoder still cannot read (an unparsable duration, an out-of-range integer).
    public static func undecodable(_ detail: String) -> Self { Self(detail, severity: .error) }
}

// MARK: - atrest's warnings (accepted by the apiserver)

extension ConfigurationFinding.Message {
    /// The first provider writes; identity first means new and updated objects are stored in plaintext
    /// even though the rule lists a key. Legitimate only while enabling or rolling back encryption.
    public static func identityFirst(encrypting: String) -> Self {
        Self("identity is the first provider, so writes are stored in plaintext although this rule also lists \(encrypting); put the encrypting provider first to encrypt",
             severity: .warning)
    }

    /// aescbc: the Kubernetes documentation ("Encrypting Confidential Data at Rest") does not recommend it
    /// because CBC is vulnerable to padding oracle attacks.
    public static func aescbcNotRecommended() -> Self {
        Self("aescbc is not recommended: CBC is vulnerable to padding oracle attacks; prefer kms apiVersion v2, or secretbox/aesgcm",
             severity: .warning)
    }

    /// Two keys of one provider with the same name get the same stored prefix: a read tries each of them in
    /// order and the first that decrypts wins (for aescbc a wrong key can even pass the padding check).
    public static func duplicateKeyName(_ name: String, first index: Int) -> Self {
        Self("duplicate key name \(GoFormat.quote(name)) (also keys[\(index)]): values name their key, so reads try both keys in order and the first that decrypts wins; give each key its own name",
             severity: .warning)
    }

    /// KMS v1 where the release accepts it: from 1.28 with the line config.go logs when it builds the provider
    /// (`kmsPrefixTransformer`); before 1.28, a warning of what the upgrade brings.
    public static func kmsV1Deprecated(_ rules: KubernetesRules) -> Self {
        if rules.kmsV1Deprecated {
            return Self("KMSv1 is deprecated and will only receive security updates going forward. Use KMSv2 instead. (logged by the apiserver; from Kubernetes 1.29 KMS v1 is off unless --feature-gates=KMSv1=true)",
                        severity: .warning)
        }
        return Self("KMS v1 is deprecated from Kubernetes 1.28 and off by default from 1.29 (feature gate KMSv1), when the apiserver refuses it; migrate to apiVersion v2 before upgrading",
                    severity: .warning)
    }

    /// No rule's first provider encrypts `secrets`, the one resource everyone expects to be encrypted.
    public static func secretsNotEncrypted(_ how: String) -> Self {
        Self("secrets are not encrypted: \(how)", severity: .warning)
    }

    /// The file holds keys; anyone who can read it can decrypt etcd.
    public static func fileReadableByOthers(mode: UInt32) -> Self {
        Self("the file holds encryption keys and is accessible to group or others (mode \(String(mode & 0o777, radix: 8))); restrict it to its owner (chmod 600)",
             severity: .warning)
    }
}

// MARK: - Rules that depend on the release (`KubernetesRules`)

extension ConfigurationFinding.Message {
    /// config.go `kmsPrefixTransformer` (1.28 on) when the `KMSv1` gate is off, verbatim (double space included).
    public static func kmsV1Disabled() -> Self {
        Self("KMSv1 is deprecated and will only receive security updates going forward. Use KMSv2 instead.  Set --feature-gates=KMSv1=true to use the deprecated KMSv1 feature.",
             severity: .error)
    }

    /// config.go `kmsPrefixTransformer` (up to 1.31) when the `KMSv2` gate is off (its default in 1.26).
    public static func kmsV2Disabled(_ name: String) -> Self {
        Self("could not configure KMSv2 plugin \(GoFormat.quote(name)), KMSv2 feature is not enabled", severity: .error)
    }

    /// Before 1.27 a rule is looked up by its exact group and resource (`StaticTransformers` /
    /// `resourceTransformer` in config.go), so `*.*` names a resource `*` in a group `*` and matches nothing.
    /// That apiserver accepts the file and stores the data in plaintext; the message is atrest's.
    public static func wildcardBeforeKubernetes127(_ resource: String, rules: KubernetesRules) -> Self {
        invalid(GoFormat.quote(resource), "wildcards match resources from Kubernetes 1.27 on; \(rules.version) looks rules up by exact resource name, so \(GoFormat.quote(resource)) matches nothing and this rule encrypts nothing")
    }

    /// An error of a later release under the rules of an earlier one that accepts the file: a warning that
    /// keeps upstream's text, so that it can be fixed before the upgrade.
    public static func refusedFromLaterRelease(_ message: Self, from version: KubernetesVersion, rules: KubernetesRules,
                                               accepted: String = "accepts it") -> Self {
        Self("\(message.text) (an error from Kubernetes \(version) on; \(rules.version) \(accepted))", severity: .warning)
    }
}

/// Go's formatting of values in field errors: `%q` for strings, `encoding/json` for slices.
enum GoFormat {
    /// `strconv.Quote`-like: printable characters as they are, the rest escaped as Go escapes what
    /// `unicode.IsPrint` refuses (`\x1b`, `\u009b`, `\u202e`), so no control or bidirectional override
    /// from the file reaches a terminal. Past `maximumQuoted` characters the text is cut, and the cut says
    /// how long the value was: a finding names a value, it need not reprint a megabyte.
    static func quote(_ string: String) -> String {
        var out = "\""
        var shown = 0
        for scalar in string.unicodeScalars {
            if shown == maximumQuoted {
                return out + "\"...(\(string.utf8.count) bytes)"
            }
            shown += 1
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
                } else if scalar.value >= 0x80 && scalar.value < 0xa0 || !isPrintable(scalar) {
                    let hex = String(scalar.value, radix: 16)
                    out += scalar.value > 0xffff ? "\\U" + String(repeating: "0", count: 8 - hex.count) + hex
                        : "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// The most characters of one value a finding quotes.
    static let maximumQuoted = 256

    /// Printable as Go's `unicode.IsPrint` sees it, for what a terminal would act on: format characters
    /// (bidirectional overrides and isolates, zero-width joiners), line and paragraph separators,
    /// controls, surrogates, private use and unassigned code points are not.
    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned: return false
        default: return true
        }
    }

    /// `json.Marshal` of a `[]string` (Go escapes `<`, `>`, `&` as `\u003c` etc.).
    static func jsonArray(_ strings: [String]) -> String {
        let shown = strings.prefix(maximumListed).map(jsonString).joined(separator: ",")
        return "[" + shown + (strings.count > maximumListed ? ",...(\(strings.count - maximumListed) more)" : "") + "]"
    }

    /// The most elements of one list a finding quotes.
    static let maximumListed = 32

    /// `json.Marshal` of a string, cut as `quote` cuts; C1 controls and the characters `isPrintable`
    /// refuses are escaped too (JSON allows them raw; a terminal would act on them).
    static func jsonString(_ string: String) -> String {
        var out = "\""
        var shown = 0
        for scalar in string.unicodeScalars {
            if shown == maximumQuoted {
                return out + "\"...(\(string.utf8.count) bytes)"
            }
            shown += 1
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default:
                if scalar.value < 0x20 {
                    out += "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
                } else if scalar.value == 0x7f || !isPrintable(scalar) {
                    let hex = String(scalar.value, radix: 16)
                    out += scalar.value > 0xffff ? String(scalar.utf16.map { "\\u" + String($0, radix: 16) }.joined())
                        : "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
