"""What the API server does to an object between decoding it and storing it, for the kinds
emukube acts on: the defaulting and validation of manifests/ (the same rules and words as
`emukube up`), Secret stringData folded into data, and a Service's ClusterIP, nodePorts and
LoadBalancer address allocated. Kinds emukube does not act on pass through unchanged."""

from __future__ import annotations

import base64
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

from ..k8s.resources import BY_KEY, Resource, by_kind
from ..k8s.times import timestamp
from ..manifests.csr_strategy import prepare_for_update, requestor_fields
from ..manifests.defaults import apply_defaults
from ..manifests.text import go_quote
from ..manifests.unemulated import PARTLY_ENFORCED
from ..manifests.validate import API_VERSIONS, validate_object
from ..manifests.validate_certificates import validate_csr_update
from ..manifests.validate_csi import UPDATE_CHECKS as CSI_UPDATE_CHECKS
from ..manifests.validate_csi import WARNINGS as CSI_WARNINGS
from ..manifests.validate_node import runtime_class_update_problems, runtime_class_warnings
from ..manifests.validate_secret_types import config_update_problems
from ..manifests.validate_service_cidr import UPDATE_CHECKS as CIDR_UPDATE_CHECKS
from ..plan import allocate, ingress, limit_ranges, quota, runtime_classes
from ..plan.api_access import account_of, has_api_access, missing_account, with_api_access
from ..plan.jobs import generate_selector
from ..plan.network import ClusterNet
from ..plan.nodes import with_default_tolerations
from ..runtime.settings import Settings as ClusterSettings
from ..store import NotFound
from . import errors, service_cidrs
from .storage_admission import admit_storage

# "spec.ports[0].port: Invalid value: 0: must be ..." -> field, reason, message
_ITEM = re.compile(r"^(?P<field>[^:]+): (?P<type>Required value|Invalid value|Unsupported value|Duplicate value|"
                   r"Not found|Forbidden|Too long|Too many|Internal error)(?P<rest>.*)$", re.S)
_REASONS = {"Required value": "FieldValueRequired", "Invalid value": "FieldValueInvalid",
            "Unsupported value": "FieldValueNotSupported", "Duplicate value": "FieldValueDuplicate",
            "Not found": "FieldValueNotFound", "Forbidden": "FieldValueForbidden",
            "Too long": "FieldValueTooLong", "Too many": "FieldValueTooMany", "Internal error": "InternalError"}


class Invalid(Exception):
    """A 422: causes are (field, message, reason) as the API server's StatusCause."""

    def __init__(self, causes: list[tuple[str, str, str]], message: str):
        super().__init__(message)
        self.causes, self.message = causes, message


@dataclass
class Settings:
    """What admission needs of the cluster: its addresses, its policy, and the nodePorts other
    clusters on the same engine hold (NodePorts are host ports, unique across clusters)."""

    net: ClusterNet | None = None
    allow_privileged: bool = False
    foreign_node_ports: Callable[[], dict[int, str]] = field(default=lambda: {})


_settings: Settings | None = None


def configure(settings: Settings) -> None:
    global _settings
    _settings = settings


def settings() -> Settings:
    """Configured by the API server's entry point; else read from the controller's environment."""
    global _settings
    if _settings is None:
        env = os.environ
        given = ClusterSettings.from_env(env) if env.get("EMUKUBE_SUBNET") and env.get("EMUKUBE_CLUSTER") else None
        net = ClusterNet.from_subnet(given.cluster, given.subnet) if given else None
        _settings = Settings(net=net, allow_privileged=bool(given and given.allow_privileged))
        if net is not None and os.path.exists("/var/run/docker.sock"):
            from ..runtime.published import other_clusters_node_ports

            _settings.foreign_node_ports = lambda: other_clusters_node_ports(net.name)
    return _settings


def causes_of(items: list[str]) -> list[tuple[str, str, str]]:
    out = []
    for item in items:
        m = _ITEM.match(item)
        if m is None:
            out.append(("", item, "FieldValueInvalid"))
        else:
            out.append((m["field"], f"{m['type']}{m['rest']}", _REASONS[m["type"]]))
    return out


def invalid_message(resource: Resource, name: str, items: list[str]) -> str:
    """`Deployment.apps "web" is invalid: spec.replicas: ...`, several in brackets, as
    apimachinery's NewInvalid words it."""
    joined = items[0] if len(items) == 1 else "[" + ", ".join(items) + "]"
    return f'{resource.group_kind} "{name}" is invalid: {joined}'


