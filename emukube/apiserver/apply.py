"""Server-side apply and managedFields, after sigs.k8s.io/structured-merge-diff and apiserver's
fieldmanager, simplified: field sets are sets of paths whose elements are written as in fieldsV1
("f:spec", 'k:{"name":"web"}' for list-map items, 'v:"x"' for set items)."""

from __future__ import annotations

import copy
import json
import time

import yaml

from emukube.apiserver import schema as sch

from ..k8s.times import timestamp

# Never owned: identity and bookkeeping that the server sets (the fieldmanager's StripMeta).
_STRIPPED = {("f:apiVersion",), ("f:kind",), ("f:metadata", "f:name"), ("f:metadata", "f:namespace"),
             ("f:metadata", "f:uid"), ("f:metadata", "f:resourceVersion"), ("f:metadata", "f:generation"),
             ("f:metadata", "f:creationTimestamp"), ("f:metadata", "f:selfLink"),
             ("f:metadata", "f:managedFields"), ("f:metadata", "f:deletionTimestamp"),
             ("f:metadata", "f:deletionGracePeriodSeconds")}
# Key fields the API server defaults, so an applied item without them still names the live one.
_KEY_DEFAULTS = {"protocol": "TCP"}


class ApplyConflict(Exception):
    def __init__(self, status: dict):
        super().__init__(status["message"])
        self.status = status


class ApplyError(Exception):
    """A body that cannot be applied: .code and .message as the API server answers."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# --- field sets -------------------------------------------------------------------------------


def _list_keys(field_schema: dict) -> tuple[str, list[str]]:
    """("map", keys) / ("set", []) / ("atomic", []) for a list field; legacy patch metadata counts."""
    kind = field_schema.get("x-kubernetes-list-type")
    if kind == "map":
        return "map", list(field_schema.get("x-kubernetes-list-map-keys") or [])
    if kind in ("set", "atomic"):
        return kind, []
    if "merge" in str(field_schema.get("x-kubernetes-patch-strategy") or ""):
        key = field_schema.get("x-kubernetes-patch-merge-key")
        return ("map", [key]) if key else ("set", [])
    return "atomic", []


def _item_key(item: dict, keys: list[str]) -> str:
    values = {k: item.get(k, _KEY_DEFAULTS.get(k)) for k in sorted(keys)}
    return "k:" + json.dumps({k: v for k, v in values.items() if v is not None}, separators=(",", ":"))


def _value_key(value) -> str:
    return "v:" + json.dumps(value, separators=(",", ":"))


def field_set(obj, schema: dict, prefix: tuple = (), out: set | None = None, maps: bool = False) -> set:
    """The paths a value sets: leaves, list-map items (as members) and, with maps=True, map fields."""
    out = set() if out is None else out
    schema = sch.resolve(schema) if schema else {}
    if isinstance(obj, dict):
        atomic = schema.get("x-kubernetes-map-type") == "atomic"
        if not obj or atomic or schema.get("x-kubernetes-preserve-unknown-fields"):
            if prefix:
                out.add(prefix)
            return out
        if maps and prefix and "additionalProperties" in schema and "properties" not in schema:
            out.add(prefix)
        for key, value in obj.items():
            if value is None:
                continue
            field_set(value, sch.field(schema, key) or {}, prefix + ("f:" + key,), out, maps)
    elif isinstance(obj, list):
        kind, keys = _list_keys(schema)
        item_schema = sch.items(schema) if schema else {}
        if kind == "map" and all(isinstance(i, dict) for i in obj):
            for item in obj:
                path = prefix + (_item_key(item, keys),)
                out.add(path)
                field_set(item, item_schema, path, out, maps)
        elif kind == "set" and obj:
            out.update(prefix + (_value_key(v),) for v in obj)
        else:
            out.add(prefix)
    else:
        out.add(prefix)
    return out


def _clean(paths: set) -> set:
    return {p for p in paths if p and not any(p[:len(s)] == s for s in _STRIPPED)
            and p[0] != "f:status"}


def to_fields_v1(paths: set) -> dict:
    tree: dict = {}
    for path in sorted(paths):
        node = tree
        for element in path:
            node = node.setdefault(element, {})
        node["."] = node.get(".", {})
    return _finish(tree)


def _finish(node: dict) -> dict:
    """A member with children keeps "."; a member without children is just {}."""
    children = {k: _finish(v) for k, v in sorted(node.items()) if k != "."}
    if "." in node and children:
        return {".": {}, **children}
    return children


def from_fields_v1(tree: dict, prefix: tuple = (), out: set | None = None) -> set:
    out = set() if out is None else out
    if not tree and prefix:
        out.add(prefix)
    for key, child in (tree or {}).items():
        if key == ".":
            out.add(prefix)
        else:
            from_fields_v1(child, prefix + (key,), out)
    return out


# --- navigation -------------------------------------------------------------------------------


def _step(node, element: str):
    """(found, child) for one path element."""
    kind, _, rest = element.partition(":")
    if kind == "f" and isinstance(node, dict) and rest in node:
        return True, node[rest]
    if kind in ("k", "v") and isinstance(node, list):
        wanted = json.loads(rest)
        for item in node:
            if kind == "v" and item == wanted:
                return True, item
            if kind == "k" and isinstance(item, dict) and all(
                    item.get(k, _KEY_DEFAULTS.get(k)) == v for k, v in wanted.items()):
                return True, item
    return False, None


def _get(obj, path: tuple):
    node = obj
    for element in path:
        found, node = _step(node, element)
        if not found:
            return False, None
    return True, node


def _remove(obj, path: tuple) -> None:
    found, parent = _get(obj, path[:-1])
    if not found:
        return
    kind, _, rest = path[-1].partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif isinstance(parent, list):
        ok, item = _step(parent, path[-1])
        if ok:
            parent.remove(item)


def path_string(path: tuple) -> str:
    """fieldpath.Path's String(): .spec.containers[name="web"].image, .metadata.finalizers[="x"]."""
    out = []
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            out.append("." + rest)
        elif kind == "k":
            out.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(rest).items()) + "]")
        else:
            out.append("[=" + rest + "]")
    return "".join(out)


