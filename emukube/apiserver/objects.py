"""What a write means, whoever makes it (a request, the garbage collector, the namespace finalizer):
server-set metadata, generation, status kept apart from spec, finalizers, graceful Pod deletion,
admission. The store keeps bytes and resource versions; these are the API's rules."""

from __future__ import annotations

import copy
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, List

from emukube.store import AlreadyExists, Conflict, NotFound

from ..k8s.names import SYSTEM_NAMESPACES
from ..k8s.resources import BY_KEY, Resource
from ..k8s.times import timestamp
from . import errors, system_guard

NAMESPACES = BY_KEY["namespaces"]
CRD_KEY = "customresourcedefinitions.apiextensions.k8s.io"
# Kinds a PUT may create (their strategies' AllowCreateOnUpdate).
CREATE_ON_UPDATE = {"services", "endpoints", "events", "leases.coordination.k8s.io"}
# Kinds whose DELETE answers the deleted object rather than a Status.
RETURNS_DELETED = {"pods", "services", "namespaces"}
# Kinds with metadata.generation, and what bumps it.
_GENERATION = {"pods", "podtemplates", "replicationcontrollers", "deployments.apps", "replicasets.apps",
               "statefulsets.apps", "daemonsets.apps", "endpointslices.discovery.k8s.io", "jobs.batch",
               "cronjobs.batch",
               "poddisruptionbudgets.policy", "horizontalpodautoscalers.autoscaling", "ingresses.networking.k8s.io",
               "networkpolicies.networking.k8s.io", "mutatingwebhookconfigurations.admissionregistration.k8s.io",
               "validatingwebhookconfigurations.admissionregistration.k8s.io",
               "validatingadmissionpolicies.admissionregistration.k8s.io",
               "validatingadmissionpolicybindings.admissionregistration.k8s.io"}
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # the API server's generateName alphabet


def now_iso(offset: float = 0) -> str:
    return timestamp(time.time() + offset)


@dataclass
class WriteOpts:
    dry_run: bool = False
    manager: str = ""
    subresource: str = ""
    warnings: list[str] = field(default_factory=list)
    webhooks: Any = None  # webhooks.Admitter: a request from a client that admission webhooks may see
    user: dict | None = None  # the requester's authentication/v1 UserInfo (a CSR records it)
    judged: bool = False  # a client's write, which PodSecurity judges (not the API server's own)
    # The object as stored, once admitted in the version the client wrote: a custom resource its
    # CRD's webhook converts (handlers.storing).
    encode: Callable[[dict], dict] | None = None
    system: bool = False  # the API server's own write (system.py): system_guard lets it through


@dataclass
class DeleteOpts:
    dry_run: bool = False
    grace: int | None = None
    propagation: str | None = None  # Orphan | Background | Foreground
    uid: str | None = None  # preconditions
    resource_version: str | None = None
    webhooks: Any = None  # as WriteOpts'
    user: dict | None = None
    judged: bool = False


def _load(name: str):
    try:
        return __import__(f"emukube.apiserver.{name}", fromlist=["_"])
    except ImportError:
        return None


def find_function(name: str):
    """A function of the field-management modules (apply.py or patch.py), wherever it landed."""
    for module in ("apply", "patch"):
        mod = _load(module)
        if mod is not None and hasattr(mod, name):
            return getattr(mod, name)
    return None


def record(old: dict | None, new: dict, manager: str, operation: str, subresource: str = "") -> dict:
    """managedFields for a non-apply write (patch.record_update), when that module is present."""
    fn = find_function("record_update")
    if fn is None:
        return new
    out = fn(old, new, manager, operation, subresource)
    if isinstance(out, dict) and "metadata" in out:
        return out
    if isinstance(out, list):  # the managedFields list itself
        new.setdefault("metadata", {})["managedFields"] = out
    return new


def _custom(res: Resource) -> bool:
    return getattr(res, "crd", None) is not None