def admit(op: str, resource: Resource, obj: dict, old: dict | None, store, user: dict | None = None) -> list[str]:
    """Default, validate and allocate `obj` in place; return warnings; raise Invalid. user: the
    requester's UserInfo, when known."""
    kind = obj.get("kind")
    if resource.group == "rbac.authorization.k8s.io":
        return _admit_rbac(resource, obj, old)
    if resource.group == "apiextensions.k8s.io" or hasattr(resource, "crd"):
        return _admit_extensions(op, resource, obj, old, store)
    if kind not in API_VERSIONS or resource.api_version != API_VERSIONS[kind]:
        return []
    conf = settings()
    if kind == "Secret":
        _fold_string_data(obj)
    if kind == "CertificateSigningRequest":
        _csr_strategy(resource, obj, old, user)
    items = _problems(resource, kind, obj, old, conf.allow_privileged)
    name = (obj.get("metadata") or {}).get("name", "")
    if items:
        raise Invalid(causes_of(items), invalid_message(resource, name, items))
    defaulted = apply_defaults(obj)
    obj.clear()
    obj.update(defaulted)
    if kind in ("PersistentVolumeClaim", "PersistentVolume", "StorageClass"):
        if items := admit_storage(op, kind, obj, old, store):
            raise Invalid(causes_of(items), invalid_message(resource, name, items))
    if kind == "Job":
        # The Job strategy's selector, from the uid it is stored with; an update that leaves it
        # out (emukube up's PUT of the manifest) keeps it.
        meta = obj.setdefault("metadata", {})
        meta["uid"] = ((old or {}).get("metadata") or {}).get("uid") or meta.get("uid") or str(uuid.uuid4())
        generate_selector(obj, meta["uid"])
    if kind == "Pod":
        _admit_pod(op, obj, old, store)
    if op == "CREATE" and kind in quota.COUNTED and not _controller_made(obj):
        _quota(resource, obj, store)
    if kind == "Ingress" and op == "CREATE":
        _default_ingress_class(obj, store)
    elif kind == "Ingress" and old is not None and not (obj.get("spec") or {}).get("ingressClassName"):
        # The class the plugin gave stays when the manifest is written again without one: `up`
        # writes whole objects where `kubectl apply` would patch the fields it manages.
        if (old.get("spec") or {}).get("ingressClassName") and \
                ingress.LEGACY_CLASS_ANNOTATION not in ((obj.get("metadata") or {}).get("annotations") or {}):
            obj.setdefault("spec", {})["ingressClassName"] = old["spec"]["ingressClassName"]
    if kind == "PriorityClass" and old is not None and old.get("value") != obj.get("value"):
        items = ["value: Forbidden: may not be changed in an update."]
        raise Invalid(causes_of(items), invalid_message(resource, name, items))
    warnings: list[str] = []
    if kind in _UPDATE_CHECKS or kind in _WARNINGS:
        _strategy(resource, kind, obj, old, warnings)
    if kind == "NetworkPolicy" and op == "CREATE":
        warnings.append(f"NetworkPolicy {name}: {PARTLY_ENFORCED}")
    if kind == "Service" and conf.net is not None:
        _allocate(obj, old, store, conf, warnings, resource)
    return warnings


def _problems(resource: Resource, kind: str, obj: dict, old: dict | None, allow_privileged: bool) -> list[str]:
    """The object's field errors; an update's own first (what a ConfigMap or Secret may not change)."""
    # An update of a ServiceCIDR checks only how its CIDRs changed (ValidateServiceCIDRUpdate, in
    # _strategy below), not the CIDRs themselves again.
    checked = {**obj, "spec": old.get("spec")} if kind == "ServiceCIDR" and old is not None else obj
    items = validate_object(checked, allow_privileged)
    if kind in ("ConfigMap", "Secret") and old is not None:
        items = config_update_problems(kind, obj, old) + items
    if not items and resource.group == "admissionregistration.k8s.io":
        items = _cel_problems(obj)
    return items


