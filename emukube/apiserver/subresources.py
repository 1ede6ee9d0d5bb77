"""The status and scale subresources (and a Namespace's finalize): writes through them touch only
their part of the object, which is how controllers and `kubectl scale` change objects."""

from __future__ import annotations

import copy

from aiohttp import web

from ..k8s.resources import Resource
from ..manifests.defaults import apply_defaults
from ..manifests.validate_pod import validate_ephemeral_containers
from . import admission, convert, errors, negotiate
from .crds import CustomResource, scale_of, set_replicas
from .handlers import APPLY_PATCH, Handlers, Route, check_fields, patch_object, respond, write_opts
from .objects import bump_generation
from .selectors import selector_string

SCALE = Resource("autoscaling", "v1", "Scale", "scale")


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
                       "selector": selector_string(selector)}}


class Subresources:
    def __init__(self, handlers: Handlers):
        self.h = handlers
        self.registry = handlers.registry

    async def handle(self, request: web.Request, route: Route) -> web.Response:
        method = request.method
        sub = route.subresource
        assert sub is not None  # the router calls this for subresource routes only
        if method == "GET" and sub in ("status", "scale", "ephemeralcontainers"):
            obj = self.registry.must_get(route.stored, route.namespace, route.object_name)
            return respond(to_scale(obj, route.resource) if sub == "scale" else convert.to_view(route.resource, obj))
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
        elif sub == "finalize":
            new.setdefault("spec", {})["finalizers"] = part
        elif part is None:
            new.pop("status", None)
        else:
            new["status"] = part
        stored = self.registry.update(route.stored, old, new, opts, admit=False)
        return respond(convert.to_view(route.resource, stored), 200, opts.warnings)

    async def _part(self, request, route: Route, old: dict, method: str, opts, sub: str) -> tuple[object, dict]:
        """The status (or spec.finalizers) the request asks for, and the object it asks for."""
        view = convert.to_view(route.resource, old)
        if method == "PUT":
            obj = await self.h._decode(request, route)
            self._check_rv(route, old, obj)
        else:
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
        stored = convert.to_storage(route.resource, obj)
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
