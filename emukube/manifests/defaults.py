"""The API server's v1 / apps/v1 defaulting, for the fields emukube reads."""

from __future__ import annotations

from typing import Any

from ..plan.limit_ranges import default_item
from .validate import CLUSTER_SCOPED
from .validate_admissionregistration import WEBHOOK_KINDS
from .validate_csi import DEFAULTS as CSI_DEFAULTS
from .validate_rbac import KINDS as RBAC_KINDS
from .validate_rbac import default as rbac_defaults
from .validate_storage import default_claim, default_storage_class, default_volume

PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
CLIENT_IP_TIMEOUT = 10800
DEFAULT_SCHEDULER = "default-scheduler"
TERMINATION_MESSAGE_PATH = "/dev/termination-log"
_STORAGE_DEFAULTS = {"PersistentVolumeClaim": default_claim, "PersistentVolume": default_volume}


def apply_defaults(obj: dict) -> dict:
    """A defaulted copy of a validated object; `obj` itself is left untouched."""
    out: dict = _copy(obj)
    kind = out.get("kind")
    meta = _sub(out, "metadata")
    if kind not in CLUSTER_SCOPED and not meta.get("namespace"):
        meta["namespace"] = "default"
    if _whole(kind, out):
        return out
    spec = _sub(out, "spec") if kind != "Namespace" and kind not in ("ConfigMap", "Secret") else None
    if spec is None:
        return out
    if kind in _STORAGE_DEFAULTS:
        _STORAGE_DEFAULTS[kind](spec)
    if kind == "Service":
        _service(spec)
    elif kind == "Pod":
        _pod_spec(spec)
        _pod(spec)
    elif kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        _set(spec, "replicas", 1)
        if kind == "Deployment":
            _deployment(spec)
        elif kind == "StatefulSet":
            _set(spec, "podManagementPolicy", "OrderedReady")
            update = _sub(spec, "updateStrategy")
            _set(update, "type", "RollingUpdate")
            if update["type"] == "RollingUpdate":
                _set(_sub(update, "rollingUpdate"), "partition", 0)
            _set(spec, "revisionHistoryLimit", 10)
            retention = _sub(spec, "persistentVolumeClaimRetentionPolicy")
            _set(retention, "whenDeleted", "Retain")
            _set(retention, "whenScaled", "Retain")
            for claim in spec.get("volumeClaimTemplates") or []:
                if isinstance(claim, dict) and isinstance(claim.get("spec"), dict):
                    default_claim(claim["spec"])
        _pod_spec(_sub(_sub(spec, "template"), "spec"))
    elif kind == "ReplicationController":
        _replication_controller(meta, spec)
    elif kind == "DaemonSet":
        _daemonset(spec)
    elif kind == "Job":
        _job(spec)
    elif kind == "CronJob":
        _set(spec, "concurrencyPolicy", "Allow")
        if spec.get("suspend") is None:
            spec["suspend"] = False
        _set(spec, "successfulJobsHistoryLimit", 3)
        _set(spec, "failedJobsHistoryLimit", 1)
        _pod_spec(_sub(_sub(_sub(_sub(spec, "jobTemplate"), "spec"), "template"), "spec"))
    elif kind == "HorizontalPodAutoscaler":
        _autoscaler(spec)
    elif kind == "NetworkPolicy":
        _network_policy(spec)
    elif kind == "ValidatingAdmissionPolicy":
        _set(spec, "failurePolicy", "Fail")  # SetDefaults_ValidatingAdmissionPolicySpec
        _match_resources(spec.get("matchConstraints"))
    elif kind == "ValidatingAdmissionPolicyBinding":
        _match_resources(spec.get("matchResources"))
    return out


def _match_resources(match: Any) -> None:
    """SetDefaults_MatchResources and _Rule, only where they are given: a binding without them
    matches what its policy does. Every namespace and object, every scope, equivalent versions too."""
    if not isinstance(match, dict):
        return
    _set(match, "matchPolicy", "Equivalent")
    _sub(match, "namespaceSelector")
    _sub(match, "objectSelector")
    for key in ("resourceRules", "excludeResourceRules"):
        for rule in _dicts(match.get(key)):
            _set(rule, "scope", "*")


def _network_policy(spec: dict) -> None:
    """SetDefaults_NetworkPolicy: the policy types its rules imply; ports are TCP."""
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
    for direction in ("ingress", "egress"):
        for rule in spec.get(direction) or []:
            for port in (rule.get("ports") or []) if isinstance(rule, dict) else []:
                if isinstance(port, dict):
                    _set(port, "protocol", "TCP")


