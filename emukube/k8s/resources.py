"""The resources the API server serves: one table, read by discovery, routing, Tables,
OpenAPI and the CLI. A kind missing here is not served (kubectl says "the server doesn't have a
resource type"), so nothing is stored that no controller would act on."""

from __future__ import annotations

from dataclasses import dataclass

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()  # "status", "scale"
    verbs: tuple[str, ...] = VERBS

    @property
    def key(self) -> str:
        """How kubectl names it and how the store keys it: "pods", "deployments.apps"."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def group_kind(self) -> str:
        """As the API server words errors: `Deployment.apps "x" is invalid`."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def definition(self) -> str:
        """Its OpenAPI definition name, e.g. io.k8s.api.apps.v1.Deployment."""
        if self.group == "apiextensions.k8s.io":
            return f"io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.{self.version}.{self.kind}"
        if self.group == "apiregistration.k8s.io":
            return f"io.k8s.kube-aggregator.pkg.apis.apiregistration.{self.version}.{self.kind}"
        package = self.group.split(".")[0] if self.group else "core"
        return f"io.k8s.api.{package}.{self.version}.{self.kind}"


_ALL = ("all",)
RBAC_GROUP = "rbac.authorization.k8s.io"
_ADMISSION = "admissionregistration.k8s.io"

