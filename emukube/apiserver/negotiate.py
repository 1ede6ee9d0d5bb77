"""Content negotiation: what a client asked for (plain JSON, a Table, PartialObjectMetadata) and how
request bodies are read. Protobuf is never produced: clients that ask for it also accept JSON."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import yaml

from ..k8s.resources import Resource
from .errors import bad_request, too_large, unsupported_media

BODY_LIMIT = 3 * 1024 * 1024


@dataclass(frozen=True)
class Wanted:
    form: str = "json"  # "json" | "table" | "partial"
    include: str = "Metadata"  # Table rows' object: None | Metadata | Object
    group_version: str = "meta.k8s.io/v1"


def wanted(accept: str | None, include_object: str | None = None) -> Wanted:
    """The first media range in Accept that we can serve."""
    include = include_object or "Metadata"
    for item in (accept or "").split(","):
        parts = [p.strip() for p in item.split(";")]
        media = parts[0].lower()
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if media not in ("application/json", "*/*", "application/*", "application/yaml"):
            continue
        as_ = params.get("as")
        if as_ is None:
            return Wanted("json", include)
        if as_ == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
            return Wanted("table", include, "meta.k8s.io/" + params["v"])
        if as_ in ("PartialObjectMetadata", "PartialObjectMetadataList") and params.get("g") == "meta.k8s.io":
            return Wanted("partial", include)
    return Wanted("json", include)


def _tables():
    from . import tables  # written alongside; imported when first needed
    return tables


def _partial(obj: dict) -> dict:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def table(resource: Resource, objects: list[dict], want: Wanted, no_headers: bool = False) -> dict:
    try:
        return _tables().table_for(resource, objects, include_object=want.include, now=time.time(),
                                   no_headers=no_headers, group_version=want.group_version)
    except ValueError as exc:
        raise bad_request(str(exc)) from None


def render_one(resource: Resource, obj: dict, want: Wanted, no_headers: bool = False) -> dict:
    if want.form == "table":
        return table(resource, [obj], want, no_headers)
    if want.form == "partial":
        return _partial(obj)
    return obj


def render_list(resource: Resource, items: list[dict], meta: dict, want: Wanted) -> dict:
    if want.form == "table":
        out = table(resource, items, want)
        out.setdefault("metadata", {}).update(meta)
        return out
    if want.form == "partial":
        return {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                "items": [_partial(o) for o in items]}
    return {"kind": f"{resource.kind}List", "apiVersion": resource.api_version, "metadata": meta, "items": items}


async def read_body(request) -> bytes:
    length = request.content_length
    if length is not None and length > BODY_LIMIT:
        raise too_large(BODY_LIMIT)
    data = bytearray()
    async for chunk in request.content.iter_chunked(65536):
        data += chunk
        if len(data) > BODY_LIMIT:
            raise too_large(BODY_LIMIT)
    return bytes(data)


OBJECT_TYPES = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]


def decode_object(body: bytes, content_type: str) -> dict:
    """A create/update body (JSON or YAML) as a dict, or a 400/415 Status."""
    media = (content_type or "application/json").split(";")[0].strip().lower()
    if media == "application/vnd.kubernetes.protobuf":  # kubectl create's typed clients send it
        from . import protobuf
        try:
            return protobuf.decode(body)
        except (ValueError, KeyError, IndexError, UnicodeDecodeError) as exc:
            raise bad_request(f"unable to decode the protobuf body: {exc}") from None
    if media not in ("application/json", "application/yaml", "text/yaml", "application/x-yaml", ""):
        raise unsupported_media(OBJECT_TYPES)
    if not body.strip():
        raise bad_request("Object 'Kind' is missing in ''")
    try:
        obj = json.loads(body) if media == "application/json" else yaml.safe_load(body)
    except (ValueError, yaml.YAMLError) as exc:
        raise bad_request(f"couldn't get version/kind; json parse error: {exc}") from None
    if not isinstance(obj, dict):
        raise bad_request("couldn't get version/kind; json parse error: json: cannot unmarshal "
                          f"{type(obj).__name__} into Go value of type struct")
    return obj


def check_kind(resource: Resource, obj: dict, expect_kind: str | None = None, api_version: str | None = None):
    """Fill in kind/apiVersion when missing; a body of another kind is a 400 as the API server says."""
    kind, version = expect_kind or resource.kind, api_version or resource.api_version
    got_kind, got_version = obj.get("kind"), obj.get("apiVersion")
    if got_version and got_version != version:
        raise bad_request(f"the API version in the data ({got_version}) does not match the expected "
                          f"API version ({version})")
    if got_kind and got_kind != kind:
        raise bad_request(f"{got_kind} in version \"{version.split('/')[-1]}\" cannot be handled as a {kind}: "
                          f"the object provided is unrecognized (must be of type {kind})")
    obj["kind"], obj["apiVersion"] = kind, version
