"""apiextensions.k8s.io/v1 CustomResourceDefinitions: their defaulting, validation and status (the
naming and establishing controllers' conditions, set at once), the custom resources they serve
(one Resource per served version, kept in resources.custom), what a custom resource's write goes
through (pruning, defaults, schema validation: cr_schema.py), the scale subresource's paths, and
the cleanup of a deleted CRD's objects (finalizer customresourcecleanup.apiextensions.k8s.io)."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from ..k8s import resources
from ..k8s.resources import BY_KEY, Resource
from . import cr_rules, cr_schema, crd_conversion, errors
from . import schema as sch

CRD = BY_KEY["customresourcedefinitions.apiextensions.k8s.io"]
CLEANUP = "customresourcecleanup.apiextensions.k8s.io"
_OBJECT_META = sch.REF_PREFIX + "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")

# Bumped whenever the served custom resources change (OpenAPI documents are cached by it).
generation = 0


@dataclass(frozen=True)
class CustomResource(Resource):
    singular_name: str = ""
    list_kind: str = ""
    crd: str = ""  # the CRD's name
    storage_version: str = ""
    terminating: bool = False
    schema: dict = field(default_factory=dict, compare=False, hash=False)  # openAPIV3Schema
    columns: tuple = field(default=(), compare=False, hash=False)
    scale: dict | None = field(default=None, compare=False, hash=False)
    conversion: crd_conversion.Conversion | None = field(default=None, compare=False, hash=False)

    @property
    def singular(self) -> str:
        return self.singular_name

    @property
    def definition(self) -> str:
        """As the API server names a CRD's schema: reversed group, version, kind (com.example.v1.Widget)."""
        return ".".join(reversed(self.group.split("."))) + f".{self.version}.{self.kind}"

    @property
    def structural(self) -> dict:
        cached = self.__dict__.get("_structural")
        if cached is None:
            cached = sch.strip_descriptions(with_meta(self.schema))
            object.__setattr__(self, "_structural", cached)
        return cached

    @property
    def printer(self):
        cached = self.__dict__.get("_printer")
        if cached is None:
            from .printer_columns import printer

            cached = printer(list(self.columns))
            object.__setattr__(self, "_printer", cached)
        return cached


def is_custom(resource: Resource) -> bool:
    return isinstance(resource, CustomResource)


def with_meta(schema: dict) -> dict:
    """The CRD's schema with what every object has at its root (apiVersion, kind, ObjectMeta)."""
    out = copy.deepcopy(schema or {})
    out.setdefault("type", "object")
    props = out.setdefault("properties", {})
    props["apiVersion"] = {"type": "string"}
    props["kind"] = {"type": "string"}
    props["metadata"] = {"$ref": _OBJECT_META}
    return out


def version_order(name: str) -> tuple:
    """Kubernetes' version priority: GA before beta before alpha, newer first, others by name."""
    m = _VERSION.match(name)
    if m is None:
        return (3, 0, 0, name)
    rank = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (rank, -int(m.group(1)), -int(m.group(3) or 0), name)


# --- the served set -----------------------------------------------------------------------------


def _served(crd: dict, service_of=None) -> list[CustomResource]:
    spec, meta = crd.get("spec") or {}, crd["metadata"]
    conversion = crd_conversion.of(crd, service_of or (lambda namespace, name: None))
    names = (crd.get("status") or {}).get("acceptedNames") or {}  # served under the names accepted
    if not names.get("plural") or not names.get("kind"):
        return []
    storage = next((v["name"] for v in spec.get("versions") or [] if v.get("storage")), "")
    out = []
    for v in sorted(spec.get("versions") or [], key=lambda v: version_order(v.get("name", ""))):
        if not v.get("served"):
            continue
        subs = v.get("subresources") or {}
        out.append(CustomResource(
            spec["group"], v["name"], names["kind"], names["plural"], namespaced=spec.get("scope") != "Cluster",
            short_names=tuple(names.get("shortNames") or ()), categories=tuple(names.get("categories") or ()),
            subresources=tuple(s for s in ("status", "scale") if s in subs),
            singular_name=names.get("singular") or names["kind"].lower(),
            list_kind=names.get("listKind") or names["kind"] + "List", crd=meta["name"], storage_version=storage,
            terminating=bool(meta.get("deletionTimestamp")),
            schema=((v.get("schema") or {}).get("openAPIV3Schema") or {}),
            columns=tuple(_columns(v)), scale=subs.get("scale"), conversion=conversion))
    return out