def _whole(kind: str | None, out: dict) -> bool:
    """Defaults of kinds whose fields are not (all) under spec; whether `out` was one."""
    if kind == "StorageClass":
        default_storage_class(out)
    elif kind == "PriorityClass":
        _set(out, "preemptionPolicy", "PreemptLowerPriority")
    elif kind == "LimitRange":
        for item in (out.get("spec") or {}).get("limits") or []:
            if isinstance(item, dict):
                default_item(item)
    elif kind in WEBHOOK_KINDS:
        _webhooks(out, mutating=kind == "MutatingWebhookConfiguration")
    elif kind in CSI_DEFAULTS:
        CSI_DEFAULTS[kind](out)
    elif kind == "APIService":  # SetDefaults_ServiceReference
        service = (out.get("spec") or {}).get("service")
        if isinstance(service, dict):
            _set(service, "port", 443)
    elif kind == "PodTemplate":  # SetObjectDefaults_PodTemplate: its pod spec's, as workloads' templates
        _pod_spec(_sub(_sub(out, "template"), "spec"))
    elif kind == "Secret":  # SetDefaults_Secret
        _set(out, "type", "Opaque")
    elif kind in RBAC_KINDS:  # SetDefaults_RoleBinding, _Subject
        rbac_defaults(out)
    elif kind not in ("RuntimeClass", "ServiceAccount"):  # (which have no defaults, and no spec)
        return False
    return True


def _webhooks(obj: dict, mutating: bool) -> None:
    """SetDefaults_MutatingWebhook / _ValidatingWebhook, _Rule and _ServiceReference (v1): a webhook
    that cannot be reached refuses, and is asked about every namespace and object for 10 s."""
    for hook in _dicts(obj.get("webhooks")):
        _set(hook, "failurePolicy", "Fail")
        _set(hook, "matchPolicy", "Equivalent")
        _sub(hook, "namespaceSelector")
        _sub(hook, "objectSelector")
        _set(hook, "timeoutSeconds", 10)
        if mutating:
            _set(hook, "reinvocationPolicy", "Never")
        for rule in _dicts(hook.get("rules")):
            _set(rule, "scope", "*")
        service = (hook.get("clientConfig") or {}).get("service") if isinstance(hook.get("clientConfig"), dict) \
            else None
        if isinstance(service, dict):
            _set(service, "port", 443)


def _replication_controller(meta: dict, spec: dict) -> None:
    """SetDefaults_ReplicationController: the template's labels are the selector and the
    object's labels when these are not given."""
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") \
        if isinstance(spec.get("template"), dict) else None
    if isinstance(labels, dict) and labels:
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        if not meta.get("labels"):
            meta["labels"] = dict(labels)
    _set(spec, "replicas", 1)
    _pod_spec(_sub(_sub(spec, "template"), "spec"))


def _daemonset(spec: dict) -> None:
    """SetDefaults_DaemonSet: a rolling update one node at a time, ten revisions kept."""
    update = _sub(spec, "updateStrategy")
    _set(update, "type", "RollingUpdate")
    if update["type"] == "RollingUpdate":
        rolling = _sub(update, "rollingUpdate")
        _set(rolling, "maxUnavailable", 1)
        _set(rolling, "maxSurge", 0)
    _set(spec, "revisionHistoryLimit", 10)
    _pod_spec(_sub(_sub(spec, "template"), "spec"))