def _spec_changed(res: Resource, old: dict, new: dict) -> bool:
    if res.key == "endpointslices.discovery.k8s.io" or _custom(res):  # any change but metadata's
        strip = lambda o: {k: v for k, v in o.items() if k not in ("metadata",)}  # noqa: E731
        return strip(old) != strip(new)
    field = "webhooks" if res.kind.endswith("WebhookConfiguration") else "spec"  # they have no spec
    field = "template" if res.key == "podtemplates" else field  # nor has a PodTemplate
    changed = old.get(field) != new.get(field)
    if res.key == "deployments.apps":  # the Deployment strategy counts annotations too
        changed |= (old.get("metadata", {}).get("annotations") != new.get("metadata", {}).get("annotations"))
    return changed


def keep_ephemeral_containers(old: dict, new: dict) -> None:
    """A write of the whole pod leaves its ephemeral containers as they are (the kubelet-side
    writers, kubectl edit, the publisher's PUT): only pods/ephemeralcontainers changes them."""
    kept = (old.get("spec") or {}).get("ephemeralContainers")
    spec = new.setdefault("spec", {})
    if kept:
        spec["ephemeralContainers"] = kept
    else:
        spec.pop("ephemeralContainers", None)


def bump_generation(res: Resource, old: dict, new: dict) -> None:
    if res.key not in _GENERATION and not _custom(res):
        return
    gen = old.get("metadata", {}).get("generation") or 1
    new["metadata"]["generation"] = gen + 1 if _spec_changed(res, old, new) else gen


def should_finalize(obj: dict) -> bool:
    """An object being deleted goes once no finalizer and no grace period hold it."""
    meta = obj.get("metadata", {})
    if obj.get("kind") == "Namespace" and (obj.get("spec") or {}).get("finalizers"):
        return False  # the namespace finalizer empties it first
    return bool(meta.get("deletionTimestamp")) and not meta.get("finalizers") and \
        not (meta.get("deletionGracePeriodSeconds") or 0)


