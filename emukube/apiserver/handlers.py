"""The HTTP side of objects: list/watch, get, create, update, patch, delete, deletecollection, with
the query options kubectl, helm and client-go send (selectors, limit/continue, dryRun,
fieldManager, fieldValidation, propagationPolicy, ...). What a write means is objects.py's."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from dataclasses import dataclass
from typing import Callable, TypeVar

from aiohttp import web

from ..k8s.client import CONTROLLER_AGENT
from ..k8s.resources import Resource
from . import convert, errors, negotiate, objects
from . import watch as watching
from .objects import DeleteOpts, Registry, WriteOpts
from .selectors import fields_match, labels_match, parse_fields, parse_labels

T = TypeVar("T")
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH]
CUSTOM_PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]  # no strategic merge without Go types


@dataclass(frozen=True)
class Route:
    resource: Resource  # as the URL names it
    namespace: str | None
    name: str | None
    subresource: str | None = None

    @property
    def stored(self) -> Resource:
        return convert.storage_resource(self.resource)

    @property
    def object_name(self) -> str:
        """The name of a route to one object (get, update, patch, delete, subresources)."""
        assert self.name is not None
        return self.name


def warning_value(text: str) -> str:
    return '299 - "' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def respond(obj: dict, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    response = web.Response(status=status, body=json.dumps(obj, separators=(",", ":")).encode(),
                            content_type="application/json")
    for text in warnings or []:
        response.headers.add("Warning", warning_value(text))
    return response


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true")


def write_opts(request: web.Request, subresource: str = "") -> WriteOpts:
    q = request.query
    dry = q.getall("dryRun", [])
    for value in dry:
        if value != "All":
            raise errors.bad_request(f'Invalid dryRun value "{value}": valid values are "All"')
    manager = q.get("fieldManager") or request.headers.get("User-Agent", "").split("/")[0][:128]
    return WriteOpts(dry_run=bool(dry), manager=manager, subresource=subresource, user=requester(request))


def requester(request: web.Request) -> dict:
    """Who the request acts as, as authentication/v1 UserInfo (the middleware authenticated it)."""
    from .authn import ADMIN, user_info
    from .reviews import USER

    return user_info(request.get(USER) or ADMIN)


def _unknown_fields(obj: dict, resource: Resource) -> list[str]:
    openapi = objects._load("openapi")
    if openapi is None or not hasattr(openapi, "unknown_fields"):
        return []
    return openapi.unknown_fields(obj, resource)


def check_fields(request: web.Request, obj: dict, resource: Resource, opts: WriteOpts) -> None:
    """fieldValidation: Strict refuses unknown fields (400), Warn reports them, Ignore drops them."""
    mode = request.query.get("fieldValidation") or "Warn"
    if mode not in ("Strict", "Warn", "Ignore"):
        raise errors.bad_request(f"fieldValidation parameter unsupported: {mode}; "
                                 "must be one of Strict, Warn, Ignore")
    if mode == "Ignore":
        return
    unknown = _unknown_fields(obj, resource)
    if not unknown:
        return
    texts = [f'unknown field "{path}"' for path in unknown]
    if mode == "Strict":
        raise errors.bad_request("strict decoding error: " + ", ".join(texts))
    opts.warnings.extend(texts)


# ---- continue tokens ------------------------------------------------------------------------------

def _encode_continue(rv: int, after: tuple[str, str]) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": list(after)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        start = json.loads(raw)["start"]
        return str(start[0]), str(start[1])
    except (ValueError, KeyError, IndexError, TypeError):
        raise errors.bad_request("continue key is not valid: incorrect encoded start resourceVersion "
                                 "(version meta.k8s.io/v1)") from None


def _limit(request: web.Request) -> int:
    try:
        return max(int(request.query.get("limit") or 0), 0)
    except ValueError:
        raise errors.bad_request(f'strconv.ParseInt: parsing "{request.query["limit"]}": invalid syntax') from None


def _from_controller(request: web.Request) -> bool:
    """emukube's own controller (kube-controller-manager's User-Agent, with the admin's token)."""
    from .authn import ADMIN
    from .reviews import USER

    return request.headers.get("User-Agent", "") == CONTROLLER_AGENT and request.get(USER) == ADMIN


