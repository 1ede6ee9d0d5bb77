"""PATCH bodies: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and Kubernetes' strategic merge
patch, with the merge keys and strategies of the schema (semantics of apimachinery's
pkg/util/strategicpatch/patch.go, applied the way the API server does: parallel deletion lists are
honoured and nulls for absent fields are dropped)."""

from __future__ import annotations

import copy
import json

import jsonpatch
import jsonpointer

from emukube.apiserver import schema as sch

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList"
SET_ORDER = "$setElementOrder"

_REASONS = {400: "BadRequest", 409: "Conflict", 415: "UnsupportedMediaType", 422: "Invalid",
            500: "InternalError"}


class PatchError(Exception):
    """A patch the API server would refuse: .code and .message as it answers them."""

    def __init__(self, code: int, message: str, reason: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or _REASONS.get(code, "BadRequest")


class _SMPError(Exception):
    """An error inside the strategic merge; mapped to a status like the API server's
    interpretStrategicMergePatchError (a few to 400/422, the rest become internal errors)."""

    def __init__(self, message: str, code: int = 500):
        super().__init__(message)
        self.code = code


def apply_patch(current: dict, body: bytes, content_type: str, resource) -> dict:
    """The object after the patch; `current` is not modified."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == JSON_PATCH:
        return _json_patch(current, body)
    if media == MERGE_PATCH:
        return merge_patch(copy.deepcopy(current), _decode(body, "Invalid JSON Patch"))
    if media == STRATEGIC_PATCH:
        patch = _decode(body, None)
        if not isinstance(patch, dict):
            raise PatchError(400, f"json: cannot unmarshal {_go_kind(patch)} into Go value of type "
                                  "map[string]interface {}")
        try:
            return strategic_merge(copy.deepcopy(current), patch, sch.for_resource(resource))
        except _SMPError as e:
            if e.code == 500:
                raise PatchError(500, f"Internal error occurred: {e}") from None
            if e.code == 422:
                raise PatchError(422, "the server rejected our request due to an error in our request") from None
            raise PatchError(e.code, str(e)) from None
    raise PatchError(415, f'the body of the request was in an unknown format - accepted media types include: '
                          f'{JSON_PATCH}, {MERGE_PATCH}, {STRATEGIC_PATCH}, application/apply-patch+yaml')


def _decode(body: bytes, message: str | None):
    try:
        return json.loads(body or b"null")
    except ValueError as e:
        # Go's encoding/json words it differently; the code is what clients act on.
        raise PatchError(400, message or f"invalid character in patch: {e}") from None


def _go_kind(value) -> str:
    return {list: "array", str: "string", bool: "bool", type(None): "null"}.get(type(value), "number")


def _json_patch(current: dict, body: bytes) -> dict:
    ops = _decode(body, None)
    if not isinstance(ops, list):
        raise PatchError(400, f"json: cannot unmarshal {_go_kind(ops)} into Go value of type jsonpatch.Patch")
    if len(ops) > 10000:
        raise PatchError(413, f"The allowed maximum operations in a JSON patch is 10000, got {len(ops)}",
                         "RequestEntityTooLarge")
    try:
        return jsonpatch.JsonPatch(ops).apply(current, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, KeyError, IndexError,
            TypeError, ValueError):
        # A failed "test" or a missing path: the API server answers a generic 422.
        raise PatchError(422, "the server rejected our request due to an error in our request") from None


def merge_patch(target, patch):
    """RFC 7386: objects merge, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = merge_patch(target.get(key), value)
    return target


# --- strategic merge patch -------------------------------------------------------------------


def patch_meta(field_schema: dict | None) -> tuple[str, str, bool]:
    """(strategy, merge key, retainKeys) of a field, from its x-kubernetes-patch-* extensions."""
    if not field_schema:
        return "", "", False
    strategies = [s for s in str(field_schema.get("x-kubernetes-patch-strategy") or "").split(",") if s]
    retain = "retainKeys" in strategies
    other = next((s for s in strategies if s != "retainKeys"), "")
    return other, field_schema.get("x-kubernetes-patch-merge-key") or "", retain


def strategic_merge(original: dict | None, patch: dict, schema: dict) -> dict:
    """mergeMap: `patch` into `original` (both may be modified)."""
    if DIRECTIVE in patch:
        directive = patch[DIRECTIVE]
        if directive == "replace":
            return {k: v for k, v in patch.items() if k != DIRECTIVE}
        if directive == "delete":
            return {}
        raise _SMPError(f"unknown patch type: {directive} in map: {_go(patch)}")
    if original is None:
        original = {}
    _retain_keys(original, patch)
    _set_element_orders(original, patch, schema)
    for key, value in list(patch.items()):
        delete_list = False
        if key.startswith(DELETE_PRIMITIVE):
            key = _directive_key(key, DELETE_PRIMITIVE, "invalid patch format of primitive list")
            delete_list = True
        if value is None:
            original.pop(key, None)
            continue
        field_schema = sch.field(schema, key) if schema else None
        if key not in original:
            if not delete_list:
                original[key] = _without_directives(value)
            continue
        strategy, merge_key, _ = patch_meta(field_schema)
        old = original[key]
        if isinstance(old, dict) and isinstance(value, dict):
            original[key] = value if strategy == "replace" else strategic_merge(old, value, field_schema or {})
        elif isinstance(old, list) and isinstance(value, list):
            if strategy == "merge":
                original[key] = _merge_list(old, value, sch.items(field_schema or {}), merge_key, delete_list)
            else:
                original[key] = value
        else:
            original[key] = value
    return original


def _directive_key(key: str, prefix: str, error: str) -> str:
    head, sep, rest = key.partition("/")
    if head != prefix or not sep:
        raise _SMPError(error, 400)
    return rest


def _without_directives(value):
    """A patch value for a field the original lacks: nulls dropped (as IgnoreUnmatchedNulls does)."""
    if isinstance(value, dict):
        if value.get(DIRECTIVE) == "replace":
            value = {k: v for k, v in value.items() if k != DIRECTIVE}
        return {k: _without_directives(v) for k, v in value.items()
                if v is not None and not k.startswith(("$retainKeys", SET_ORDER, DELETE_PRIMITIVE))}
    if isinstance(value, list):
        return [_without_directives(v) for v in value
                if not (isinstance(v, dict) and v.get(DIRECTIVE) == "delete")]
    return value


def _retain_keys(original: dict, patch: dict) -> None:
    if RETAIN_KEYS not in patch:
        return
    keep = patch.pop(RETAIN_KEYS)
    if not isinstance(keep, list):
        raise _SMPError("invalid patch format of retainKeys", 400)
    for key, value in patch.items():
        if value is None or key.startswith((DELETE_PRIMITIVE, SET_ORDER)):
            continue
        if key not in keep:
            raise _SMPError("invalid patch format of retainKeys", 400)
    for key in [k for k in original if k not in keep]:
        del original[key]


def _set_element_orders(original: dict, patch: dict, schema: dict) -> None:
    """$setElementOrder/<list>: merge that list now and order it as the directive says."""
    for key in [k for k in patch if k.startswith(SET_ORDER)]:
        order = patch.pop(key)
        name = _directive_key(key, SET_ORDER, "invalid patch format of setElementOrder list")
        if not isinstance(order, list):
            raise _SMPError("invalid patch format of setElementOrder list", 400)
        field_schema = sch.field(schema, name) if schema else None
        strategy, merge_key, _ = patch_meta(field_schema)
        old, new = original.get(name), patch.get(name)
        if old is None and new is None:
            continue
        if old is not None and new is not None:
            if not isinstance(old, list) or not isinstance(new, list):
                raise _SMPError("invalid patch format of setElementOrder list", 400)
            if strategy == "merge":
                merged = _merge_list(old, new, sch.items(field_schema or {}), merge_key, False)
            else:
                merged = new
        else:
            merged = old if old is not None else _without_directives(new)
        patch.pop(name, None)
        in_order, server_only = _partition(merged, order, merge_key)
        original[name] = _normalize(in_order, server_only, order, old or [], merge_key)


def _merge_list(original: list, patch: list, item_schema: dict, merge_key: str, delete_list: bool) -> list:
    """mergeSlice: scalars are unioned (or removed with a deletion list), maps merge by key."""
    if not original and not patch:
        return original
    kinds = {type(v) for v in original + patch}
    if list in kinds:
        raise _SMPError("lists of lists are not supported", 422)
    if dict not in kinds:
        if delete_list:
            gone = _hashable_set(patch)
            return [v for v in original if _hashable(v) not in gone]
        merged = _dedupe(original + patch)
    else:
        if not merge_key:
            raise _SMPError("cannot merge lists without merge key for type map")
        original, patch = _special_elements(original, patch, merge_key)
        merged = _merge_by_key(original, patch, merge_key, item_schema)
    in_patch, server_only = _partition(merged, patch, merge_key if dict in kinds else "")
    return _normalize(in_patch, server_only, patch, original, merge_key if dict in kinds else "")


def _special_elements(original: list, patch: list, key: str) -> tuple[list, list]:
    plain, replace = [], False
    for item in patch:
        if not isinstance(item, dict):
            raise _SMPError(f"value for key {key} is not a map.")
        directive = item.get(DIRECTIVE)
        if directive is None:
            plain.append(item)
        elif directive == "delete":
            if key not in item:
                raise _SMPError(f"map: {_go(item)} does not contain declared merge key: {key}")
            original = [o for o in original if not (isinstance(o, dict) and o.get(key) == item[key])]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise _SMPError("merging lists cannot yet be specified in the patch")
        else:
            raise _SMPError(f"unknown patch type: {directive} in map: {_go(item)}")
    return (plain, []) if replace else (original, plain)


def _merge_by_key(original: list, patch: list, key: str, item_schema: dict) -> list:
    original = list(original)
    for item in patch:
        if key not in item:
            raise _SMPError(f"map: {_go(item)} does not contain declared merge key: {key}")
        for i, old in enumerate(original):
            if not isinstance(old, dict):
                raise _SMPError(f"value for key {i} is not a map.")
            if key in old and old[key] == item[key]:
                original[i] = strategic_merge(old, item, item_schema)
                break
        else:
            original.append(_without_directives(item))
    return original


def _identity(item, merge_key: str):
    return _hashable(item.get(merge_key) if merge_key and isinstance(item, dict) else item)


def _partition(items: list, by: list, merge_key: str) -> tuple[list, list]:
    present = {_identity(v, merge_key) for v in by}
    inside = [v for v in items if _identity(v, merge_key) in present]
    outside = [v for v in items if _identity(v, merge_key) not in present]
    return inside, outside


def _normalize(in_patch: list, server_only: list, patch_order: list, server_order: list, merge_key: str) -> list:
    """normalizeElementOrder: patch items in the patch's order, server-only items in the server's,
    interleaved where the server's order places them."""
    def sort_by(items, order):
        index = {}
        for i, v in enumerate(order):
            index.setdefault(_identity(v, merge_key), i)
        return sorted(items, key=lambda v: index.get(_identity(v, merge_key), len(order)))

    left, right = sort_by(server_only, server_order), sort_by(in_patch, patch_order)
    server_index: dict[object, int] = {}
    for i, v in enumerate(server_order):
        server_index.setdefault(_identity(v, merge_key), i)
    out, i, j = [], 0, 0
    while i < len(left) or j < len(right):
        if j >= len(right):
            out.append(left[i])
            i += 1
        elif i >= len(left):
            out.append(right[j])
            j += 1
        else:
            li = server_index.get(_identity(left[i], merge_key))
            ri = server_index.get(_identity(right[j], merge_key))
            if li is not None and ri is not None and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def _hashable(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bool) or value is None:
        return (type(value).__name__, value)
    return value


def _hashable_set(values: list) -> set:
    return {_hashable(v) for v in values}


def _dedupe(values: list) -> list:
    seen, out = set(), []
    for v in values:
        h = _hashable(v)
        if h not in seen:
            seen.add(h)
            out.append(v)
    return out


def _go(value) -> str:
    """Go's %v of a decoded JSON value (map[k:v] with sorted keys), for error texts."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
