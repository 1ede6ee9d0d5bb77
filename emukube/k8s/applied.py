"""What users applied, told apart from what a cluster makes itself: read by the controller's
loop (what it acts on) and by `up`, `apply` and `get` on the host (what "unchanged" compares
with). Kept apart from both, so that the host imports neither the loop nor the API
server to ask (0.3 s of `up`'s CPU while the engine started the pods)."""

from __future__ import annotations

from .names import SYSTEM_NAMESPACES
from .resources import BY_KEY

RUN_ANNOTATION = "emukube.io/run"  # a pod `emukube run` made: the CLI's, not a desired object
STORAGE_KEYS = ("persistentvolumeclaims", "persistentvolumes", "storageclasses.storage.k8s.io")
# What the loop acts on, read through the API (controllers/informer.py).
DESIRED = tuple(BY_KEY[k] for k in ("namespaces", "services", "pods", "configmaps", "secrets", "nodes",
                                     "serviceaccounts",
                                     "deployments.apps", "statefulsets.apps", "replicasets.apps", "daemonsets.apps",
                                     "replicationcontrollers", "resourcequotas",
                                     "limitranges",
                                     "jobs.batch",
                                     "cronjobs.batch", "poddisruptionbudgets.policy",
                                     "horizontalpodautoscalers.autoscaling", "priorityclasses.scheduling.k8s.io",
                                     "ingresses.networking.k8s.io", "ingressclasses.networking.k8s.io",
                                     "networkpolicies.networking.k8s.io",
                                     "mutatingwebhookconfigurations.admissionregistration.k8s.io",
                                     "validatingwebhookconfigurations.admissionregistration.k8s.io",
                                     *STORAGE_KEYS))
# What `up` applies: those, and kinds only the API server acts on (one watch less each
# for the loop, whose informer lists DESIRED at every start).
APPLIED = DESIRED + tuple(BY_KEY[k] for k in ("validatingadmissionpolicies.admissionregistration.k8s.io",
                                              "validatingadmissionpolicybindings.admissionregistration.k8s.io",
                                              "certificatesigningrequests.certificates.k8s.io",
                                              # read by pod admission only, from the store
                                              "runtimeclasses.node.k8s.io",
                                              # the authorizer's
                                              "roles.rbac.authorization.k8s.io",
                                              "rolebindings.rbac.authorization.k8s.io",
                                              "clusterroles.rbac.authorization.k8s.io",
                                              "clusterrolebindings.rbac.authorization.k8s.io",
                                              # stored only: nothing in emukube acts on them
                                              "podtemplates", "csidrivers.storage.k8s.io",
                                              "csinodes.storage.k8s.io", "volumeattachments.storage.k8s.io",
                                              "csistoragecapacities.storage.k8s.io",
                                              "volumeattributesclasses.storage.k8s.io",
                                              # the aggregator's, in the API server
                                              "apiservices.apiregistration.k8s.io",
                                              # the Service IP allocator's, in the API server
                                              "servicecidrs.networking.k8s.io",
                                              "ipaddresses.networking.k8s.io"))


def desired_objects(cached: list[dict]) -> list[dict]:
    """The objects users declared, without those the controllers make from them: pods and
    ReplicaSets with an owner are the controller's own records of what it runs, as are the
    pods `emukube run` made; a pod whose deletion was asked for is no longer wanted."""
    out = []
    for obj in cached:
        meta = obj.get("metadata") or {}
        if obj.get("kind") in ("Pod", "ReplicaSet", "Job", "ControllerRevision") and meta.get("ownerReferences"):
            continue
        if obj.get("kind") == "Pod" and (meta.get("deletionTimestamp") or
                                         (meta.get("annotations") or {}).get(RUN_ANNOTATION) == "true"):
            continue
        if obj.get("kind") in ("Endpoints", "EndpointSlice", "Event"):
            continue
        out.append(obj)
    return sorted(out, key=lambda o: (o.get("kind", ""), o["metadata"].get("namespace", ""), o["metadata"]["name"]))


def declared_stamp(desired: list[dict]) -> frozenset:
    """Each desired object's (desired_objects') identity and spec's version: its generation where
    its kind has one, else its resourceVersion. The controllers' own writes (pods they made,
    status) leave it as it was: the loop relists what pods are made from only when it moved
    (Controller.refresh_objects)."""
    return frozenset((o.get("kind"), o["metadata"].get("namespace", ""), o["metadata"]["name"],
                      o["metadata"].get("generation") or o["metadata"].get("resourceVersion"))
                     for o in desired)


# The Services the API server keeps itself (apiserver/system.py), "namespace/name", with the
# label that tells them from a user's Service of the same name.
SYSTEM_SERVICES = {"default/kubernetes": ("provider", "kubernetes"), "kube-system/kube-dns": ("k8s-app", "kube-dns")}


def is_system_object(obj: dict) -> bool:
    """Made by the API server, not by whoever applied the manifests (never counted among what users applied)."""
    meta = obj.get("metadata") or {}
    if obj.get("kind") == "ServiceAccount":
        return meta.get("name") == "default"
    if obj.get("kind") in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"):  # kube-apiserver's bootstrap
        return (meta.get("labels") or {}).get("kubernetes.io/bootstrapping") == "rbac-defaults"
    if obj.get("kind") == "Service":
        label = SYSTEM_SERVICES.get(f"{meta.get('namespace')}/{meta.get('name')}")
        return label is not None and (meta.get("labels") or {}).get(label[0]) == label[1]
    if obj.get("kind") == "StorageClass":
        return meta.get("name") == "standard"
    if obj.get("kind") == "Deployment":  # CoreDNS's, as kubeadm's (plan/system_pods.py)
        return (meta.get("namespace"), meta.get("name")) == ("kube-system", "coredns")
    if obj.get("kind") == "IngressClass":
        return meta.get("name") == "emukube"
    if obj.get("kind") == "PriorityClass":
        return str(meta.get("name", "")).startswith("system-")
    if obj.get("kind") == "ConfigMap":  # the CA in every namespace; CoreDNS's Corefile, as kubeadm's;
        # what aggregated API servers trust, as kube-apiserver publishes it
        return meta.get("name") == "kube-root-ca.crt" or (meta.get("namespace"), meta.get("name")) in \
            (("kube-system", "coredns"), ("kube-system", "extension-apiserver-authentication"))
    if obj.get("kind") == "APIService":  # the Local ones the aggregator registers
        return "kube-aggregator.kubernetes.io/automanaged" in (meta.get("labels") or {})
    if obj.get("kind") == "ServiceCIDR":  # the cluster's Service range
        return meta.get("name") == "kubernetes"
    if obj.get("kind") == "IPAddress":  # a Service's ClusterIP, as the allocator records it
        return (meta.get("labels") or {}).get("ipaddress.kubernetes.io/managed-by") == "ipallocator.k8s.io"
    return obj.get("kind") == "Namespace" and meta.get("name") in SYSTEM_NAMESPACES