def _columns(version: dict) -> list[dict]:
    from .printer_columns import columns_of

    return columns_of(version)


def _established(crd: dict) -> bool:
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (crd.get("status") or {}).get("conditions") or [])


def refresh(store) -> None:
    """Re-reads the CRDs: called at start and after every write of one."""
    global generation
    items, _ = store.list(CRD.key)

    def service_of(namespace: str, name: str) -> dict | None:  # where a conversion webhook is
        try:
            return store.get("services", namespace, name)
        except Exception:  # noqa: BLE001 - the store's NotFound
            return None

    found: list[CustomResource] = []
    for crd in sorted(items, key=lambda c: c["metadata"]["name"]):
        if _established(crd):
            found.extend(_served(crd, service_of))
    resources.custom = tuple(found)
    generation += 1


def forget() -> None:
    """An API server stopping serves nothing any more (tests run several in one process)."""
    resources.custom = ()


def stored() -> list[CustomResource]:
    """One resource per CRD (its storage version's, else its first): what the collector walks."""
    seen: dict[str, CustomResource] = {}
    for r in resources.custom:
        if isinstance(r, CustomResource) and (r.key not in seen or r.version == r.storage_version):
            seen[r.key] = r
    return list(seen.values())


# --- the CRD itself -------------------------------------------------------------------------------


def _now() -> str:
    from .objects import now_iso

    return now_iso()


def _condition(kind: str, status: str, reason: str, message: str, old: list[dict]) -> dict:
    prev = next((c for c in old if c.get("type") == kind), None)
    when = prev["lastTransitionTime"] if prev and prev.get("status") == status and \
        prev.get("lastTransitionTime") else _now()
    return {"type": kind, "status": status, "lastTransitionTime": when, "reason": reason, "message": message}


def _default_crd(crd: dict) -> None:
    spec = crd.setdefault("spec", {})
    names = spec.setdefault("names", {})
    if names.get("kind"):
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", names["kind"] + "List")
    conversion = spec.setdefault("conversion", {"strategy": "None"})
    if isinstance(conversion, dict):
        conversion.setdefault("strategy", "None")
        hook = conversion.get("webhook")
        config = hook.get("clientConfig") if isinstance(hook, dict) else None
        if isinstance(config, dict) and isinstance(config.get("service"), dict):
            config["service"].setdefault("port", 443)


def _crd_problems(crd: dict) -> list[str]:
    spec, name = crd.get("spec") or {}, crd["metadata"].get("name", "")
    names, group = spec.get("names") or {}, spec.get("group") or ""
    out = []
    if not group:
        out.append("spec.group: Required value")
    elif "." not in group:
        out.append(f'spec.group: Invalid value: "{group}": should be a domain with at least one dot')
    for key in ("plural", "kind"):
        if not names.get(key):
            out.append(f"spec.names.{key}: Required value")
    if names.get("plural") and group and name != f"{names['plural']}.{group}":
        out.append(f'metadata.name: Invalid value: "{name}": must be spec.names.plural+"."+spec.group')
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        out.append(f'spec.scope: Unsupported value: "{spec.get("scope", "")}": supported values: "Cluster", '
                   '"Namespaced"')
    versions = spec.get("versions") or []
    if not versions:
        out.append("spec.versions: Invalid value: null: must have exactly one version marked as storage version")
        return out
    if sum(1 for v in versions if v.get("storage")) != 1:
        out.append(f"spec.versions: Invalid value: {cr_schema.go_value(versions)}: must have exactly one version "
                   "marked as storage version")
    for i, v in enumerate(versions):
        if not (v.get("schema") or {}).get("openAPIV3Schema"):
            out.append(f"spec.versions[{i}].schema.openAPIV3Schema: Required value: schemas are required")
        elif (v["schema"]["openAPIV3Schema"].get("type") != "object"):
            out.append(f"spec.versions[{i}].schema.openAPIV3Schema.type: Required value: must not be empty at "
                       "the root")
        else:
            path = f"spec.versions[{i}].schema.openAPIV3Schema"
            out += cr_rules.schema_problems(v["schema"]["openAPIV3Schema"], path)
    return out + crd_conversion.problems(spec)


