import AtRestAudit
import AtRestEncryption
import Testing

@Suite struct ResourceResolverTests {
    let resolver = ResourceResolver()

    private func object(_ key: String) -> ResourceKey? {
        if case .object(let resolved)? = resolver.resolve(Array(key.utf8)) { return resolved }
        return nil
    }

    @Test func namespacedCoreResource() {
        let key = object("/registry/secrets/default/s1")
        #expect(key?.groupResource == GroupResource(group: "", resource: "secrets"))
        #expect(key?.namespace == "default")
        #expect(key?.name == "s1")
    }

    @Test func specialPrefixesMapToTheirResources() {
        #expect(object("/registry/services/specs/default/kubernetes")?.groupResource.description == "services")
        #expect(object("/registry/services/endpoints/default/kubernetes")?.groupResource.description == "endpoints")
        #expect(object("/registry/minions/node-1")?.groupResource.description == "nodes")
        #expect(object("/registry/controllers/default/rc")?.groupResource.description == "replicationcontrollers")
        #expect(object("/registry/ingress/default/web")?.groupResource.description == "ingresses.networking.k8s.io")
    }

    @Test func openShiftPrefixResolvesOpenShiftsOwnResources() {
        let openshift = ResourceResolver(etcdPrefix: "openshift.io")
        func resolved(_ key: String) -> ResourceKey? {
            if case .object(let resolved)? = openshift.resolve(Array(key.utf8)) { return resolved }
            return nil
        }
        let route = resolved("/openshift.io/routes/default/web")
        #expect(route?.groupResource.description == "routes.route.openshift.io")
        #expect(route?.namespace == "default")
        #expect(route?.name == "web")
        let token = resolved("/openshift.io/oauth/accesstokens/sha256~abc")
        #expect(token?.groupResource.description == "oauthaccesstokens.oauth.openshift.io")
        #expect(token?.scope == .cluster)
        #expect(resolved("/openshift.io/oauth/authorizetokens/sha256~def")?.groupResource.description == "oauthauthorizetokens.oauth.openshift.io")
        #expect(resolved("/openshift.io/useridentities/htpasswd:alice")?.groupResource.description == "identities.user.openshift.io")
        #expect(resolved("/openshift.io/deploymentconfigs/ns/dc")?.groupResource.description == "deploymentconfigs.apps.openshift.io")
        #expect(resolved("/openshift.io/images/sha256:0123")?.groupResource.description == "images.image.openshift.io")
        // Kubernetes' own layout does not apply under /openshift.io, nor OpenShift's under /kubernetes.io.
        #expect(resolved("/openshift.io/secrets/default/s") == nil)
        #expect(ResourceResolver(etcdPrefix: "/kubernetes.io").resolve(Array("/kubernetes.io/routes/default/web".utf8)) == .unrecognized)
        #expect(ResourceResolver(etcdPrefix: "/kubernetes.io").resolve(Array("/kubernetes.io/secrets/default/s".utf8)).flatMap {
            if case .object(let key) = $0 { return key.groupResource.description } else { return nil } } == "secrets")
    }

    @Test func builtinGroupIsNotInThePath() {
        #expect(object("/registry/deployments/default/web")?.groupResource.description == "deployments.apps")
    }

    @Test func clusterScopedHasNoNamespace() {
        let key = object("/registry/namespaces/default")
        #expect(key?.scope == .cluster)
        #expect(key?.namespace == nil)
        #expect(key?.name == "default")
    }

    @Test func customResourcesUseGroupAndPlural() {
        let namespaced = object("/registry/example.com/widgets/default/w1")
        #expect(namespaced?.groupResource == GroupResource(group: "example.com", resource: "widgets"))
        #expect(namespaced?.namespace == "default")
        #expect(object("/registry/example.com/clusterwidgets/w1")?.scope == .cluster)
        #expect(object("/registry/apiextensions.k8s.io/customresourcedefinitions/widgets.example.com")?.groupResource.description
                == "customresourcedefinitions.apiextensions.k8s.io")
        #expect(object("/registry/apiregistration.k8s.io/apiservices/v1.apps")?.groupResource.description == "apiservices.apiregistration.k8s.io")
    }

    @Test func leaseAndRangeKeysAreExempt() {
        for key in ["/registry/masterleases/10.0.0.1", "/registry/peerserverleases/abc", "/registry/ranges/serviceips",
                    "/registry/ranges/servicenodeports"] {
            guard case .exempt? = resolver.resolve(Array(key.utf8)) else {
                Issue.record("\(key) should be exempt")
                continue
            }
        }
    }

    @Test func keysOutsideThePrefixAreNotResolved() {
        #expect(resolver.resolve(Array("compact_rev_key".utf8)) == nil)
        #expect(resolver.resolve(Array("/registryx/secrets/a/b".utf8)) == nil)
        #expect(resolver.resolve(Array("/other/app".utf8)) == nil)
    }

    @Test func unknownLayoutUnderPrefixIsUnrecognized() {
        #expect(resolver.resolve(Array("/registry/health".utf8)) == .unrecognized)
        #expect(resolver.resolve(Array("/registry/secrets/only-one-segment".utf8)) == .unrecognized)
    }

    @Test func customPrefixIsHonoured() {
        let openshift = ResourceResolver(etcdPrefix: "/kubernetes.io/")
        guard case .object(let key)? = openshift.resolve(Array("/kubernetes.io/secrets/ns/s".utf8)) else {
            Issue.record("not resolved under /kubernetes.io")
            return
        }
        #expect(key.groupResource.resource == "secrets")
        #expect(openshift.resolve(Array("/registry/secrets/ns/s".utf8)) == nil)
    }
}