def _expressions(obj: dict) -> list[tuple[str, str]]:
    """(field, CEL expression) of a policy (validations, messages, variables, matchConditions,
    audit annotations) or of a webhook configuration (its webhooks' matchConditions)."""
    def listed(items, path: str, key: str) -> list[tuple[str, str]]:
        return [(f"{path}[{i}].{key}", item[key]) for i, item in enumerate(items or [])
                if isinstance(item, dict) and isinstance(item.get(key), str) and item[key]]

    if obj.get("kind") == "ValidatingAdmissionPolicy":
        spec = obj.get("spec") or {}
        return (listed(spec.get("matchConditions"), "spec.matchConditions", "expression")
                + listed(spec.get("variables"), "spec.variables", "expression")
                + listed(spec.get("validations"), "spec.validations", "expression")
                + listed(spec.get("validations"), "spec.validations", "messageExpression")
                + listed(spec.get("auditAnnotations"), "spec.auditAnnotations", "valueExpression"))
    out: list[tuple[str, str]] = []
    for i, hook in enumerate(obj.get("webhooks") or []):
        if isinstance(hook, dict):
            out += listed(hook.get("matchConditions"), f"webhooks[{i}].matchConditions", "expression")
    return out


def _cel_problems(obj: dict) -> list[str]:
    """The API server compiles a policy's and a webhook's CEL when they are written."""
    expressions = _expressions(obj)
    if not expressions:
        return []
    from . import cel

    return [f"{path}: Invalid value: {go_quote(text)}: {problem}" for path, text in expressions
            if (problem := cel.compile_problem(text)) is not None]


def _csr_strategy(resource: Resource, obj: dict, old: dict | None, user: dict | None) -> None:
    """Who asked is recorded on create; an update of the object itself keeps its spec and status
    (/approval and /status change those: subresources.py)."""
    if old is None:
        obj["spec"] = requestor_fields(obj.get("spec") or {}, user or {})
        return
    new = prepare_for_update(obj, old, "", timestamp(time.time()))
    obj.clear()
    obj.update(new)
    if items := validate_csr_update(obj, old):
        name = (obj.get("metadata") or {}).get("name", "")
        raise Invalid(causes_of(items), invalid_message(resource, name, items))


def _admit_pod(op: str, obj: dict, old: dict | None, store) -> None:
    """The admission plugins, in kube-apiserver's order."""
    meta = obj.setdefault("metadata", {})
    namespace, spec = meta.get("namespace") or "default", obj.setdefault("spec", {})
    if op == "CREATE":
        _service_account(obj, namespace, store)
        spec = obj["spec"]
        spec["tolerations"] = with_default_tolerations(spec)
        _priority(obj, store)
        _runtime_class(obj, store)
        if not _controller_made(obj):
            _limit_ranges(obj, store)
    elif old is not None:
        if has_api_access(old.get("spec") or {}):  # the plugin's volume, as the stored pod has it
            obj["spec"] = with_api_access(spec, namespace, meta.get("name", ""))
        # What the Priority and RuntimeClass plugins set on create stays: the API server holds
        # these immutable, and the controller's own writes of a pod leave them to it.
        for key in ("priorityClassName", "priority", "preemptionPolicy", "overhead"):
            if (old.get("spec") or {}).get(key) is not None:
                obj["spec"][key] = old["spec"][key]


def _service_account(pod: dict, namespace: str, store) -> None:
    """The ServiceAccount plugin on create: the pod's account must exist; its kube-api-access
    volume unless the pod or the account opts out; the account's imagePullSecrets when the pod
    names none."""
    meta, spec = pod["metadata"], pod["spec"]
    try:
        account = store.get(BY_KEY["serviceaccounts"].key, namespace, account_of(spec))
    except NotFound:
        raise _forbidden_pod(meta.get("name") or meta.get("generateName") or "Unknown",
                             missing_account(spec, namespace, set())) from None
    pod["spec"] = with_api_access(spec, namespace, meta.get("name", ""), account)
    if not pod["spec"].get("imagePullSecrets") and account.get("imagePullSecrets"):  # the account's, as they are
        pod["spec"]["imagePullSecrets"] = [{"name": s.get("name", "")} for s in account["imagePullSecrets"]
                                           if isinstance(s, dict)]


