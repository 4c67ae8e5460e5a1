/// The etcd key prefixes of OpenShift's own API servers, which store under the
/// etcd prefix `/openshift.io` (the Kubernetes types of an OpenShift cluster are
/// under `/kubernetes.io`, in the layout of `BuiltinResources`).
///
/// Each server builds its storage with k8s' `DefaultStorageFactory`, so a resource
/// stores under `strings.ToLower(resource)` unless its special prefixes say
/// otherwise (`pkg/server/storage/storage_factory.go`, `ResourcePrefix`):
/// - openshift-apiserver: `pkg/cmd/openshift-apiserver/openshiftapiserver/restoptionsgetter.go`
///   (`specialDefaultResourcePrefixes`), and the etcd-backed registries under
///   `pkg/*/apiserver/registry/*/etcd` (deploymentconfigs, rolebindingrestrictions,
///   builds, buildconfigs, images, imagestreams, routes, templates, templateinstances,
///   brokertemplateinstances) and `pkg/security/apiserver/registry/rangeallocations`.
///   Security context constraints and cluster resource quotas are served from
///   custom resources of the Kubernetes API server, not stored here.
/// - oauth-apiserver: `pkg/cmd/oauth-apiserver` (`specialDefaultResourcePrefixes`:
///   `oauth/accesstokens`, `oauth/authorizetokens`, `oauth/clients`,
///   `oauth/clientauthorizations`, identities at `useridentities`), and the registries
///   of `pkg/oauth/apiserver/registry` and `pkg/user/apiserver/registry` (users, groups).
enum OpenShiftResources {
    private static func n(_ prefix: String, _ resource: String, _ group: String) -> BuiltinResources.Entry {
        BuiltinResources.n(prefix, resource, group)
    }

    private static func c(_ prefix: String, _ resource: String, _ group: String) -> BuiltinResources.Entry {
        BuiltinResources.c(prefix, resource, group)
    }

    /// The etcd prefix both servers run with (`--etcd-prefix=openshift.io`).
    static let etcdPrefix = "/openshift.io"

    static let entries: [BuiltinResources.Entry] = [
        // openshift-apiserver
        n("deploymentconfigs", "deploymentconfigs", "apps.openshift.io"),
        n("rolebindingrestrictions", "rolebindingrestrictions", "authorization.openshift.io"),
        n("builds", "builds", "build.openshift.io"), n("buildconfigs", "buildconfigs", "build.openshift.io"),
        c("images", "images", "image.openshift.io"), n("imagestreams", "imagestreams", "image.openshift.io"),
        n("routes", "routes", "route.openshift.io"),
        c("rangeallocations", "rangeallocations", "security.openshift.io"),
        n("templates", "templates", "template.openshift.io"),
        n("templateinstances", "templateinstances", "template.openshift.io"),
        c("brokertemplateinstances", "brokertemplateinstances", "template.openshift.io"),
        c("registry/sdnnetworks", "clusternetworks", "network.openshift.io"),
        n("registry/egressnetworkpolicy", "egressnetworkpolicies", "network.openshift.io"),
        c("registry/sdnsubnets", "hostsubnets", "network.openshift.io"),
        c("registry/sdnnetnamespaces", "netnamespaces", "network.openshift.io"),
        // oauth-apiserver
        c("oauth/accesstokens", "oauthaccesstokens", "oauth.openshift.io"),
        c("oauth/authorizetokens", "oauthauthorizetokens", "oauth.openshift.io"),
        c("oauth/clients", "oauthclients", "oauth.openshift.io"),
        c("oauth/clientauthorizations", "oauthclientauthorizations", "oauth.openshift.io"),
        c("users", "users", "user.openshift.io"), c("useridentities", "identities", "user.openshift.io"),
        c("groups", "groups", "user.openshift.io"),
    ]
}