def _in_use(requested, accepted, used: set) -> str:
    """naming_controller's equalToAcceptedOrFresh: "" when the name may be taken."""
    return "" if requested == accepted or requested not in used else f'"{requested}" is already in use'


def _accept_names(crd: dict, others: list[dict]) -> tuple[dict, tuple[str, str] | None]:
    """The names a CRD gets and why not all (reason, message), as the naming controller decides
    against the names other CRDs of its group hold."""
    resources_used: set = set()
    kinds_used: set = set()
    for other in others:
        held = (other.get("status") or {}).get("acceptedNames") or {}
        resources_used |= {held.get("plural"), held.get("singular"), *(held.get("shortNames") or [])}
        kinds_used |= {held.get("kind"), held.get("listKind")}
    requested = crd["spec"]["names"]
    accepted = dict((crd.get("status") or {}).get("acceptedNames") or {})
    new: dict = dict(accepted)
    problem = None

    def take(key: str, reason: str, used: set) -> None:
        nonlocal problem
        why = _in_use(requested.get(key), accepted.get(key), used)
        if why:
            problem = (reason, why)
        elif requested.get(key):
            new[key] = requested[key]

    take("plural", "PluralConflict", resources_used)
    take("singular", "SingularConflict", resources_used)
    shorts = [n for n in requested.get("shortNames") or [] if n not in (accepted.get("shortNames") or [])
              and n not in (accepted.get("plural"), accepted.get("singular"))]
    taken = [why for why in (_in_use(n, "", resources_used) for n in shorts) if why]
    if taken:
        problem = ("ShortNamesConflict", taken[0] if len(taken) == 1 else "[" + ", ".join(taken) + "]")
    elif requested.get("shortNames"):
        new["shortNames"] = list(requested["shortNames"])
    take("kind", "KindConflict", kinds_used)
    take("listKind", "ListKindConflict", kinds_used)
    if requested.get("categories"):
        new["categories"] = list(requested["categories"])
    return new, problem


def _set_status(crd: dict, old: dict | None, others: list[dict]) -> None:
    spec = crd["spec"]
    status = crd.get("status")
    if not isinstance(status, dict):
        crd["status"] = status = {}
    conditions = list(status.get("conditions") or [])
    status["acceptedNames"], problem = _accept_names(crd, others)
    named = _condition("NamesAccepted", "False", *problem, conditions) if problem else \
        _condition("NamesAccepted", "True", "NoConflicts", "no conflicts found", conditions)
    was = next((c for c in conditions if c.get("type") == "Established"), None)
    if was is not None and was.get("status") == "True":
        established = was
    elif problem:
        established = _condition("Established", "False", "NotAccepted", "not all names are accepted", conditions)
    else:  # the establishing controller's step, taken at once
        established = _condition("Established", "True", "InitialNamesAccepted",
                                 "the initial names have been accepted", conditions)
    kept = [c for c in conditions if c.get("type") not in ("NamesAccepted", "Established")]
    status["conditions"] = [named, established] + kept
    storage = next(v["name"] for v in spec["versions"] if v.get("storage"))
    stored_versions = list(status.get("storedVersions") or ((old or {}).get("status") or {}).get("storedVersions")
                           or [])
    if storage not in stored_versions:
        stored_versions.append(storage)
    status["storedVersions"] = stored_versions


def admit_crd(obj: dict, old: dict | None, store) -> list[str]:
    """Defaults and validates a CRD; returns field errors, else sets its status."""
    _default_crd(obj)
    problems = _crd_problems(obj)
    if not problems:
        group, name = obj["spec"]["group"], obj["metadata"].get("name")
        others = [c for c in store.list(CRD.key)[0]
                  if (c.get("spec") or {}).get("group") == group and c["metadata"]["name"] != name]
        _set_status(obj, old, others)
    return problems