def _priority(pod: dict, store) -> None:
    """The Priority admission plugin: a new pod's priority (and preemption policy) from its
    priorityClassName, else from the global default class, else 0; a class that does not
    exist, or a priority that differs from its class's, is refused."""
    meta = pod.get("metadata") or {}
    # Named as admission names an object whose name is not generated yet: by its generateName.
    spec, name = pod.setdefault("spec", {}), meta.get("name") or meta.get("generateName") or "Unknown"
    classes, _ = store.list(BY_KEY["priorityclasses.scheduling.k8s.io"].key)
    wanted = spec.get("priorityClassName")
    if wanted:
        found = next((c for c in classes if c["metadata"]["name"] == wanted), None)
        if found is None:
            raise _forbidden_pod(name, f"no PriorityClass with name {wanted} was found")
    else:
        defaults = sorted((c for c in classes if c.get("globalDefault")), key=lambda c: c.get("value", 0))
        found = defaults[0] if defaults else None
        if found is not None:
            spec["priorityClassName"] = found["metadata"]["name"]
            spec.pop("priority", None)  # defaulting wrote 0 before the default class was known
    value = int(found.get("value", 0)) if found is not None else 0
    policy = (found or {}).get("preemptionPolicy") or "PreemptLowerPriority"
    if spec.get("priority") is not None and spec["priority"] != value:
        raise _forbidden_pod(name, f"the integer value of priority ({spec['priority']}) must not be provided in pod "
                                   f"spec; priority admission controller computed {value} from the given "
                                   "PriorityClass name")
    spec["priority"], spec["preemptionPolicy"] = value, policy


def _runtime_class(pod: dict, store) -> None:
    """The RuntimeClass admission plugin (plan/runtime_classes.py): a new pod's class, which
    must exist, gives it its overhead and adds its node selector and tolerations."""
    meta, spec = pod.get("metadata") or {}, pod.setdefault("spec", {})
    wanted = spec.get("runtimeClassName")
    found = None
    if wanted:
        try:
            found = store.get(BY_KEY["runtimeclasses.node.k8s.io"].key, None, wanted)
        except NotFound:
            found = None
    admitted, why = runtime_classes.admit(spec, found)
    if why:
        raise _forbidden_pod(meta.get("name") or meta.get("generateName") or "Unknown", why)
    pod["spec"] = admitted


_UPDATE_CHECKS = {**CSI_UPDATE_CHECKS, **CIDR_UPDATE_CHECKS, "RuntimeClass": runtime_class_update_problems}
_WARNINGS = {**CSI_WARNINGS, "RuntimeClass": lambda obj, old: runtime_class_warnings(obj)}


def _strategy(resource: Resource, kind: str, obj: dict, old: dict | None, warnings: list[str]) -> None:
    """What the strategies of the kinds only stored (RuntimeClass, the CSI kinds, ServiceCIDR and
    IPAddress) refuse in an update, and warn of."""
    if old is not None and kind in _UPDATE_CHECKS and (items := _UPDATE_CHECKS[kind](obj, old)):
        raise Invalid(causes_of(items), invalid_message(resource, (obj.get("metadata") or {}).get("name", ""), items))
    if kind in _WARNINGS:
        warnings.extend(_WARNINGS[kind](obj, old))


def _default_ingress_class(obj: dict, store) -> None:
    """The DefaultIngressClass admission plugin: an Ingress naming no class, by field or by
    the older annotation, gets the default class."""
    spec, meta = obj.setdefault("spec", {}), obj.get("metadata") or {}
    if spec.get("ingressClassName") or ingress.LEGACY_CLASS_ANNOTATION in (meta.get("annotations") or {}):
        return
    classes, _ = store.list(BY_KEY["ingressclasses.networking.k8s.io"].key)
    chosen = ingress.chosen_default(classes)
    if chosen is not None:
        spec["ingressClassName"] = chosen


def _forbidden_pod(name: str, why: str) -> Exception:
    return _forbidden(BY_KEY["pods"], name, why)


def _forbidden(resource: Resource, name: str, why: str) -> Exception:
    return errors.ApiError(403, "Forbidden", f'{resource.key} "{name}" is forbidden: {why}',
                           {"name": name, **({"group": resource.group} if resource.group else {}),
                            "kind": resource.plural})


def _controller_made(obj: dict) -> bool:
    """A pod a workload's controller made: the loop held it back already if a quota forbade it
    (Controller._admitted, with the LimitRanges' defaults), and it runs by the time it is written here."""
    return obj.get("kind") == "Pod" and any(r.get("controller") for r in
                                            (obj.get("metadata") or {}).get("ownerReferences") or [])