def _running_pods_record(request: web.Request, route: Route) -> bool:
    """The controller's write of a pod it runs. Admission judged that pod before its containers
    were made (pod_admission.admitted, and a dry-run create for the webhooks), and what it writes
    of a running pod is the kubelet's and the scheduler's part, which the validating plugins and
    no webhook of `pods` see on a cluster (status, binding)."""
    return route.stored.key == "pods" and _from_controller(request) and not request.query.get("dryRun")


def webhooks_for(request: web.Request, registry: Registry, route: Route, *operations: str):
    """A webhooks.Admitter when a configured webhook's rules match this write, else None."""
    if _running_pods_record(request, route):
        return None
    from . import webhooks

    admitter = webhooks.Admitter(registry.store, requester(request))
    probe = webhooks.Request(operations[0], route.stored, route.namespace or "", route.name or "", {},
                             subresource=route.subresource or "")
    return admitter if admitter.configured(probe, operations) else None


def judged(request: web.Request, registry: Registry, route: Route, opts: WriteOpts | DeleteOpts,
           *operations: str) -> None:
    """A client's write: the validating plugins (PodSecurity, the ValidatingAdmissionPolicies) and
    the webhooks see it."""
    opts.judged = not _running_pods_record(request, route)
    opts.webhooks = webhooks_for(request, registry, route, *operations)


async def run_write(opts: WriteOpts | DeleteOpts, work: Callable[[], T], resource: Resource | None = None) -> T:
    """A write that calls webhooks (admission, or the conversion webhook of `resource`) waits on
    them in a thread: the event loop serves the webhook's own requests and everyone else's meanwhile."""
    if opts.webhooks is not None or (resource is not None and convert.by_webhook(resource)):
        return await asyncio.to_thread(work)
    return work()


def storing(route: Route, obj: dict, opts: WriteOpts) -> dict:
    """What a write hands the registry. A custom resource its CRD's webhook converts is admitted
    (pruned, defaulted, validated) in the version the client wrote, and converted to the storage
    version after (opts.encode), as kube-apiserver encodes it; any other is stored as it comes."""
    if convert.by_webhook(route.resource):
        opts.encode = lambda o: convert.to_storage(route.resource, o)
        return obj
    return convert.to_storage(route.resource, obj)


async def converting(resource: Resource, work: Callable[[], T]) -> T:
    """Work that may ask `resource`'s conversion webhook, off the event loop when it may."""
    return await asyncio.to_thread(work) if convert.by_webhook(resource) else work()