def mark_terminating(crd: dict) -> None:
    """What a CRD's deletion does first (the CRD's REST Delete): the cleanup finalizer and condition."""
    meta = crd["metadata"]
    finalizers = meta.setdefault("finalizers", [])
    if CLEANUP not in finalizers:
        finalizers.append(CLEANUP)
    status = crd.setdefault("status", {})
    others = [c for c in status.get("conditions") or [] if c.get("type") != "Terminating"]
    status["conditions"] = others + [{"type": "Terminating", "status": "True", "lastTransitionTime": _now(),
                                      "reason": "InstanceDeletionInProgress",
                                      "message": "CustomResource deletion is in progress"}]


# --- custom resources -----------------------------------------------------------------------------


def admit_custom(op: str, resource: CustomResource, obj: dict, old: dict | None = None,
                 warnings: list[str] | None = None) -> list[str]:
    """Prunes, defaults and validates a custom resource in place (its schema, then its CEL rules
    against `old` on update); returns field errors, adds to `warnings` the rules' ratcheted ones."""
    if op == "CREATE" and resource.terminating:
        raise errors.ApiError(405, "MethodNotAllowed", "create not allowed while custom resource definition "
                                                       "is terminating", {})
    from ..manifests.names import is_dns1123_subdomain

    name = (obj.get("metadata") or {}).get("name") or ""
    problems = [f"metadata.name: Invalid value: {cr_schema.go_value(name)}: {why}"
                for why in is_dns1123_subdomain(name)] if name else []
    schema = resource.schema
    if schema:
        cr_schema.prune(obj, schema)
        cr_schema.default(obj, schema)
        found = cr_schema.validate(obj, schema)
        rule_errors, rule_warnings = cr_rules.validate(obj, old if op == "UPDATE" else None, schema, found)
        problems += found + rule_errors
        if warnings is not None:
            warnings.extend(rule_warnings)
    return problems


def _path(text: str) -> list[str]:
    return [p for p in (text or "").split(".") if p]


def _read(obj: dict, text: str):
    node: object = obj
    for key in _path(text):
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def scale_of(resource: CustomResource, obj: dict) -> dict:
    """The autoscaling/v1 Scale of a custom resource, read at the CRD's paths."""
    paths = resource.scale or {}
    meta = obj["metadata"]
    status = {"replicas": _read(obj, paths.get("statusReplicasPath", "")) or 0}
    selector = _read(obj, paths.get("labelSelectorPath", "")) if paths.get("labelSelectorPath") else None
    if isinstance(selector, str) and selector:
        status["selector"] = selector
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in meta},
            "spec": {"replicas": _read(obj, paths.get("specReplicasPath", "")) or 0},
            "status": status}


def set_replicas(resource: CustomResource, obj: dict, replicas: int) -> None:
    keys = _path((resource.scale or {}).get("specReplicasPath", ".spec.replicas"))
    node = obj
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = replicas


# --- deletion -------------------------------------------------------------------------------------


def cleanup(registry, crd: dict) -> None:
    """A CRD being deleted: its objects are deleted; once none is left, the finalizer goes (and so the CRD)."""
    from .objects import DeleteOpts, WriteOpts

    if CLEANUP not in (crd["metadata"].get("finalizers") or []):
        return
    name = crd["metadata"]["name"]
    mine = [r for r in stored() if r.crd == name]
    left = False
    for res in mine:
        for obj in registry.list(res, None)[0]:
            left = True
            if obj["metadata"].get("deletionTimestamp"):
                continue
            try:
                registry.delete(res, obj["metadata"].get("namespace"), obj["metadata"]["name"],
                                DeleteOpts(uid=obj["metadata"].get("uid")))
            except errors.ApiError as exc:
                if exc.code not in (404, 409):
                    raise
    if left:
        return
    current = registry.get(CRD, None, name)
    if current is None:
        return
    new = copy.deepcopy(current)
    new["metadata"]["finalizers"] = [f for f in new["metadata"].get("finalizers") or [] if f != CLEANUP]
    if not new["metadata"]["finalizers"]:
        del new["metadata"]["finalizers"]
    try:
        registry.update(CRD, current, new, WriteOpts(manager="apiextensions-apiserver"), admit=False)
    except errors.ApiError as exc:
        if exc.code not in (404, 409):
            raise