RESOURCES: tuple[Resource, ...] = (
    Resource("", "v1", "Namespace", "namespaces", namespaced=False, short_names=("ns",), subresources=("status",),
             verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
    Resource("", "v1", "Pod", "pods", short_names=("po",), categories=_ALL,
             subresources=("status", "ephemeralcontainers")),
    Resource("", "v1", "ReplicationController", "replicationcontrollers", short_names=("rc",), categories=_ALL,
             subresources=("status", "scale")),
    Resource("", "v1", "Service", "services", short_names=("svc",), categories=_ALL, subresources=("status",),
             verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")),
    Resource("", "v1", "Endpoints", "endpoints", short_names=("ep",)),
    Resource("", "v1", "ConfigMap", "configmaps", short_names=("cm",)),
    Resource("", "v1", "Secret", "secrets"),
    Resource("", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",)),
    Resource("", "v1", "ResourceQuota", "resourcequotas", short_names=("quota",), subresources=("status",)),
    Resource("", "v1", "LimitRange", "limitranges", short_names=("limits",)),
    Resource("", "v1", "Event", "events", short_names=("ev",)),
    Resource("", "v1", "ComponentStatus", "componentstatuses", namespaced=False, short_names=("cs",),
             verbs=("get", "list")),
    Resource("", "v1", "Node", "nodes", namespaced=False, short_names=("no",), subresources=("status",)),
    Resource("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",),
             subresources=("status",)),
    Resource("", "v1", "PersistentVolume", "persistentvolumes", namespaced=False, short_names=("pv",),
             subresources=("status",)),
    Resource("", "v1", "PodTemplate", "podtemplates"),
    Resource("apps", "v1", "Deployment", "deployments", short_names=("deploy",), categories=_ALL,
             subresources=("status", "scale")),
    Resource("apps", "v1", "ReplicaSet", "replicasets", short_names=("rs",), categories=_ALL,
             subresources=("status", "scale")),
    Resource("apps", "v1", "StatefulSet", "statefulsets", short_names=("sts",), categories=_ALL,
             subresources=("status", "scale")),
    Resource("apps", "v1", "DaemonSet", "daemonsets", short_names=("ds",), categories=_ALL, subresources=("status",)),
    Resource("apps", "v1", "ControllerRevision", "controllerrevisions"),
    Resource("batch", "v1", "Job", "jobs", categories=_ALL, subresources=("status",)),
    Resource("batch", "v1", "CronJob", "cronjobs", short_names=("cj",), categories=_ALL, subresources=("status",)),
    Resource("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", short_names=("hpa",),
             categories=_ALL, subresources=("status",)),
    Resource("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short_names=("pdb",),
             subresources=("status",)),
    Resource("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    Resource("networking.k8s.io", "v1", "Ingress", "ingresses", short_names=("ing",), subresources=("status",)),
    Resource("networking.k8s.io", "v1", "IngressClass", "ingressclasses", namespaced=False),
    Resource("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short_names=("netpol",)),
    # The API server's own (apiserver/service_cidrs.py): the default ServiceCIDR and an IPAddress
    # for every ClusterIP; ClusterIPs come from the cluster's range whatever ServiceCIDRs say.
    Resource("networking.k8s.io", "v1", "ServiceCIDR", "servicecidrs", namespaced=False, subresources=("status",)),
    Resource("networking.k8s.io", "v1", "IPAddress", "ipaddresses", namespaced=False, short_names=("ip",)),
    Resource("storage.k8s.io", "v1", "StorageClass", "storageclasses", namespaced=False, short_names=("sc",)),
    # Stored and validated only: no CSI driver, attacher or provisioner reads them.
    Resource("storage.k8s.io", "v1", "CSIDriver", "csidrivers", namespaced=False),
    Resource("storage.k8s.io", "v1", "CSINode", "csinodes", namespaced=False),
    Resource("storage.k8s.io", "v1", "CSIStorageCapacity", "csistoragecapacities"),
    Resource("storage.k8s.io", "v1", "VolumeAttachment", "volumeattachments", namespaced=False,
             subresources=("status",)),
    Resource("storage.k8s.io", "v1", "VolumeAttributesClass", "volumeattributesclasses", namespaced=False,
             short_names=("vac",)),
    Resource("events.k8s.io", "v1", "Event", "events", short_names=("ev",)),
    Resource("coordination.k8s.io", "v1", "Lease", "leases"),
    Resource("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", namespaced=False, short_names=("pc",)),
    Resource("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", namespaced=False),  # read by pod admission
    Resource(_ADMISSION, "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", namespaced=False,
             categories=("api-extensions",)),
    Resource(_ADMISSION, "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", namespaced=False,
             categories=("api-extensions",)),
    Resource(_ADMISSION, "v1", "ValidatingAdmissionPolicy", "validatingadmissionpolicies", namespaced=False,
             categories=("api-extensions",), subresources=("status",)),
    Resource(_ADMISSION, "v1", "ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings",
             namespaced=False, categories=("api-extensions",)),
    Resource("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests", namespaced=False,
             short_names=("csr",), subresources=("status", "approval")),
    Resource("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", namespaced=False,
             short_names=("crd", "crds"), categories=("api-extensions",), subresources=("status",)),
    Resource("apiregistration.k8s.io", "v1", "APIService", "apiservices", namespaced=False,
             categories=("api-extensions",), subresources=("status",)),
    Resource(RBAC_GROUP, "v1", "ClusterRoleBinding", "clusterrolebindings", namespaced=False),
    Resource(RBAC_GROUP, "v1", "ClusterRole", "clusterroles", namespaced=False),
    Resource(RBAC_GROUP, "v1", "RoleBinding", "rolebindings"),
    Resource(RBAC_GROUP, "v1", "Role", "roles"),
    # Reviews are answered, never stored (reviews.py serves their create).
    Resource("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", namespaced=False,
             verbs=("create",)),
    Resource("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", namespaced=False, verbs=("create",)),
    Resource("authorization.k8s.io", "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews",
             verbs=("create",)),
    Resource("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
             namespaced=False, verbs=("create",)),
    Resource("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews",
             namespaced=False, verbs=("create",)),
    Resource("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", namespaced=False,
             verbs=("create",)),
)

BY_KEY = {r.key: r for r in RESOURCES}
# The API server's Warning for every request of these (kubectl prints it).
DEPRECATED = {"endpoints": "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"}
# The custom resources the CustomResourceDefinitions serve now (crds.py keeps it current).
custom: tuple[Resource, ...] = ()


def served() -> tuple[Resource, ...]:
    return RESOURCES + custom


def find(group: str, version: str, plural: str) -> Resource | None:
    """The resource a URL names (/api/v1/pods, /apis/apps/v1/deployments)."""
    return next((r for r in served() if (r.group, r.version, r.plural) == (group, version, plural)), None)


def by_kind(api_version: str, kind: str) -> Resource | None:
    return next((r for r in served() if (r.api_version, r.kind) == (api_version, kind)), None)


def of_workload(kind: str) -> Resource:
    """The resource of a kind that makes pods from a template (Deployment, ReplicationController...)."""
    return next(r for r in RESOURCES if r.kind == kind and r.group in ("", "apps", "batch"))


def groups() -> dict[str, list[str]]:
    """Group name -> its served versions, in the order discovery lists them (core group first)."""
    out: dict[str, list[str]] = {}
    for r in served():
        versions = out.setdefault(r.group, [])
        if r.version not in versions:
            versions.append(r.version)
    return out