class Handlers:
    def __init__(self, registry: Registry, hub: watching.Hub):
        self.registry, self.hub = registry, hub

    # ---- reads ------------------------------------------------------------------------------------
    async def list(self, request: web.Request, route: Route) -> web.StreamResponse:
        q = request.query
        labels = parse_labels(q.get("labelSelector"))
        fields = parse_fields(q.get("fieldSelector"), route.resource.key)
        want = negotiate.wanted(request.headers.get("Accept"), q.get("includeObject"))
        if _truthy(q.get("watch")):
            timeout = float(q.get("timeoutSeconds") or watching.DEFAULT_TIMEOUT)
            initial = q.get("sendInitialEvents")
            spec = watching.WatchSpec(route.resource, route.namespace, labels, fields,
                                      q.get("resourceVersion", ""), timeout, _truthy(q.get("allowWatchBookmarks")),
                                      None if initial is None else _truthy(initial), want)
            if spec.resource_version not in ("", "0") and not spec.resource_version.isdigit():
                raise errors.bad_request(f'invalid resource version: "{spec.resource_version}"')
            return await watching.serve(request, self.registry, self.hub, spec)
        if q.get("sendInitialEvents") is not None:
            raise errors.invalid(route.resource, "", [("sendInitialEvents", "Forbidden: sendInitialEvents is "
                                                        "forbidden for list", "FieldValueForbidden")])
        if want.form == "json" and not labels and not fields and not q.get("continue") and not _limit(request) \
                and route.stored.key == route.resource.key and convert.served_as_stored(route.resource):
            return self._list_as_stored(route)
        items, rv = self.registry.list(route.stored, route.namespace)
        items = [o for o in items if fields_match(fields, o)]
        views = await converting(route.resource, lambda: convert.to_views(route.resource, items))
        items = [v for v in views if labels_match(labels, v)]
        meta: dict = {"resourceVersion": str(rv)}
        if q.get("continue"):
            start = _decode_continue(q["continue"])
            items = [o for o in items if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > start]
        limit = _limit(request)
        if limit and len(items) > limit:
            rest = len(items) - limit
            items = items[:limit]
            last = items[-1]["metadata"]
            meta["continue"] = _encode_continue(rv, (last.get("namespace", ""), last["name"]))
            if not labels and not fields:
                meta["remainingItemCount"] = rest
        return respond(negotiate.render_list(route.resource, items, meta, want))

    def _list_as_stored(self, route: Route) -> web.Response:
        """A whole list as the client would get it from render_list, its items spliced in as the
        store holds their JSON: no decoding and encoding again of every object (as kube-apiserver
        keeps objects' serializations in its watch cache). Half of a LIST of pods' time went there."""
        raws, rv = self.registry.list_raw(route.stored, route.namespace)
        head = json.dumps({"kind": f"{route.resource.kind}List", "apiVersion": route.resource.api_version,
                           "metadata": {"resourceVersion": str(rv)}}, separators=(",", ":"))
        body = head[:-1] + ',"items":[' + ",".join(raws) + "]}"
        return web.Response(body=body.encode(), content_type="application/json")

    async def get(self, request: web.Request, route: Route) -> web.Response:
        obj = self.registry.must_get(route.stored, route.namespace, route.object_name)
        want = negotiate.wanted(request.headers.get("Accept"), request.query.get("includeObject"))
        view = await converting(route.resource, lambda: convert.to_view(route.resource, obj))
        return respond(negotiate.render_one(route.resource, view, want))

    # ---- create / update --------------------------------------------------------------------------
    async def _decode(self, request: web.Request, route: Route) -> dict:
        body = await negotiate.read_body(request)
        obj = negotiate.decode_object(body, request.headers.get("Content-Type", ""))
        negotiate.check_kind(route.resource, obj)
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            obj["metadata"] = meta = {}
        if route.resource.namespaced and route.namespace is not None:
            if meta.get("namespace") and meta["namespace"] != route.namespace:
                raise errors.bad_request("the namespace of the provided object does not match the namespace "
                                         "sent on the request")
            meta["namespace"] = route.namespace
        return obj

    async def create(self, request: web.Request, route: Route) -> web.Response:
        if route.resource.namespaced and route.namespace is None:
            raise errors.no_such_path()
        obj = await self._decode(request, route)
        opts = write_opts(request)
        check_fields(request, obj, route.resource, opts)
        judged(request, self.registry, route, opts, "CREATE")
        view = await run_write(opts, lambda: convert.to_view(route.resource, self.registry.create(
            route.stored, storing(route, obj, opts), opts)), route.resource)
        return respond(view, 201, opts.warnings)

    async def update(self, request: web.Request, route: Route) -> web.Response:
        obj = await self._decode(request, route)
        meta = obj["metadata"]
        if meta.get("name") != route.name:
            raise errors.bad_request(f"the name of the object ({meta.get('name', '')}) does not match the name "
                                     f"on the URL ({route.name})")
        opts = write_opts(request)
        check_fields(request, obj, route.resource, opts)
        new = storing(route, obj, opts)
        old = self.registry.get(route.stored, route.namespace, route.object_name)
        if old is not None and opts.encode is not None:  # admitted against the old object as the client sees it
            stored_old = old
            old = await converting(route.resource, lambda: convert.to_view(route.resource, stored_old))
        if old is None:
            if route.stored.key not in objects.CREATE_ON_UPDATE:
                raise errors.not_found(route.resource, route.object_name)
            judged(request, self.registry, route, opts, "CREATE")
            view = await run_write(opts, lambda: convert.to_view(route.resource, self.registry.create(
                route.stored, new, opts)), route.resource)
            return respond(view, 201, opts.warnings)
        rv = meta.get("resourceVersion") or None
        if rv and rv != old["metadata"].get("resourceVersion"):
            raise errors.conflict(route.resource, route.object_name)
        self.registry.prepare_update(route.stored, old, new)
        judged(request, self.registry, route, opts, "UPDATE")
        view = await run_write(opts, lambda: convert.to_view(route.resource, self.registry.update(
            route.stored, old, new, opts, expect_rv=rv)), route.resource)
        return respond(view, 200, opts.warnings)

    # ---- patch ------------------------------------------------------------------------------------
    def _patch_options(self, request: web.Request, media: str, resource: Resource | None = None) -> tuple[bool, bool]:
        types = CUSTOM_PATCH_TYPES if hasattr(resource, "crd") else PATCH_TYPES
        if media not in types:
            raise errors.unsupported_media(types)
        apply = media == APPLY_PATCH
        force = request.query.get("force")
        if apply and not request.query.get("fieldManager"):
            raise errors.ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required '
                                  "value: is required for apply patch",
                                  {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [
                                      {"reason": "FieldValueRequired", "message": "Required value: is required "
                                       "for apply patch", "field": "fieldManager"}]})
        if force is not None and not apply:
            raise errors.ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may '
                                  "not be specified for non-apply patch",
                                  {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [
                                      {"reason": "FieldValueForbidden", "message": "Forbidden: may not be "
                                       "specified for non-apply patch", "field": "force"}]})
        return apply, _truthy(force)

    async def patch(self, request: web.Request, route: Route) -> web.Response:
        media = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        apply, force = self._patch_options(request, media, route.resource)
        body = await negotiate.read_body(request)
        opts = write_opts(request)
        judged(request, self.registry, route, opts, "UPDATE", *(("CREATE",) if apply else ()))
        return await run_write(opts, lambda: self._patched(request, route, body, media, opts, apply, force),
                               route.resource)

    def _patched(self, request: web.Request, route: Route, body: bytes, media: str, opts: WriteOpts, apply: bool,
                 force: bool) -> web.Response:
        for _attempt in range(5):  # another writer between our read and write: read again, as the API server
            old = self.registry.get(route.stored, route.namespace, route.object_name)
            if old is None:
                if not apply:
                    raise errors.not_found(route.resource, route.object_name)
                return self._apply_create(request, route, body, opts, force)
            view = convert.to_view(route.resource, old)
            patched = patch_object(view, body, media, route.resource, opts.manager, force)
            self._keep_identity(route, view, patched)
            check_fields(request, patched, route.resource, opts)
            new = storing(route, patched, opts)
            if opts.encode is not None:
                old = view
            expect = new["metadata"].get("resourceVersion") or old["metadata"].get("resourceVersion")
            if expect != old["metadata"].get("resourceVersion"):
                raise errors.conflict(route.resource, route.object_name)
            self.registry.prepare_update(route.stored, old, new)
            try:
                stored = self.registry.update(route.stored, old, new, opts, expect_rv=expect, recorded=apply)
            except errors.ApiError as exc:
                if exc.reason == "Conflict" and _attempt < 4:
                    opts.warnings.clear()
                    continue
                raise
            return respond(convert.to_view(route.resource, stored), 200, opts.warnings)
        raise errors.conflict(route.resource, route.object_name)

    def _apply_create(self, request, route: Route, body: bytes, opts: WriteOpts, force: bool) -> web.Response:
        obj = patch_object(None, body, APPLY_PATCH, route.resource, opts.manager, force)
        negotiate.check_kind(route.resource, obj)
        meta = obj.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != route.name:
            raise errors.bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL "
                                     f"({route.name})")
        meta["name"] = route.name
        if route.resource.namespaced:
            if meta.get("namespace") and meta["namespace"] != route.namespace:
                raise errors.bad_request("the namespace of the provided object does not match the namespace "
                                         "sent on the request")
            meta["namespace"] = route.namespace
        check_fields(request, obj, route.resource, opts)
        stored = self.registry.create(route.stored, storing(route, obj, opts), opts, recorded=True)
        return respond(convert.to_view(route.resource, stored), 201, opts.warnings)

    @staticmethod
    def _keep_identity(route: Route, old: dict, new: dict) -> None:
        meta = new.get("metadata")
        if not isinstance(meta, dict):
            new["metadata"] = meta = {}
        for key in ("name", "namespace"):
            if meta.get(key) != old["metadata"].get(key):
                if meta.get(key):
                    raise errors.bad_request(f"the {key} of the object ({meta[key]}) does not match the {key} on "
                                             f"the URL ({old['metadata'].get(key)})")
                if old["metadata"].get(key):
                    meta[key] = old["metadata"][key]
        new["kind"], new["apiVersion"] = old.get("kind"), old.get("apiVersion")

    # ---- delete -----------------------------------------------------------------------------------
    async def delete_options(self, request: web.Request) -> DeleteOpts:
        body = await negotiate.read_body(request)
        options: dict = {}
        if body.strip():
            options = negotiate.decode_object(body, request.headers.get("Content-Type") or "application/json")
        q = request.query
        dry = q.getall("dryRun", []) or options.get("dryRun") or []
        grace = q.get("gracePeriodSeconds", options.get("gracePeriodSeconds"))
        policy = q.get("propagationPolicy") or options.get("propagationPolicy")
        orphan = q.get("orphanDependents", options.get("orphanDependents"))
        if policy is None and orphan is not None:
            policy = "Orphan" if _truthy(str(orphan)) else "Background"
        if policy not in (None, "Orphan", "Background", "Foreground"):
            raise errors.ApiError(422, "Invalid", f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: '
                                  f'Unsupported value: "{policy}": supported values: "Foreground", "Background", '
                                  f'"Orphan", "nil"', {"group": "meta.k8s.io", "kind": "DeleteOptions"})
        pre = options.get("preconditions") or {}
        try:
            grace = None if grace is None else int(grace)
        except ValueError:
            raise errors.bad_request(f'strconv.ParseInt: parsing "{grace}": invalid syntax') from None
        return DeleteOpts(dry_run=bool(dry), grace=grace, propagation=policy, uid=pre.get("uid"),
                          resource_version=pre.get("resourceVersion"))

    def _deleted_body(self, route: Route, obj: dict, gone: bool) -> tuple[dict, int]:
        if gone and route.stored.key not in objects.RETURNS_DELETED:
            return errors.success(route.resource, obj["metadata"]["name"], obj["metadata"].get("uid", "")), 200
        return convert.to_view(route.resource, obj), 200 if gone else 202

    async def delete(self, request: web.Request, route: Route) -> web.Response:
        opts = await self.delete_options(request)
        opts.user = requester(request)
        judged(request, self.registry, route, opts, "DELETE")
        body, status = await run_write(opts, lambda: self._deleted_body(route, *self.registry.delete(
            route.stored, route.namespace, route.object_name, opts)), route.resource)
        return respond(body, status)

    async def delete_collection(self, request: web.Request, route: Route) -> web.Response:
        opts = await self.delete_options(request)
        opts.user = requester(request)
        judged(request, self.registry, route, opts, "DELETE")
        return await run_write(opts, lambda: self._delete_collection(request, route, opts), route.resource)

    def _delete_collection(self, request: web.Request, route: Route, opts: DeleteOpts) -> web.Response:
        labels = parse_labels(request.query.get("labelSelector"))
        fields = parse_fields(request.query.get("fieldSelector"), route.resource.key)
        items, rv = self.registry.list(route.stored, route.namespace)
        out = []
        for obj in items:
            if not (fields_match(fields, obj) and labels_match(labels, convert.to_view(route.resource, obj))):
                continue
            meta = obj["metadata"]
            try:
                done, _ = self.registry.delete(route.stored, meta.get("namespace"), meta["name"], copy.copy(opts))
            except errors.ApiError as exc:
                if exc.code == 404:
                    continue
                raise
            out.append(convert.to_view(route.resource, done))
        return respond({"kind": f"{route.resource.kind}List", "apiVersion": route.resource.api_version,
                        "metadata": {"resourceVersion": str(self.registry.store.current_rv())}, "items": out})


