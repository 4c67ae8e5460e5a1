import AtRestEncryption

/// The built-in resources' etcd key prefixes.
///
/// Source: `test/integration/etcd/data.go` in kubernetes/kubernetes (the
/// authoritative "full raw string" table), with the special prefixes of
/// `pkg/kubeapiserver/default_storage_factory_builder.go`
/// (`SpecialDefaultResourcePrefixes`): `services/specs`, `services/endpoints`,
/// `minions`, `controllers`, `ingress`. Every other built-in stores under
/// `strings.ToLower(resource)` without its group (`pkg/server/storage/storage_factory.go`).
enum BuiltinResources {
    struct Entry {
        let prefix: String
        let groupResource: GroupResource
        let scope: ResourceScope
    }

    /// A namespaced resource's entry (also used by `OpenShiftResources`).
    static func n(_ prefix: String, _ resource: String, _ group: String = "") -> Entry {
        Entry(prefix: prefix, groupResource: GroupResource(group: group, resource: resource), scope: .namespaced)
    }

    /// A cluster-scoped resource's entry (also used by `OpenShiftResources`).
    static func c(_ prefix: String, _ resource: String, _ group: String = "") -> Entry {
        Entry(prefix: prefix, groupResource: GroupResource(group: group, resource: resource), scope: .cluster)
    }

    static let entries: [Entry] = [
        n("configmaps", "configmaps"), n("services/specs", "services"), n("services/endpoints", "endpoints"),
        n("podtemplates", "podtemplates"), n("pods", "pods"), n("resourcequotas", "resourcequotas"),
        n("limitranges", "limitranges"), c("namespaces", "namespaces"), c("minions", "nodes"),
        c("persistentvolumes", "persistentvolumes"), n("events", "events"),
        n("persistentvolumeclaims", "persistentvolumeclaims"), n("serviceaccounts", "serviceaccounts"),
        n("secrets", "secrets"), n("controllers", "replicationcontrollers"),
        n("daemonsets", "daemonsets", "apps"), n("deployments", "deployments", "apps"),
        n("statefulsets", "statefulsets", "apps"), n("replicasets", "replicasets", "apps"),
        n("controllerrevisions", "controllerrevisions", "apps"),
        n("horizontalpodautoscalers", "horizontalpodautoscalers", "autoscaling"),
        n("jobs", "jobs", "batch"), n("cronjobs", "cronjobs", "batch"),
        c("certificatesigningrequests", "certificatesigningrequests", "certificates.k8s.io"),
        c("clustertrustbundles", "clustertrustbundles", "certificates.k8s.io"),
        n("podcertificaterequests", "podcertificaterequests", "certificates.k8s.io"),
        n("leases", "leases", "coordination.k8s.io"), n("leasecandidates", "leasecandidates", "coordination.k8s.io"),
        n("endpointslices", "endpointslices", "discovery.k8s.io"),
        n("ingress", "ingresses", "networking.k8s.io"), c("ingressclasses", "ingressclasses", "networking.k8s.io"),
        n("networkpolicies", "networkpolicies", "networking.k8s.io"),
        c("ipaddresses", "ipaddresses", "networking.k8s.io"), c("servicecidrs", "servicecidrs", "networking.k8s.io"),
        n("poddisruptionbudgets", "poddisruptionbudgets", "policy"),
        c("podsecuritypolicy", "podsecuritypolicies", "policy"),
        c("storageversionmigrations", "storageversionmigrations", "storagemigration.k8s.io"),
        c("flowschemas", "flowschemas", "flowcontrol.apiserver.k8s.io"),
        c("prioritylevelconfigurations", "prioritylevelconfigurations", "flowcontrol.apiserver.k8s.io"),
        c("volumeattachments", "volumeattachments", "storage.k8s.io"),
        c("volumeattributesclasses", "volumeattributesclasses", "storage.k8s.io"),
        c("storageclasses", "storageclasses", "storage.k8s.io"),
        n("csistoragecapacities", "csistoragecapacities", "storage.k8s.io"),
        c("csinodes", "csinodes", "storage.k8s.io"), c("csidrivers", "csidrivers", "storage.k8s.io"),
        n("roles", "roles", "rbac.authorization.k8s.io"), c("clusterroles", "clusterroles", "rbac.authorization.k8s.io"),
        n("rolebindings", "rolebindings", "rbac.authorization.k8s.io"),
        c("clusterrolebindings", "clusterrolebindings", "rbac.authorization.k8s.io"),
        c("validatingwebhookconfigurations", "validatingwebhookconfigurations", "admissionregistration.k8s.io"),
        c("mutatingwebhookconfigurations", "mutatingwebhookconfigurations", "admissionregistration.k8s.io"),
        c("validatingadmissionpolicies", "validatingadmissionpolicies", "admissionregistration.k8s.io"),
        c("validatingadmissionpolicybindings", "validatingadmissionpolicybindings", "admissionregistration.k8s.io"),
        c("mutatingadmissionpolicies", "mutatingadmissionpolicies", "admissionregistration.k8s.io"),
        c("mutatingadmissionpolicybindings", "mutatingadmissionpolicybindings", "admissionregistration.k8s.io"),
        c("priorityclasses", "priorityclasses", "scheduling.k8s.io"),
        n("workloads", "workloads", "scheduling.k8s.io"), n("podgroups", "podgroups", "scheduling.k8s.io"),
        c("runtimeclasses", "runtimeclasses", "node.k8s.io"),
        c("deviceclasses", "deviceclasses", "resource.k8s.io"), n("resourceclaims", "resourceclaims", "resource.k8s.io"),
        n("resourceclaimtemplates", "resourceclaimtemplates", "resource.k8s.io"),
        c("resourceslices", "resourceslices", "resource.k8s.io"),
        c("devicetaintrules", "devicetaintrules", "resource.k8s.io"),
        c("resourcepoolstatusrequests", "resourcepoolstatusrequests", "resource.k8s.io"),
        n("podschedulingcontexts", "podschedulingcontexts", "resource.k8s.io"),
        c("storageversions", "storageversions", "internal.apiserver.k8s.io"),
        c("apiregistration.k8s.io/apiservices", "apiservices", "apiregistration.k8s.io"),
        c("apiextensions.k8s.io/customresourcedefinitions", "customresourcedefinitions", "apiextensions.k8s.io"),
    ]

    /// Keys written with no transformer at all (k8s `pkg/controlplane/apiserver/config.go`
    /// builds their storage from the raw storage factory; validation forbids naming
    /// their resources in an EncryptionConfiguration).
    static let exempt: [Entry] = [
        c("masterleases", "apiserveripinfo"),
        c("peerserverleases", "apiserverpeeripinfo"),
        c("ranges/serviceips", "serviceipallocations"),
        c("ranges/secondaryserviceips", "serviceipallocations"),
        c("ranges/servicenodeports", "servicenodeportallocations"),
    ]
}
