extension EncryptionConfiguration {
    /// Whether any rule names `group`/`resource` (exactly, or through `*.<group>` / `*.*`).
    /// A resource no rule names is read and written by the apiserver's bare identity
    /// transformer, whatever the providers of other rules.
    public func covers(group: String, resource: String) -> Bool {
        ResourceMatcher.lookup(rules.map { ($0.resources, $0.providers) }, group: group, resource: resource) != nil
    }
}
