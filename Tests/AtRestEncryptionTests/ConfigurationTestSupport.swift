import AtRestEncryption
import AtRestTestSupport

/// Loads `testdata/configs/<name>` from its bytes, without the file's mode: git does not keep permission
/// bits, so the "readable by others" warning would depend on the checkout's umask.
func checkConfig(_ name: String, automaticReload: Bool = false, rules: KubernetesRules = .newest) throws -> ConfigurationCheck {
    try EncryptionConfigurationLoader.check(bytes: Fixtures.bytes("configs/" + name), sourcePath: name, automaticReload: automaticReload, rules: rules)
}

/// The errors of a fixture, as `path: message` strings.
func configErrors(_ name: String, rules: KubernetesRules = .newest) throws -> [String] {
    try checkConfig(name, rules: rules).findings.filter { $0.severity == .error }.map(\.description)
}

/// The warnings of a fixture, as `path: message` strings.
func configWarnings(_ name: String, rules: KubernetesRules = .newest) throws -> [String] {
    try checkConfig(name, rules: rules).findings.filter { $0.severity == .warning }.map(\.description)
}

/// The rules of Kubernetes `1.minor`, with `gates` set.
func kubernetes(_ minor: Int, _ gates: [FeatureGate: Bool] = [:]) throws -> KubernetesRules {
    try KubernetesRules(version: KubernetesVersion(1, minor), featureGates: FeatureGates(gates))
}
