"""The status and scale subresources (and a Namespace's finalize): writes through them touch only
their part of the object, which is how controllers and `kubectl scale` change objects."""

from __future__ import annotations

import copy

from aiohttp import web

from ..k8s.resources import Resource
from ..manifests.csr_strategy import prepare_for_update
from ..manifests.defaults import apply_defaults
from ..manifests.validate_certificates import validate_csr_update
from ..manifests.validate_pod import validate_ephemeral_containers
from . import admission, convert, errors, negotiate
from .crds import CustomResource, scale_of, set_replicas
from .handlers import APPLY_PATCH, Handlers, Route, check_fields, converting, patch_object, respond, write_opts
from .objects import WriteOpts, bump_generation, now_iso
from .pod_security_admission import judge
from .selectors import selector_string

SCALE = Resource("autoscaling", "v1", "Scale", "scale")
CSRS = "certificatesigningrequests.certificates.k8s.io"


def to_scale(obj: dict, resource: Resource | None = None) -> dict:
    if isinstance(resource, CustomResource):  # the CRD names the paths
        return scale_of(resource, obj)
    meta = obj["metadata"]
    selector = (obj.get("spec") or {}).get("selector")
    if obj.get("kind") == "ReplicationController":  # a map of labels, not a LabelSelector
        selector = {"matchLabels": selector or {}}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in meta},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": selector_string(selector) or ""}}