def patch_object(current: dict | None, body: bytes, media: str, resource: Resource, manager: str,
                 force: bool) -> dict:
    """patch.py / apply.py, their failures turned into Status errors."""
    from . import patch as patching
    apply_mod = objects._load("apply")
    try:
        if media == APPLY_PATCH:
            ssa = objects.find_function("server_side_apply")
            if ssa is None:
                raise errors.unsupported_media([JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH])
            return ssa(copy.deepcopy(current) if current is not None else None, body, resource, manager, force)
        assert current is not None  # only an apply creates
        return patching.apply_patch(current, body, media, resource)
    except patching.PatchError as exc:
        raise errors.ApiError(exc.code, exc.reason, exc.message) from None
    except Exception as exc:
        name = type(exc).__name__
        if apply_mod is not None and name == "ApplyConflict" and hasattr(exc, "status"):
            raise errors.ApiError(409, "Conflict", exc.status.get("message", str(exc)),
                                  exc.status.get("details")) from None
        if name in ("ApplyError", "PatchError") and hasattr(exc, "code"):
            reason = getattr(exc, "reason", None) or {400: "BadRequest", 409: "Conflict", 415: "UnsupportedMediaType",
                                                      422: "Invalid"}.get(exc.code, "InternalError")
            raise errors.ApiError(exc.code, reason, getattr(exc, "message", str(exc))) from None
        raise
