"""OpenAPI definitions of custom resources, as apiextensions-apiserver's builder makes them from a
CRD version's schema: the kind (x-kubernetes-group-version-kind, ObjectMeta under metadata) and its
List. kubectl explain reads them, and kubectl's field validation looks for the PATCH operation."""

from __future__ import annotations

import copy
import json

_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_API_VERSION = ("APIVersion defines the versioned schema of this representation of an object. Servers should "
                "convert recognized schemas to the latest internal value, and may reject unrecognized values. "
                "More info: https://git.k8s.io/community/contributors/devel/sig-architecture/"
                "api-conventions.md#resources")
_KIND = ("Kind is a string value representing the REST resource this object represents. Servers may infer "
         "this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: "
         "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds")
_METADATA = ("Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/"
             "sig-architecture/api-conventions.md#metadata")


def _ref(prefix: str, name: str, description: str, v3: bool) -> dict:
    if v3:
        return {"allOf": [{"$ref": prefix + name}], "description": description}
    return {"$ref": prefix + name, "description": description}


def definitions(resource, ref_prefix: str, v3: bool = True) -> dict:
    """{definition name: schema} for a custom resource and its List."""
    gvk = {"group": resource.group, "version": resource.version}
    schema = copy.deepcopy(resource.schema or {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
    schema.setdefault("type", "object")
    props = schema.setdefault("properties", {})
    props["apiVersion"] = {"type": "string", "description": _API_VERSION}
    props["kind"] = {"type": "string", "description": _KIND}
    props["metadata"] = _ref(ref_prefix, _META + "ObjectMeta", _METADATA, v3)
    schema["x-kubernetes-group-version-kind"] = [{**gvk, "kind": resource.kind}]
    listed = {
        "description": f"{resource.kind}List is a list of {resource.kind}",
        "type": "object", "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string", "description": _API_VERSION},
            "items": {"type": "array", "description": f"List of {resource.plural}. More info: "
                      "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md",
                      "items": {"$ref": ref_prefix + resource.definition}},
            "kind": {"type": "string", "description": _KIND},
            "metadata": _ref(ref_prefix, _META + "ListMeta", "Standard list metadata. More info: "
                             "https://git.k8s.io/community/contributors/devel/sig-architecture/"
                             "api-conventions.md#types-kinds", v3)},
        "x-kubernetes-group-version-kind": [{**gvk, "kind": resource.list_kind}]}
    return {resource.definition: schema, resource.definition + "List": listed}


def serialized(served: list, ref_prefix: str, v3: bool = True) -> str:
    """'"name": {...}, ...' of the served custom resources' definitions."""
    out: dict = {}
    for r in served:
        out.update(definitions(r, ref_prefix, v3))
    return ",".join(json.dumps(n) + ":" + json.dumps(out[n], separators=(",", ":")) for n in sorted(out))
