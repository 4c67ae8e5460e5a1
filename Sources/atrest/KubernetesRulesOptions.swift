import ArgumentParser
import AtRestEncryption

/// `--kube-version` and `--feature-gates`: which apiserver's rules a configuration is checked against.
struct KubernetesRulesOptions: ParsableArguments {
    @Option(name: .customLong("kube-version"),
            help: ArgumentHelp("Check the configuration as the apiserver of this Kubernetes release does (\(KubernetesVersion.oldestSupported) to \(KubernetesVersion.newest); default \(KubernetesVersion.newest)).",
                               valueName: "major.minor"))
    var kubeVersion: String?

    @Option(name: .customLong("feature-gates"),
            help: ArgumentHelp("The apiserver's --feature-gates that change the rules, e.g. KMSv1=true (comma-separated Name=bool pairs).",
                               valueName: "gates"))
    var featureGates: [String] = []

    /// The rules, or a one-line usage error (status 2). Parsed in `run()` rather than `validate()` so that the
    /// message is atrest's one line, not ArgumentParser's usage block.
    func rules() throws(KubernetesRulesError) -> KubernetesRules {
        let version = try kubeVersion.map { (text: String) throws(KubernetesRulesError) in try KubernetesVersion(parsing: text) } ?? .newest
        return try KubernetesRules(version: version, featureGates: FeatureGates(parsing: featureGates))
    }
}