# --- merging ----------------------------------------------------------------------------------


def _merge(live, config, schema: dict):
    """The applied config over the live value: maps merge, list maps merge by key, sets union,
    everything else is replaced."""
    schema = sch.resolve(schema) if schema else {}
    if isinstance(live, dict) and isinstance(config, dict) and schema.get("x-kubernetes-map-type") != "atomic":
        out = dict(live)
        for key, value in config.items():
            if value is None:
                continue
            sub = sch.field(schema, key) or {}
            out[key] = _merge(live.get(key), value, sub) if key in live else copy.deepcopy(value)
        return out
    if isinstance(live, list) and isinstance(config, list):
        kind, keys = _list_keys(schema)
        if kind == "map" and all(isinstance(i, dict) for i in live + config):
            item_schema = sch.items(schema)
            merged = list(live)
            for item in config:
                element = _item_key(item, keys)
                index = next((i for i, old in enumerate(merged) if _item_key(old, keys) == element), None)
                if index is None:
                    merged.append(copy.deepcopy(item))
                else:
                    merged[index] = _merge(merged[index], item, item_schema)
            return merged
        if kind == "set":
            return live + [copy.deepcopy(v) for v in config if v not in live]
    return copy.deepcopy(config)


def _now() -> str:
    return timestamp(time.time())


def _entries(obj: dict | None) -> list[dict]:
    return [dict(e) for e in ((obj or {}).get("metadata") or {}).get("managedFields") or []]


def _entry_paths(entry: dict) -> set:
    return from_fields_v1(entry.get("fieldsV1") or {})


def _same_manager(entry: dict, manager: str, operation: str, subresource: str = "") -> bool:
    return (entry.get("manager") == manager and entry.get("operation") == operation
            and (entry.get("subresource") or "") == subresource)


def _entry(manager: str, operation: str, api_version: str, paths: set, subresource: str = "") -> dict:
    entry = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": _now(),
             "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(paths)}
    if subresource:
        entry["subresource"] = subresource
    return entry


def _with_entries(obj: dict, entries: list[dict]) -> dict:
    obj.setdefault("metadata", {})["managedFields"] = [e for e in entries if e.get("fieldsV1")]
    if not obj["metadata"]["managedFields"]:
        del obj["metadata"]["managedFields"]
    return obj


def _describe(entry: dict) -> str:
    """printManager: Update managers are named with their apiVersion, appliers by name only."""
    name = json.dumps(entry.get("manager", ""))
    if entry.get("subresource"):
        name += f" with subresource {json.dumps(entry['subresource'])}"
    if entry.get("operation") == "Update":
        name += f" using {entry.get('apiVersion', '')}"
    return name


def _conflict_status(conflicts: list[tuple[dict, tuple]], resource, name: str) -> dict:
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {_describe(entry)}: {path_string(path)}"
    else:
        by_manager: dict[str, list[str]] = {}
        for entry, path in conflicts:
            by_manager.setdefault(_describe(entry), []).append(path_string(path))
        lines = []
        for manager in sorted(by_manager):
            lines.append(f"conflicts with {manager}:")
            lines.extend(f"- {p}" for p in by_manager[manager])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    causes = [{"type": "FieldManagerConflict", "message": f"conflict with {_describe(e)}",
               "field": path_string(p)} for e, p in conflicts]
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": "Conflict", "details": {"causes": causes}, "code": 409}


def _parse(body: bytes) -> dict:
    try:
        config = yaml.safe_load(body.decode("utf-8") if isinstance(body, bytes) else body)
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ApplyError(400, f"error decoding YAML: {e}") from None
    if not isinstance(config, dict):
        raise ApplyError(400, "error decoding YAML: the applied configuration is not an object")
    if (config.get("metadata") or {}).get("managedFields") is not None:
        raise ApplyError(400, "metadata.managedFields must be nil")
    return config