def _autoscaler(spec: dict) -> None:
    """SetDefaults_HorizontalPodAutoscaler (autoscaling/v2): one replica at least, 80% of the
    pods' CPU requests, and the controller's default scaling rules written out."""
    _set(spec, "minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    behavior = _sub(spec, "behavior")
    defaults = {"scaleUp": (0, [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                {"type": "Percent", "value": 100, "periodSeconds": 15}]),
                "scaleDown": (300, [{"type": "Percent", "value": 100, "periodSeconds": 15}])}
    for direction, (window, policies) in defaults.items():
        rules = _sub(behavior, direction)
        if rules.get("stabilizationWindowSeconds") is None:
            rules["stabilizationWindowSeconds"] = window
        _set(rules, "selectPolicy", "Max")
        if not rules.get("policies"):
            rules["policies"] = policies


def default_pull_policy(image: str) -> str:
    """Always for ':latest' or an untagged image, else IfNotPresent (a bare digest counts as pinned)."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    if not tag and not digest:
        tag = "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def _service(spec: dict) -> None:
    stype = _set(spec, "type", "ClusterIP")
    affinity = _set(spec, "sessionAffinity", "None")
    if affinity == "ClientIP":
        client_ip = _sub(_sub(spec, "sessionAffinityConfig"), "clientIP")
        _set(client_ip, "timeoutSeconds", CLIENT_IP_TIMEOUT)
    elif affinity == "None":  # SetDefaults_Service: what an earlier ClientIP left goes with it
        spec.pop("sessionAffinityConfig", None)
    for port in _dicts(spec.get("ports")):
        _set(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, "") and port.get("port") is not None:
            port["targetPort"] = port["port"]
    if stype in ("NodePort", "LoadBalancer"):
        _set(spec, "externalTrafficPolicy", "Cluster")
    if stype != "ExternalName":
        _set(spec, "internalTrafficPolicy", "Cluster")
        # What the API server's allocation sets on a single-stack IPv4 cluster: a headless
        # Service without a selector gets RequireDualStack, of the families the cluster has.
        headless_alone = spec.get("clusterIP") == "None" and not spec.get("selector")
        _set(spec, "ipFamilyPolicy", "RequireDualStack" if headless_alone else "SingleStack")
        if not spec.get("ipFamilies"):
            spec["ipFamilies"] = ["IPv4"]
    if stype == "LoadBalancer":
        _set(spec, "allocateLoadBalancerNodePorts", True)
    if spec.get("publishNotReadyAddresses") is False:  # a Go bool with omitempty: false is never written
        del spec["publishNotReadyAddresses"]


def _deployment(spec: dict) -> None:
    strategy = _sub(spec, "strategy")
    if _set(strategy, "type", "RollingUpdate") == "RollingUpdate":
        rolling = _sub(strategy, "rollingUpdate")
        _set(rolling, "maxSurge", "25%")
        _set(rolling, "maxUnavailable", "25%")
    _set(spec, "revisionHistoryLimit", 10)
    _set(spec, "progressDeadlineSeconds", 600)


def _job(spec: dict) -> None:
    """SetDefaults_Job: both counts unset is one pod run once."""
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    if spec.get("parallelism") is None:
        spec["parallelism"] = 1
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 6
    _set(spec, "completionMode", "NonIndexed")
    if spec.get("suspend") is None:
        spec["suspend"] = False
    _set(spec, "podReplacementPolicy", "TerminatingOrFailed")
    _pod_spec(_sub(_sub(spec, "template"), "spec"))


def default_pod_spec(spec: dict) -> dict:
    """A defaulted copy of a Pod's spec, as the API server stores it."""
    out: dict = _copy(spec)
    _pod_spec(out)
    _pod(out)
    return out


def _pod(spec: dict) -> None:
    """What a Pod gets beyond its spec's defaults: SetDefaults_Pod's enableServiceLinks and
    requests from limits, and what the Priority and ServiceAccount admission plugins set."""
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    for c in _dicts(spec.get("containers")) + _dicts(spec.get("initContainers")):
        resources = c.get("resources")
        limits = resources.get("limits") if isinstance(resources, dict) else None
        if isinstance(resources, dict) and isinstance(limits, dict) and limits:  # requests default to limits
            requests = _sub(resources, "requests")  # (on Pods, not templates)
            for name, value in limits.items():
                requests.setdefault(name, value)
    if not spec.get("priorityClassName") and spec.get("priority") is None:
        spec["priority"] = 0
    _set(spec, "preemptionPolicy", "PreemptLowerPriority")
    account = _set(spec, "serviceAccountName", spec.get("serviceAccount") or "default")
    _set(spec, "serviceAccount", account)  # the deprecated field mirrors it


def _pod_spec(spec: dict) -> None:
    """SetDefaults_PodSpec and SetDefaults_Container, templates included: clients rely on them
    (kubectl debug reads spec.securityContext without looking whether it is there)."""
    _set(spec, "restartPolicy", "Always")
    _set(spec, "terminationGracePeriodSeconds", 30)
    _set(spec, "dnsPolicy", "ClusterFirst")
    _set(spec, "schedulerName", DEFAULT_SCHEDULER)
    if not isinstance(spec.get("securityContext"), dict):
        spec["securityContext"] = {}
    for volume in _dicts(spec.get("volumes")):  # SetDefaults_Volume: no source is an emptyDir
        if all(value is None for key, value in volume.items() if key != "name"):
            volume["emptyDir"] = {}
    for c in _dicts(spec.get("containers")) + _dicts(spec.get("initContainers")) + \
            _dicts(spec.get("ephemeralContainers")):
        _set(c, "terminationMessagePath", TERMINATION_MESSAGE_PATH)
        _set(c, "terminationMessagePolicy", "File")
        if isinstance(c.get("image"), str):
            _set(c, "imagePullPolicy", default_pull_policy(c["image"]))
        for port in _dicts(c.get("ports")):
            _set(port, "protocol", "TCP")
        for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
            probe = c.get(probe_name)
            if not isinstance(probe, dict):
                continue
            for field, value in PROBE_DEFAULTS.items():
                if not probe.get(field):
                    probe[field] = value
            if probe.get("initialDelaySeconds") == 0:  # an int32 with omitempty: 0 is never written
                del probe["initialDelaySeconds"]
            http = probe.get("httpGet")
            if isinstance(http, dict):
                _set(http, "path", "/")
                _set(http, "scheme", "HTTP")


def _set(d: dict, key: str, value: Any) -> Any:
    """Set `key` when it is unset (missing, null or empty), return the resulting value."""
    if d.get(key) in (None, ""):
        d[key] = value
    return d[key]


def _sub(d: dict, key: str) -> dict:
    if not isinstance(d.get(key), dict):
        d[key] = {}
    sub: dict = d[key]
    return sub


def _dicts(v: Any) -> list[dict]:
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def _copy(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_copy(x) for x in v]
    return v
