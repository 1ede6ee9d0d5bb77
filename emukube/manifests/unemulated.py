"""Fields of emulated kinds that emukube accepts but does not act on: one warning per field.

Charts (`helm template`, `kustomize build`) set many fields that only matter on a real cluster:
service accounts, scheduling, resource requests, security hardening. They are accepted (the
API server would), and each field gets one warning naming every object that sets it, so that
nobody is surprised that it had no effect. Kinds emukube skips entirely are reported by
validate.split_supported. Nothing here raises, whatever the documents hold.
"""

from __future__ import annotations

from typing import Any

from ..plan.ingress import NGINX_HONOURED
from .load import Doc

NO_SCHEDULER = "pods are placed by nodeSelector, required nodeAffinity, nodeName and taints only"
POD_FIELDS = {
    "imagePullSecrets": "images come from the local engine",
    "topologySpreadConstraints": NO_SCHEDULER,
    "schedulerName": NO_SCHEDULER,
    "runtimeClassName": "its RuntimeClass gives the pods its overhead, node selector and tolerations, but every pod "
                        "runs with the engine's runtime",
    "overhead": "nothing is reserved",
    "hostAliases": "/etc/hosts is the engine's", "readinessGates": "readiness comes from the probes only",
    "shareProcessNamespace": "containers of a pod see only their own processes",
    "activeDeadlineSeconds": "pods are not stopped after a deadline", "os": "every pod runs on the engine's OS",
    "setHostnameAsFQDN": "the hostname is the pod name",
    "ephemeralContainers": "they are added to running pods by `kubectl debug`",
}
POD_SECURITY_KEPT = {"seccompProfile", "runAsUser", "runAsGroup", "runAsNonRoot", "supplementalGroups", "fsGroup",
                     "fsGroupChangePolicy"}
CONTAINER_SECURITY_KEPT = {"privileged", "runAsUser", "runAsGroup", "runAsNonRoot", "capabilities", "seccompProfile",
                           "allowPrivilegeEscalation"}