class Subresources:
    def __init__(self, handlers: Handlers):
        self.h = handlers
        self.registry = handlers.registry

    async def handle(self, request: web.Request, route: Route) -> web.Response:
        method = request.method
        sub = route.subresource
        assert sub is not None  # the router calls this for subresource routes only
        if method == "GET" and sub in ("status", "scale", "ephemeralcontainers", "approval"):
            obj = self.registry.must_get(route.stored, route.namespace, route.object_name)
            if sub == "scale":
                return respond(to_scale(obj, route.resource))
            return respond(await converting(route.resource, lambda: convert.to_view(route.resource, obj)))
        if method not in ("PUT", "PATCH") or (sub == "finalize" and method != "PUT"):
            raise errors.method_not_allowed()
        old = self.registry.must_get(route.stored, route.namespace, route.object_name)
        opts = write_opts(request, sub)
        if sub == "scale":
            replicas = await self._replicas(request, route, old, method)
            new = copy.deepcopy(old)
            if isinstance(route.resource, CustomResource):
                set_replicas(route.resource, new, replicas)
            else:
                new.setdefault("spec", {})["replicas"] = replicas
            bump_generation(route.stored, old, new)
            stored = self.registry.update(route.stored, old, new, opts, admit=False)
            return respond(to_scale(stored, route.resource), 200, opts.warnings)
        part, asked = await self._part(request, route, old, method, opts, sub)
        new = copy.deepcopy(old)
        if sub == "status" and method == "PATCH":
            # As the registry's status strategies: a status write may change annotations too
            # (the Deployment controller's revision goes so, leaving the generation as it was).
            # Not by PUT here: a controller's whole object, read earlier, would drop newer ones.
            _set_annotations(new, (asked.get("metadata") or {}).get("annotations"))
        if sub == "ephemeralcontainers":
            new["spec"]["ephemeralContainers"] = self._ephemeral(route, old, part)
            judge("UPDATE", route.stored, new, old, self.registry.store, opts.warnings)  # PodSecurity: `kubectl debug`
        elif sub == "finalize":
            new.setdefault("spec", {})["finalizers"] = part
        elif part is None:
            new.pop("status", None)
        else:
            new["status"] = part
        if route.stored.key == CSRS:
            new = self._csr_update(route, old, new, sub)
        stored = self.registry.update(route.stored, old, new, opts, admit=False)
        if route.stored.key == CSRS and not opts.dry_run:
            stored = self._signed(route, stored)
        return respond(await converting(route.resource, lambda: convert.to_view(route.resource, stored)), 200,
                       opts.warnings)

    @staticmethod
    def _csr_update(route: Route, old: dict, new: dict, sub: str) -> dict:
        """The CSR strategies' update of status or approval: what the endpoint may change, taken;
        the rest refused as kube-apiserver refuses it."""
        new = prepare_for_update(new, old, sub, now_iso())
        if items := validate_csr_update(new, old, sub):
            raise errors.invalid(route.resource, route.object_name, admission.causes_of(items),
                                 admission.invalid_message(route.resource, route.object_name, items))
        return new

    def _signed(self, route: Route, csr: dict) -> dict:
        """An approved request for a kubernetes.io signer, signed at once by the cluster's CA (as
        kube-controller-manager's signing controller would a moment later), through /status."""
        from . import csr_signer

        if self.registry.pki_dir is None:
            return csr
        try:
            status = csr_signer.issue(csr, self.registry.pki_dir)
        except csr_signer.SigningError:
            return csr  # unreadable: left pending, as the controller leaves it after logging
        if status is None:
            return csr
        return self.registry.update(route.stored, csr, {**csr, "status": status},
                                    WriteOpts(manager="kube-controller-manager", subresource="status"), admit=False)

    async def _part(self, request, route: Route, old: dict, method: str, opts, sub: str) -> tuple[object, dict]:
        """The status (or spec.finalizers) the request asks for, and the object it asks for."""
        if method == "PUT":
            obj = await self.h._decode(request, route)
            self._check_rv(route, old, obj)
        else:
            view = await converting(route.resource, lambda: convert.to_view(route.resource, old))
            media = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            _apply, force = self.h._patch_options(request, media, route.resource)
            body = await negotiate.read_body(request)
            obj = patch_object(view, body, media, route.resource, opts.manager, force)
            if media != APPLY_PATCH:
                self._check_rv(route, old, obj)
        check_fields(request, obj, route.resource, opts)
        if sub == "finalize":
            return list((obj.get("spec") or {}).get("finalizers") or []), obj
        if sub == "ephemeralcontainers":
            return (obj.get("spec") or {}).get("ephemeralContainers"), obj
        stored = await converting(route.resource, lambda: convert.to_storage(route.resource, obj))
        return stored.get("status"), stored

    @staticmethod
    def _ephemeral(route: Route, old: dict, wanted) -> list:
        """The pod's ephemeral containers after the write: validated, then defaulted."""
        items = validate_ephemeral_containers(old.get("spec") or {}, wanted, admission.settings().allow_privileged)
        if items:
            raise errors.invalid(route.resource, route.object_name, admission.causes_of(items),
                                 admission.invalid_message(route.resource, route.object_name, items))
        return (apply_defaults({"kind": "Pod", "spec": {"ephemeralContainers": wanted or []}})["spec"]
                .get("ephemeralContainers") or [])

    @staticmethod
    def _check_rv(route: Route, old: dict, obj: dict) -> None:
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if rv and rv != old["metadata"].get("resourceVersion"):
            raise errors.conflict(route.resource, route.object_name)

    async def _replicas(self, request, route: Route, old: dict, method: str) -> int:
        current = to_scale(old, route.resource)
        if method == "PUT":
            body = await negotiate.read_body(request)
            scale = negotiate.decode_object(body, request.headers.get("Content-Type", ""))
            negotiate.check_kind(SCALE, scale)
            self._check_rv(route, old, scale)
        else:
            media = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            _apply, force = self.h._patch_options(request, media)
            body = await negotiate.read_body(request)
            scale = patch_object(current, body, media, SCALE, "", force)
        replicas = (scale.get("spec") or {}).get("replicas", 0)
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise errors.ApiError(422, "Invalid", f'Scale.autoscaling "{route.name}" is invalid: spec.replicas: '
                                  f"Invalid value: {replicas}: must be greater than or equal to 0",
                                  {"name": route.name, "group": "autoscaling", "kind": "Scale", "causes": [
                                      {"reason": "FieldValueInvalid", "message": f"Invalid value: {replicas}: must "
                                       "be greater than or equal to 0", "field": "spec.replicas"}]})
        return replicas


def _set_annotations(obj: dict, annotations) -> None:
    if annotations:
        obj["metadata"]["annotations"] = dict(annotations)
    else:
        obj["metadata"].pop("annotations", None)
