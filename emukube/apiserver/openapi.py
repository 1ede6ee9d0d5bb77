"""OpenAPI documents (v2 and v3 per group-version) built from the schema definitions, in
kube-openapi's shape, and the unknown-field check of fieldValidation=Strict.

kubectl reads /openapi/v3 for `explain` (it finds the kind through a path's operation with
x-kubernetes-group-version-kind, then the schema carrying the same GVK) and for --validate: a PATCH
operation of the kind that lists a `fieldValidation` parameter tells it the server checks fields
itself, so it skips client-side validation (which would need protobuf /openapi/v2). Types are single
strings (its templates compare them to "object"), and a $ref with a description sits under allOf.
Documents are built on request, one definition at a time, and only their bytes are cached.
"""

from __future__ import annotations

import hashlib
import json
import threading

from emukube.apiserver import schema as sch

from ..k8s import resources
from . import crd_openapi

_VERSION = "v1.35.0"
_FORMAT = "1"  # bump when the documents' shape changes, so clients drop their cached copies
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_EXTRA = (_META + "Status", _META + "DeleteOptions", _META + "Patch", _META + "WatchEvent")

_lock = threading.Lock()
_cache: dict[str, bytes] = {}
_file_hash: str | None = None


# --- conversion -------------------------------------------------------------------------------