CONTAINER_FIELDS = {
    "terminationMessagePath": "exit reasons are not collected",
    "terminationMessagePolicy": "exit reasons are not collected",
    "resizePolicy": "limits are set when a container starts", "volumeDevices": "no block devices",
}
# Values that ask for what Kubernetes does by default, as `kubectl get -o yaml` prints them: as
# emukube behaves, so no warning.
AS_DEFAULT = {"schedulerName": "default-scheduler", "preemptionPolicy": "PreemptLowerPriority",
              "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}
VOLUME_TYPES = {"emptyDir", "configMap", "secret", "hostPath", "persistentVolumeClaim", "downwardAPI", "projected",
                "name"}
PROJECTED_SOURCES = {"configMap", "secret", "downwardAPI", "serviceAccountToken"}
SERVICE_FIELDS = {
    "loadBalancerSourceRanges": "a LoadBalancer accepts every client", "externalIPs": "use a LoadBalancer",
    "healthCheckNodePort": "no cloud load balancer checks nodes",
    "loadBalancerClass": "every LoadBalancer is emukube's",
}
WORKLOAD_FIELDS = {
    "minReadySeconds": "a pod counts as available once ready",
    "ordinals": "StatefulSet ordinals start at 0",
}


HELM_HOOK = "helm.sh/hook"


def without_helm_hooks(docs: list[Doc]) -> tuple[list[Doc], list[str]]:
    """`helm install` keeps hook documents (tests, pre-install jobs) for their own phase, and so
    does emukube: applied with the rest, a test pod would race the pods it tests."""
    kept, warnings = [], []
    for doc in docs:
        meta = _map(doc.obj.get("metadata")) if isinstance(doc.obj, dict) else {}
        hook = _map(meta.get("annotations")).get(HELM_HOOK)
        if hook is None:
            kept.append(doc)
            continue
        warnings.append(f"{doc.source} (document {doc.index + 1}): skipping {doc.obj.get('kind')} "
                        f"\"{meta.get('name')}\": a Helm hook ({HELM_HOOK}: {hook}), run by Helm, not installed")
    return kept, warnings


# What the API server says on a NetworkPolicy's creation: the Services' proxies and each selected
# pod's own rules enforce it (plan/network_policy.py, plan/pod_firewall.py); this is what they leave out.
PARTLY_ENFORCED = ("enforced by the Services' proxies and in the selected pods' network namespaces; not filtered: "
                   "hostPorts, and connections with addresses other than pods'")

# A ServiceCIDR is kept as the API server keeps it, but addresses come from the cluster's range.
OWN_RANGE_ONLY = "stored, but ClusterIPs are allocated from the cluster's own Service range only"


class _Found:
    """field -> (what is said of it, objects), in the order first seen."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[tuple[str, str], list[str]]] = {}

    def add(self, field: str, why: str, obj: str, partly: bool = False) -> None:
        """`why` it is not emulated; `partly`: it is, and `why` says what is left out."""
        around = (f"{why} (", ")") if partly else (f"not emulated ({why}); ignored in ", "")
        _, objects = self.items.setdefault(field, (around, []))
        if obj not in objects:
            objects.append(obj)

    def lines(self) -> list[str]:
        return [f"{field}: {before}{', '.join(objs)}{after}" for field, ((before, after), objs) in self.items.items()]


def _map(v: Any) -> dict:
    return v if isinstance(v, dict) else {}


def _maps(v: Any) -> list[dict]:
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def _set(v: Any) -> bool:
    return v not in (None, "", [], {}, False)


def _pod_spec(spec: dict, found: _Found, obj: str) -> None:
    for field, why in POD_FIELDS.items():
        if _set(spec.get(field)) and spec.get(field) != AS_DEFAULT.get(field):
            found.add(f"pod spec {field}", why, obj, partly=field == "runtimeClassName")
    for key in sorted(set(_map(spec.get("securityContext"))) - POD_SECURITY_KEPT):
        found.add(f"pod securityContext.{key}", "Docker's defaults apply", obj)
    affinity = _map(spec.get("affinity"))
    for key in ("podAffinity", "podAntiAffinity"):
        if _set(affinity.get(key)):
            found.add(f"pod spec affinity.{key}", NO_SCHEDULER, obj)
    if _set(_map(affinity.get("nodeAffinity")).get("preferredDuringSchedulingIgnoredDuringExecution")):
        found.add("pod spec affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution", NO_SCHEDULER, obj)
    for vol in _maps(spec.get("volumes")):
        for key in sorted(set(vol) - VOLUME_TYPES):
            found.add(f"{key} volumes", "nothing is mounted; the path holds what the image has", obj)
        for source in _maps(_map(vol.get("projected")).get("sources")):
            for key in sorted(set(source) - PROJECTED_SOURCES):
                found.add(f"projected volume {key} sources", "their files are not written", obj)
    for c in _maps(spec.get("containers")) + _maps(spec.get("initContainers")):
        _container(c, found, obj)


def _container(c: dict, found: _Found, obj: str) -> None:
    for field, why in CONTAINER_FIELDS.items():
        if _set(c.get(field)) and c.get(field) != AS_DEFAULT.get(field):
            found.add(f"container {field}", why, obj)
    if _set(_map(c.get("resources")).get("requests")):
        found.add("container resources.requests", "nothing is reserved, autoscalers read them; limits do apply", obj)
    for key in sorted(set(_map(c.get("securityContext"))) - CONTAINER_SECURITY_KEPT):
        found.add(f"container securityContext.{key}", "Docker's defaults apply", obj)
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if _set(_map(c.get(probe)).get("grpc")):
            found.add(f"{probe}.grpc", "such probes always pass", obj)


def _service(obj: dict, found: _Found, label: str) -> None:
    spec = _map(obj.get("spec"))
    for field, why in SERVICE_FIELDS.items():
        if _set(spec.get(field)):
            found.add(f"service spec.{field}", why, label)
    for key in _map(_map(obj.get("metadata")).get("annotations")):
        if isinstance(key, str) and "load-balancer" in key.lower():
            found.add("load-balancer annotations", "they configure a cloud's load balancer", label)


def ingress_annotations(obj: dict) -> list[str]:
    """An Ingress controller's own annotations that emukube's does not honour
    (nginx.ingress.kubernetes.io/proxy-body-size, ...; plan/ingress.py honours NGINX_HONOURED)."""
    return [key for key in _map(_map(obj.get("metadata")).get("annotations"))
            if isinstance(key, str) and "ingress" in key.partition("/")[0].lower() and key not in NGINX_HONOURED]


def _ingress(obj: dict, found: _Found, label: str) -> None:
    if ingress_annotations(obj):
        found.add("Ingress controller annotations", "emukube's controller honours only ingress-nginx's rewrite-target, "
                  "use-regex, ssl-redirect, force-ssl-redirect and app-root", label)


def _label(obj: dict) -> str:
    meta = _map(obj.get("metadata"))
    ns = meta.get("namespace")
    where = f" -n {ns}" if isinstance(ns, str) and ns not in ("", "default") else ""
    return f"{str(obj.get('kind', '')).lower()}/{meta.get('name', '')}{where}"


JOB_FIELDS = {"completionMode": "pods run without completion indexes (NonIndexed)",
              "podFailurePolicy": "every pod failure counts towards backoffLimit",
              "successPolicy": "the Job succeeds once completions pods succeeded",
              "backoffLimitPerIndex": "there are no indexes: backoffLimit applies",
              "maxFailedIndexes": "there are no indexes: backoffLimit applies"}


def unemulated_fields(docs: list[Doc]) -> list[str]:
    """One warning per field emukube ignores, naming the objects that set it."""
    found = _Found()
    for doc in docs:
        obj = doc.obj if isinstance(doc.obj, dict) else {}
        kind, label, spec = obj.get("kind"), _label(obj), _map(obj.get("spec"))
        if kind == "Service":
            _service(obj, found, label)
        elif kind == "Pod":
            _pod_spec(spec, found, label)
        elif kind in ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "ReplicationController"):
            for field, why in WORKLOAD_FIELDS.items():
                if _set(spec.get(field)):
                    found.add(f"{kind} spec.{field}", why, label)
            _pod_spec(_map(_map(spec.get("template")).get("spec")), found, label)
        elif kind in ("Job", "CronJob"):
            job = _map(_map(spec.get("jobTemplate")).get("spec")) if kind == "CronJob" else spec
            for field, why in JOB_FIELDS.items():
                if _set(job.get(field)) and job.get(field) != "NonIndexed":
                    found.add(f"Job spec.{field}", why, label)
            _pod_spec(_map(_map(job.get("template")).get("spec")), found, label)
        elif kind == "NetworkPolicy":
            found.add("NetworkPolicy", PARTLY_ENFORCED, label, partly=True)
        elif kind == "ServiceCIDR":
            found.add("ServiceCIDR", OWN_RANGE_ONLY, label, partly=True)
        elif kind == "Ingress":
            _ingress(obj, found, label)
    return found.lines()