def _limit_ranges(pod: dict, store) -> None:
    """The LimitRanger admission plugin: the namespace's default requests and limits given to
    a new pod's containers (and said in an annotation), then its minimums and maximums held."""
    meta = pod.setdefault("metadata", {})
    ranges, _ = store.list(BY_KEY["limitranges"].key, meta.get("namespace") or "default")
    if not ranges:
        return
    spec, said, why = limit_ranges.admit(pod.get("spec") or {}, ranges)
    if why:
        raise _forbidden_pod(meta.get("name") or meta.get("generateName") or "Unknown", why)
    pod["spec"] = spec
    if said:
        meta["annotations"] = {**(meta.get("annotations") or {}), limit_ranges.ANNOTATION: said}


def _quota(resource: Resource, obj: dict, store) -> None:
    """The ResourceQuota admission plugin: a new object the namespace's quotas have no room
    for is refused (403), in its words."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace") or "default"
    quotas, _ = store.list(BY_KEY["resourcequotas"].key, ns)
    if not quotas:
        return
    objects = []
    for kind in quota.kinds_counted(quotas):
        res = by_kind(API_VERSIONS[kind], kind)
        if res is not None:
            objects += [{**o, "kind": kind} for o in store.list(res.key, ns)[0]]
    if why := quota.verdict(obj, quotas, objects):
        raise _forbidden(resource, meta.get("name") or meta.get("generateName") or "Unknown", why)


def _admit_rbac(resource: Resource, obj: dict, old: dict | None) -> list[str]:
    from ..manifests import validate_rbac

    validate_rbac.default(obj)
    items = validate_rbac.problems(resource.kind, obj, old)
    if items:
        name = (obj.get("metadata") or {}).get("name", "")
        raise Invalid(causes_of(items), invalid_message(resource, name, items))
    return []


def _admit_extensions(op: str, resource: Resource, obj: dict, old: dict | None, store) -> list[str]:
    from . import crds

    warnings: list[str] = []
    items = (crds.admit_custom(op, resource, obj, old, warnings) if isinstance(resource, crds.CustomResource)
             else crds.admit_crd(obj, old, store))
    if items:
        name = (obj.get("metadata") or {}).get("name", "")
        raise Invalid(causes_of(items), invalid_message(resource, name, items))
    return warnings


def _fold_string_data(obj: dict) -> None:
    """The API server stores stringData as base64 data (stringData wins on a shared key)."""
    text = obj.pop("stringData", None)
    if isinstance(text, dict):
        data = obj.setdefault("data", {}) or {}
        for k, v in text.items():
            if isinstance(v, str):
                data[k] = base64.b64encode(v.encode()).decode()
        obj["data"] = data


def _allocate(svc: dict, old: dict | None, store, conf: Settings, warnings: list[str],
              resource: Resource) -> None:
    assert conf.net is not None  # admit allocates only once the cluster's network is known
    items, _ = store.list(resource.key)
    owner = allocate.owner_of(svc)
    others = [s for s in items if allocate.owner_of(s) != owner]
    taken = allocate.allocations_of(others)
    for port, holder in conf.foreign_node_ports().items():
        taken.node_ports.setdefault(port, holder)
    previous = {owner: old} if old is not None else {}
    said: list[str] = []
    allocated, problems = allocate.allocate_services([svc], previous, conf.net, taken, said)
    held = None if problems else service_cidrs.held_elsewhere(store, allocated[0], old)
    if held is not None and not allocate.asked_cluster_ip(svc, old):
        # An address picked for it that a hand-made IPAddress holds: the ipallocator would
        # move on to the next one, so this picks again with every IPAddress's address taken.
        for ip in service_cidrs.ip_address_names(store):
            taken.cluster_ips.setdefault(ip, "an IPAddress")
        said = []
        allocated, problems = allocate.allocate_services([svc], previous, conf.net, taken, said)
    elif held is not None:
        problems = [allocate.not_allocated(held, allocate.ALREADY_ALLOCATED)]
    warnings += said
    if problems:
        prefix = f'The Service "{svc["metadata"]["name"]}" is invalid: '
        items = [p[len(prefix):] if p.startswith(prefix) else p for p in problems]
        raise Invalid(causes_of(items), invalid_message(resource, svc["metadata"]["name"], items))
    svc.clear()
    svc.update(allocated[0])
