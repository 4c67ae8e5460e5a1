import AtRestDump

extension ConfigurationLoadError: ReportableError {
    public var identifier: String { "config.error" }
}

extension DecryptionFailure: ReportableError {
    public var identifier: String { "decrypt." + code }
}

extension KubernetesRulesError: ReportableError {
    public var identifier: String { "usage" }
}