def _convert(node, ref_prefix: str, v3: bool):
    if isinstance(node, list):
        return [_convert(x, ref_prefix, v3) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "type":
            value = sch.primary_type(value)
            if value is None:
                continue
        elif key == "$ref":
            value = ref_prefix + sch.ref_name(value)
        elif key == "properties":
            value = {k: _property(k, v, ref_prefix, v3) for k, v in value.items()}
        elif key == "oneOf" and not v3:
            continue  # v2 has no oneOf: IntOrString and Quantity are strings there
        else:
            value = _convert(value, ref_prefix, v3)
        out[key] = value
    if "oneOf" in node and not v3:
        out.setdefault("type", "string")
    return out


def _property(name: str, node: dict, ref_prefix: str, v3: bool) -> dict:
    node = dict(node)
    if name in ("apiVersion", "kind") and len(node.get("enum") or ()) == 1:
        del node["enum"]  # kubernetes-validate's addition; the API server's schemas have none
    converted = _convert(node, ref_prefix, v3)
    if v3 and "$ref" in converted and len(converted) > 1:
        converted = {"allOf": [{"$ref": converted.pop("$ref")}], **converted}
    if "items" in converted and isinstance(converted["items"], dict):
        items = converted["items"]
        if v3 and "$ref" in items and len(items) > 1:
            converted["items"] = {"allOf": [{"$ref": items.pop("$ref")}], **items}
    return converted


def _refs(node, found: set) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(sch.ref_name(ref))
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _schemas(roots: list[str], ref_prefix: str, v3: bool) -> str:
    """'"name": {...}, ...' for the roots and every definition they reach, serialized one by one."""
    pieces: dict[str, str] = {}
    todo = [r for r in roots if sch.has(r)]
    while todo:
        name = todo.pop()
        if name in pieces:
            continue
        raw = sch.raw(name)
        found: set = set()
        _refs(raw, found)
        pieces[name] = json.dumps(_convert(raw, ref_prefix, v3), separators=(",", ":"))
        todo.extend(n for n in found if n not in pieces and sch.has(n))
    return ",".join(json.dumps(n) + ":" + pieces[n] for n in sorted(pieces))


def _custom(served: list) -> bool:
    return any(hasattr(r, "crd") for r in served)


def _roots(served: list) -> list[str]:
    roots = []
    for r in served:
        roots += [r.definition, r.definition + "List"]
    if _custom(served):  # what the CRDs' own definitions refer to
        roots += [_META + "ObjectMeta", _META + "ListMeta"]
    return roots + list(_EXTRA)


# --- paths ------------------------------------------------------------------------------------


def _param(name: str, where: str = "query", required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "schema": {"type": "string", "uniqueItems": True}}


def _operation(r, action: str, op_id: str, ref: str, params: list[dict], body: bool = False) -> dict:
    gvk = {"group": r.group, "version": r.version, "kind": r.kind}
    op = {"operationId": op_id, "x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk,
          "tags": [r.api_version.replace("/", "_").replace(".", "")],
          "parameters": params,
          "responses": {"200": {"description": "OK",
                                "content": {"application/json": {"schema": {"$ref": ref}}}}}}
    if body:
        media = (["application/json-patch+json", "application/merge-patch+json",
                  "application/strategic-merge-patch+json", "application/apply-patch+yaml"]
                 if action == "patch" else ["application/json"])
        if hasattr(r, "crd"):  # custom resources take no strategic merge (kubectl reads this list)
            media = [m for m in media if "strategic" not in m]
        target = "#/components/schemas/" + (_META + "Patch" if action == "patch" else r.definition)
        op["requestBody"] = {"content": {m: {"schema": {"$ref": target}} for m in media}, "required": True}
    return op


def _paths(served: list) -> dict:
    write = [_param("dryRun"), _param("fieldManager"), _param("fieldValidation")]
    paths: dict = {}
    for r in served:
        base = "/api/" + r.version if not r.group else f"/apis/{r.group}/{r.version}"
        prefix = f"{base}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{base}/{r.plural}"
        scope = [_param("namespace", "path", True)] if r.namespaced else []
        suffix = ("Namespaced" if r.namespaced else "") + r.kind
        group = "".join(p.capitalize() for p in (r.group.split(".")[0], r.version) if p) or "CoreV1"
        group = group if r.group else "CoreV1"
        obj = "#/components/schemas/" + r.definition
        paths[prefix] = {
            "parameters": scope,
            "get": _operation(r, "list", f"list{group}{suffix}", obj + "List", [_param("labelSelector"),
                              _param("fieldSelector"), _param("limit"), _param("continue"), _param("watch")]),
            "post": _operation(r, "post", f"create{group}{suffix}", obj, write, body=True)}
        paths[prefix + "/{name}"] = {
            "parameters": scope + [_param("name", "path", True)],
            "get": _operation(r, "get", f"read{group}{suffix}", obj, []),
            "put": _operation(r, "put", f"replace{group}{suffix}", obj, write, body=True),
            "patch": _operation(r, "patch", f"patch{group}{suffix}", obj, write + [_param("force")], body=True),
            "delete": _operation(r, "delete", f"delete{group}{suffix}", "#/components/schemas/" + _META + "Status",
                                 [_param("gracePeriodSeconds"), _param("propagationPolicy")])}
    return paths


# --- documents --------------------------------------------------------------------------------


def _group_versions() -> dict[str, list]:
    out: dict[str, list] = {}
    for r in resources.served():
        path = f"apis/{r.group}/{r.version}" if r.group else f"api/{r.version}"
        out.setdefault(path, []).append(r)
    return out


def _cached(key: str, build) -> bytes:
    with _lock:
        if key not in _cache:
            _cache[key] = build()
        return _cache[key]


def v3(group_version_path: str) -> bytes | None:
    """The OpenAPI 3.0 document of "api/v1" or "apis/apps/v1"; None for a group-version not served."""
    served = _group_versions().get(group_version_path.strip("/"))
    if not served:
        return None

    def build() -> bytes:
        head = json.dumps({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": _VERSION},
                           "paths": _paths(served)}, separators=(",", ":"))
        body = _schemas(_roots(served), "#/components/schemas/", True)
        if _custom(served):
            body += "," + crd_openapi.serialized(served, "#/components/schemas/")
        return (head[:-1] + ',"components":{"schemas":{' + body + "}}}").encode()

    return _cached("v3:" + _versioned(group_version_path.strip("/")), build)


def _versioned(path: str) -> str:
    """A custom group-version's documents change with its CRDs: key them by the served set's generation."""
    from emukube.apiserver import crds

    if not _custom(_group_versions().get(path) or []):
        return path
    key = f"{path}@{crds.generation}"
    with _lock:
        for stale in [k for k in _cache if k.startswith(f"v3:{path}@") and k != "v3:" + key]:
            del _cache[stale]
    return key


def _hash(group_version_path: str) -> str:
    """Changes whenever the document would: the definitions file, this module's format, the path."""
    global _file_hash
    if _file_hash is None:
        _file_hash = sch.digest()
    return hashlib.sha512(f"{_file_hash}/{_FORMAT}/{_versioned(group_version_path)}".encode()).hexdigest().upper()


def v3_index() -> dict:
    return {"paths": {p: {"serverRelativeURL": f"/openapi/v3/{p}?hash={_hash(p)}"}
                      for p in _group_versions()}}


def v2() -> bytes:
    """Swagger 2.0 with the served kinds' definitions (x-kubernetes-group-version-kind included)."""
    def build() -> bytes:
        head = json.dumps({"swagger": "2.0", "info": {"title": "Kubernetes", "version": _VERSION},
                           "paths": {}}, separators=(",", ":"))
        body = _schemas(_roots(list(resources.RESOURCES)), "#/definitions/", False)
        return (head[:-1] + ',"definitions":{' + body + "}}").encode()

    return _cached("v2", build)


# --- unknown fields ---------------------------------------------------------------------------


def unknown_fields(obj: dict, resource) -> list[str]:
    """Paths of fields the schema does not know ("spec.selecter", "spec.template.spec.containers[0].imagee"),
    in document order; free-form maps and preserve-unknown-fields subtrees are never unknown."""
    out: list[str] = []
    _walk(obj, sch.for_resource(resource), "", out)
    return out


def _walk(value, schema: dict, path: str, out: list[str]) -> None:
    schema = sch.resolve(schema)
    if sch.is_free_form(schema) and not schema.get("properties"):
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        if props is None and not isinstance(extra, dict):
            return  # a scalar or untyped schema: a type error, not an unknown field
        for key, sub in value.items():
            child = f"{path}.{key}" if path else key
            if props is not None and key in props:
                _walk(sub, props[key], child, out)
            elif isinstance(extra, dict):
                _walk(sub, extra, child, out)
            elif not schema.get("x-kubernetes-preserve-unknown-fields"):
                out.append(child)
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            _walk(item, schema["items"], f"{path}[{i}]", out)