class Registry:
    def __init__(self, store, hub=None):
        self.store, self.hub = store, hub
        self._admission = _load("admission")
        self.root_ca: bytes | None = None  # the cluster's CA, published in every namespace
        self.pki_dir: str | None = None  # its certificate and key, which sign approved CSRs
        # resource key -> what else must follow a write of it (the aggregator's view of APIServices)
        self.after_write: dict[str, list[Callable[[], None]]] = {}
        # resource key -> what follows each stored change of one of its objects, given the object
        # before and after (None: just created, or removed): Services' IPAddresses (service_cidrs.py)
        self.after_change: dict[str, list[Callable[[dict | None, dict | None], None]]] = {}

    # ---- reads ------------------------------------------------------------------------------------
    def get(self, res: Resource, ns: str | None, name: str) -> dict | None:
        try:
            return self.store.get(res.key, ns if res.namespaced else None, name)
        except NotFound:
            return None

    def must_get(self, res: Resource, ns: str | None, name: str) -> dict:
        obj = self.get(res, ns, name)
        if obj is None:
            raise errors.not_found(res, name)
        return obj

    def list(self, res: Resource, ns: str | None) -> tuple[list[dict], int]:
        """Objects in (namespace, name) order: the store's index's (UTF-8's byte order is the
        code points' order Python sorts strings by)."""
        return self.store.list(res.key, ns if res.namespaced else None)

    def list_raw(self, res: Resource, ns: str | None) -> tuple[List[str], int]:
        """As list(), the objects' JSON as stored (in the same order)."""
        return self.store.list_raw(res.key, ns if res.namespaced else None)

    def _changed(self, res: Resource, old: dict | None, new: dict | None) -> None:
        for follow in self.after_change.get(res.key, ()):
            follow(old, new)

    def _notify(self, res: Resource | None = None):
        if res is not None and res.key == CRD_KEY:
            from .crds import refresh

            refresh(self.store)
        for follow in self.after_write.get(res.key if res is not None else "", ()):
            follow()
        if self.hub is not None:  # only this process writes between the write and this read
            self.hub.notify(res.key if res is not None else None, self.store.current_rv())

    # ---- create -----------------------------------------------------------------------------------
    def ensure_namespaces(self) -> None:
        for name in SYSTEM_NAMESPACES:
            if self.get(NAMESPACES, None, name) is None:
                try:
                    self.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                                WriteOpts(manager="kube-apiserver"), admit=False)
                except errors.ApiError:
                    pass

    def check_namespace(self, res: Resource, ns: str, name: str) -> None:
        space = self.get(NAMESPACES, None, ns)
        if space is None:
            raise errors.namespace_not_found(ns)
        if space["metadata"].get("deletionTimestamp"):
            raise errors.forbidden_terminating(res, name, ns)

    def _prepare_create(self, res: Resource, obj: dict) -> None:
        meta = obj.setdefault("metadata", {})
        for key in ("resourceVersion", "uid", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink",
                    "creationTimestamp", "generation"):
            meta.pop(key, None)
        if res.key in _GENERATION or _custom(res):
            meta["generation"] = 1
        if _custom(res) and "status" in res.subresources:
            obj.pop("status", None)  # create cannot set status
        elif "status" in res.subresources and res.key != "nodes":
            obj["status"] = {}
        if res.key == "pods":
            obj["status"] = {"phase": "Pending"}
        if res.key == "ingresses.networking.k8s.io":
            obj["status"] = {"loadBalancer": {}}  # a struct, not a pointer: always there
        if res.key == "namespaces":
            obj["status"] = {"phase": "Active"}
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]

    def admit(self, op: str, res: Resource, obj: dict, old: dict | None, opts: WriteOpts) -> None:
        """kube-apiserver's order: the built-in plugins, the mutating webhooks (their changes
        defaulted and validated again, as the API server defaults a patched object), PodSecurity,
        the ValidatingAdmissionPolicies, then the validating webhooks."""
        self._builtin(op, res, obj, old, opts.warnings, opts.user)
        if opts.webhooks is None and not opts.judged:
            return
        from . import webhooks

        meta = obj.get("metadata") or {}
        options = {"fieldManager": opts.manager} if opts.manager else {}
        req = webhooks.Request(op, res, meta.get("namespace", "") if res.namespaced else "", meta.get("name", ""),
                               opts.user or {}, opts.dry_run, opts.subresource, obj, old,
                               {**options, **({"dryRun": ["All"]} if opts.dry_run else {})})
        if opts.webhooks is not None and opts.webhooks.mutate(req, opts.warnings):
            self._builtin(op, res, obj, old, [], opts.user)
        if opts.judged:
            from .pod_security_admission import judge

            judge(op, res, obj, old, self.store, opts.warnings)
            self._policies(req, opts.warnings)
        if opts.webhooks is not None:
            opts.webhooks.validate(req, opts.warnings)

    def _policies(self, req, warnings: List[str]) -> None:
        from .policies import Policies

        policies = Policies(self.store)
        if policies.configured():
            policies.admit(req, warnings)

    def _builtin(self, op: str, res: Resource, obj: dict, old: dict | None, warnings: List[str],
                 user: dict | None) -> None:
        if self._admission is None:
            return
        try:
            warnings += self._admission.admit(op, res, obj, old, self.store, user) or []
        except Exception as exc:  # admission.Invalid: a 422 with its causes
            if type(exc).__name__ != "Invalid" or not hasattr(exc, "causes"):
                raise
            raise errors.invalid(res, obj.get("metadata", {}).get("name", ""), list(exc.causes),
                                 getattr(exc, "message", "") or str(exc)) from None

    def create(self, res: Resource, obj: dict, opts: WriteOpts, *, admit: bool = True,
               recorded: bool = False) -> dict:
        meta = obj.setdefault("metadata", {})
        if not res.namespaced:
            meta.pop("namespace", None)
        generate = not meta.get("name") and meta.get("generateName")
        if not meta.get("name") and not generate:
            raise errors.invalid(res, "", [("metadata.name", "Required value: name or generateName is required",
                                            "FieldValueRequired")])
        if res.namespaced:
            self.check_namespace(res, meta["namespace"], meta.get("name") or meta["generateName"])
        self._prepare_create(res, obj) if meta.get("name") else None
        for attempt in range(8):
            if generate:
                meta["name"] = meta["generateName"] + "".join(random.choice(_NAME_CHARS) for _ in range(5))
                self._prepare_create(res, obj)
            if admit and attempt == 0:
                self.admit("CREATE", res, obj, None, opts)
            if not recorded and attempt == 0:
                obj = record(None, obj, opts.manager, "Update", opts.subresource)
                meta = obj["metadata"]
            if opts.dry_run:
                return self._dry_created(res, obj)
            if opts.encode is not None and attempt == 0:
                obj = opts.encode(obj)
                meta = obj["metadata"]
            try:
                stored = self.store.create(res.key, obj)
            except AlreadyExists:
                if generate and attempt < 7:
                    continue
                raise errors.already_exists(res, meta["name"]) from None
            stored = stored if isinstance(stored, dict) else obj
            self._changed(res, None, stored)
            self._notify(res)
            if res is NAMESPACES:  # the service-account and root-CA publishers' part
                from .system import ensure_in_namespace

                ensure_in_namespace(self, meta["name"])
            return stored
        raise errors.already_exists(res, meta["name"])

    def _dry_created(self, res: Resource, obj: dict) -> dict:
        meta = obj["metadata"]
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now_iso())
        return obj

    # ---- update -----------------------------------------------------------------------------------
    def prepare_update(self, res: Resource, old: dict, new: dict) -> None:
        """Server-owned metadata comes from the stored object; status only through /status."""
        meta, prev = new.setdefault("metadata", {}), old["metadata"]
        for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation",
                    "name", "namespace"):
            if key in prev:
                meta[key] = prev[key]
            else:
                meta.pop(key, None)
        if "status" in res.subresources:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        if res.key == "namespaces":
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
        if res.key == "pods":  # they change only through pods/ephemeralcontainers
            keep_ephemeral_containers(old, new)
        bump_generation(res, old, new)

    def update(self, res: Resource, old: dict, new: dict, opts: WriteOpts, *, expect_rv: str | None = None,
               admit: bool = True, recorded: bool = False) -> dict:
        """Store `new` (already prepared) over `old`; stale expect_rv is a 409."""
        if admit:
            self.admit("UPDATE", res, new, old, opts)
        if not opts.system:  # once defaulted: an apply of the same spec without defaults changes nothing
            system_guard.check_update(res, old, new)
        if not recorded:
            new = record(old, new, opts.manager, "Update", opts.subresource)
        name = old["metadata"]["name"]
        if opts.dry_run:
            new["metadata"]["resourceVersion"] = old["metadata"].get("resourceVersion")
            return new
        new["metadata"]["resourceVersion"] = expect_rv or old["metadata"].get("resourceVersion")
        if opts.encode is not None:
            new = opts.encode(new)
        try:
            stored = self.store.update(res.key, new, expect_rv=expect_rv or old["metadata"].get("resourceVersion"))
        except Conflict:
            raise errors.conflict(res, name) from None
        except NotFound:
            raise errors.not_found(res, name) from None
        stored = stored if isinstance(stored, dict) else new
        self._changed(res, old, stored)
        if should_finalize(stored):
            self._remove(res, stored)
        self._notify(res)
        return stored

    # ---- delete -----------------------------------------------------------------------------------
    def _grace(self, res: Resource, obj: dict, opts: DeleteOpts) -> int:
        if res.key != "pods":
            return 0
        spec, phase = obj.get("spec") or {}, (obj.get("status") or {}).get("phase")
        if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
            return 0  # never started anywhere, or finished: nothing to wait for
        grace = opts.grace if opts.grace is not None else spec.get("terminationGracePeriodSeconds", 30)
        return max(int(grace or 0), 0)

    def _preconditions(self, res: Resource, obj: dict, opts: DeleteOpts) -> None:
        meta = obj["metadata"]
        name = meta["name"]
        if opts.uid and opts.uid != meta.get("uid"):
            raise errors.conflict(res, name, f"Precondition failed: UID in precondition: {opts.uid}, "
                                             f"UID in object meta: {meta.get('uid')}")
        if opts.resource_version and opts.resource_version != meta.get("resourceVersion"):
            raise errors.conflict(res, name, "Precondition failed: ResourceVersion in precondition: "
                                             f"{opts.resource_version}, ResourceVersion in object meta: "
                                             f"{meta.get('resourceVersion')}")

    def delete(self, res: Resource, ns: str | None, name: str, opts: DeleteOpts) -> tuple[dict, bool]:
        """Delete or mark for deletion; returns (the object as it now is, whether it is gone)."""
        old = self.must_get(res, ns, name)
        system_guard.check_delete(res, old)
        self._preconditions(res, old, opts)
        if opts.webhooks is not None or opts.judged:
            from . import webhooks

            options: dict = {"dryRun": ["All"]} if opts.dry_run else {}
            if opts.grace is not None:
                options["gracePeriodSeconds"] = opts.grace
            if opts.propagation:
                options["propagationPolicy"] = opts.propagation
            req = webhooks.Request("DELETE", res, (ns or "") if res.namespaced else "", name, opts.user or {},
                                   opts.dry_run, old=old, options=options)
            if opts.webhooks is not None:
                opts.webhooks.mutate(req, [])
            if opts.judged:
                self._policies(req, [])
            if opts.webhooks is not None:
                opts.webhooks.validate(req, [])
        new = copy.deepcopy(old)
        meta = new["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        want = {"Orphan": "orphan", "Foreground": "foregroundDeletion"}.get(opts.propagation or "")
        if want and want not in finalizers and not meta.get("deletionTimestamp"):
            finalizers.append(want)
        if res.key == CRD_KEY and not meta.get("deletionTimestamp"):  # its objects go first (crds.cleanup)
            from .crds import mark_terminating

            mark_terminating(new)
            finalizers = list(meta["finalizers"])
        if res.key == "namespaces":
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"], meta["deletionGracePeriodSeconds"] = now_iso(), 0
                new.setdefault("status", {})["phase"] = "Terminating"
            return self._store_pending(res, old, new, opts), False
        grace = self._grace(res, old, opts)
        current = meta.get("deletionGracePeriodSeconds")
        if grace > 0 and (not meta.get("deletionTimestamp") or current is None or grace < current):
            meta["deletionTimestamp"], meta["deletionGracePeriodSeconds"] = now_iso(grace), grace
            if res.key in _GENERATION:
                meta["generation"] = (meta.get("generation") or 1) + 1
        elif grace == 0 and current:
            meta["deletionGracePeriodSeconds"] = 0
        if finalizers:
            meta["finalizers"] = finalizers
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"], meta["deletionGracePeriodSeconds"] = now_iso(), 0
        if finalizers or (meta.get("deletionGracePeriodSeconds") or 0) > 0:
            return self._store_pending(res, old, new, opts), False
        if not opts.dry_run:
            self._remove(res, old)
            self._notify(res)
            self._published_again(res, old)
        return old, True

    def _published_again(self, res: Resource, old: dict) -> None:
        """What the service-account and root-CA publishers put back at once when it is deleted
        from a namespace that stays: its `default` ServiceAccount and `kube-root-ca.crt`."""
        meta = old["metadata"]
        if (res.key, meta.get("name")) not in (("serviceaccounts", "default"), ("configmaps", "kube-root-ca.crt")):
            return
        space = self.get(NAMESPACES, None, meta.get("namespace") or "")
        if space is not None and not space["metadata"].get("deletionTimestamp"):
            from .system import ensure_in_namespace

            ensure_in_namespace(self, space["metadata"]["name"])

    def _store_pending(self, res: Resource, old: dict, new: dict, opts: DeleteOpts) -> dict:
        if new == old or opts.dry_run:
            return new
        try:
            stored = self.store.update(res.key, new, expect_rv=old["metadata"].get("resourceVersion"))
        except Conflict:
            raise errors.conflict(res, old["metadata"]["name"]) from None
        stored = stored if isinstance(stored, dict) else new
        self._changed(res, old, stored)
        self._notify(res)
        return stored

    def _remove(self, res: Resource, obj: dict) -> None:
        meta = obj["metadata"]
        try:
            self.store.delete(res.key, meta.get("namespace") if res.namespaced else None, meta["name"],
                              expect_uid=meta.get("uid"))
        except NotFound:
            return
        except Conflict:
            raise errors.conflict(res, meta["name"]) from None
        self._changed(res, obj, None)