def server_side_apply(current: dict | None, body: bytes, resource, manager: str, force: bool) -> dict:
    """The object after `manager` applies `body` (YAML or JSON). Raises ApplyConflict (409) when it
    would change fields other managers own, unless force."""
    config = _parse(body)
    config.pop("status", None)  # the main resource resets status; it is the status writers'
    schema = sch.for_resource(resource)
    applied = _clean(field_set(config, schema))
    entries = _entries(current)
    mine = next((e for e in entries if _same_manager(e, manager, "Apply")), None)
    others = [e for e in entries if e is not mine]
    live = copy.deepcopy(current) if current is not None else {}
    conflicts = []
    for entry in others:
        for path in sorted(applied & _entry_paths(entry)):
            if not path[-1].startswith("f:"):
                continue  # list items and set values are the same by their very key
            here, now = _get(live, path), _get(config, path)
            if here[0] and here != now:
                conflicts.append((entry, path))
    if conflicts and not force:
        raise ApplyConflict(_conflict_status(conflicts, resource, (config.get("metadata") or {}).get("name", "")))
    merged = _merge(live, config, schema) if live else copy.deepcopy(config)
    owned_by_others = set().union(*(_entry_paths(e) for e in others)) if others else set()
    # Parents first: a list item is found by its key fields, which its own removal would take away.
    for path in sorted((_entry_paths(mine) if mine else set()) - applied, key=len):
        if path not in owned_by_others:
            _remove(merged, path)
    taken = {p for _, p in conflicts}
    kept = []
    for entry in others:
        paths = _entry_paths(entry) - taken
        if paths:
            kept.append({**entry, "fieldsV1": to_fields_v1(paths)})
    merged.get("metadata", {}).pop("managedFields", None)
    new_entry = _entry(manager, "Apply", resource.api_version, applied)
    return _with_entries(merged, kept + [new_entry] if applied else kept)


def _changed(old, new, schema: dict, prefix: tuple, out: set) -> None:
    """Paths whose value `new` sets differently from `old` (with newly added maps as members)."""
    if old == new:
        return
    schema = sch.resolve(schema) if schema else {}
    if isinstance(old, dict) and isinstance(new, dict) and schema.get("x-kubernetes-map-type") != "atomic":
        for key, value in new.items():
            if value is not None:
                _changed(old.get(key), value, sch.field(schema, key) or {}, prefix + ("f:" + key,), out)
        return
    if isinstance(old, list) and isinstance(new, list):
        kind, keys = _list_keys(schema)
        if kind == "map" and all(isinstance(i, dict) for i in old + new):
            before = {_item_key(i, keys): i for i in old}
            for item in new:
                element = _item_key(item, keys)
                if element not in before:
                    out.add(prefix + (element,))
                _changed(before.get(element), item, sch.items(schema), prefix + (element,), out)
            return
    field_set(new, schema, prefix, out, maps=True)


def record_update(old: dict | None, new: dict, manager: str, operation: str, subresource: str = "") -> dict:
    """managedFields for a Create/Update/Patch: the manager owns what it changed, and others lose it;
    fields that disappeared leave every manager. `operation` Create is recorded as Update."""
    from ..k8s import resources

    resource = resources.by_kind(new.get("apiVersion", ""), new.get("kind", ""))
    schema = sch.for_resource(resource) if resource else {}
    old_body = {k: v for k, v in (old or {}).items()}
    new_body = copy.deepcopy(new)
    new_body.get("metadata", {}).pop("managedFields", None)
    if old_body.get("metadata"):
        old_body["metadata"] = {k: v for k, v in old_body["metadata"].items() if k != "managedFields"}
    changed: set = set()
    _changed(old_body if old else {}, new_body, schema, (), changed)
    changed = {p for p in _clean_for(changed, subresource)}
    present = field_set(new_body, schema, maps=True)
    entries = _entries(old)
    operation = "Update" if operation in ("Create", "Update", "Patch") else operation
    mine = next((e for e in entries if _same_manager(e, manager, operation, subresource)), None)
    kept = []
    for entry in entries:
        if entry is mine:
            continue
        paths = (_entry_paths(entry) - changed) & present
        if paths:
            kept.append({**entry, "fieldsV1": to_fields_v1(paths)})
    mine_paths = ((_entry_paths(mine) if mine else set()) & present) | changed
    if old and not changed:
        return _with_entries(new_body, entries)  # a no-op write: the entries (and times) stay as they were
    if mine_paths:
        kept.append(_entry(manager, operation, new.get("apiVersion", ""), mine_paths, subresource))
    return _with_entries(new_body, kept)


def _clean_for(paths: set, subresource: str) -> set:
    """The main resource's writers are not recorded for status, the status writers only for it."""
    stripped = {p for p in paths if p and not any(p[:len(s)] == s for s in _STRIPPED)}
    if subresource == "status":
        return {p for p in stripped if p[0] == "f:status"}
    return {p for p in stripped if p[0] != "f:status"}
