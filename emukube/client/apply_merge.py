"""What `kubectl apply` leaves of a live object: the fields that neither the file nor the
previous apply (its last-applied annotation) declares.

kubectl apply patches three ways (strategicpatch.CreateThreeWayMergePatch): the file's values
replace the live ones, what only the previous apply declared is removed, and everything else on
the live object stays: `kubectl scale`'s replicas, `kubectl set env`'s variables, `kubectl
label`'s labels, `kubectl rollout restart`'s template annotation, a Job's generated selector.
emukube writes whole objects, so it gives the object it writes those live values first. Lists
merge by their schema's patch merge key (containers by name, env by name, ports by port), as the
strategic merge patch does; other lists are the file's."""

from __future__ import annotations

import copy

from ..apiserver import schema as sch
from ..apiserver.patch import patch_meta
from ..k8s.names import LAST_APPLIED as KEY
from ..k8s.resources import by_kind
from ..manifests.last_applied import declared

# emukube's own stamps (the image map's) are decided afresh by each apply.
_OWN_PREFIX = "emukube.io/"
# A Service's addresses and ports are allocated from the previous Service by emukube's planner,
# and what a new type no longer allows is dropped, as the API server's dropTypeDependentFields
# does: the plan's values stand.
_PLANNED = {"Service": frozenset({"clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "nodePort",
                                  "healthCheckNodePort", "externalTrafficPolicy", "internalTrafficPolicy",
                                  "allocateLoadBalancerNodePorts", "loadBalancerClass"})}


def _schema(obj: dict) -> dict:
    """The structural schema of a built-in kind ({} for others: their maps merge, lists are the file's)."""
    res = by_kind(str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""))
    return sch.structural(res.definition) if res is not None and sch.has(res.definition) else {}


def keep_what_apply_keeps(obj: dict, live: dict) -> None:
    """Give `obj` (a planned manifest about to replace `live`) the live metadata labels and
    annotations and spec fields that neither its own nor the live object's last apply declares."""
    # Objects handed to the Python API without the annotation declare all they hold.
    new, old = declared(obj) or obj, declared(live)
    schema = _schema(obj)
    meta, live_meta = obj.setdefault("metadata", {}), live.get("metadata") or {}
    new_meta, old_meta = _map(new.get("metadata")), _map(old.get("metadata"))
    for key in ("labels", "annotations"):
        if isinstance(live_meta.get(key), dict):
            meta[key] = _Merge(frozenset()).map(_map(meta.get(key)), live_meta[key], _map(new_meta.get(key)),
                                                _map(old_meta.get(key)), {})
    if isinstance(obj.get("spec"), dict) and isinstance(live.get("spec"), dict):
        planned = _PLANNED.get(str(obj.get("kind")), frozenset())
        obj["spec"] = _Merge(planned).map(obj["spec"], live["spec"], _map(new.get("spec")),
                                          _map(old.get("spec")), sch.field(schema, "spec") or {})


def _map(value) -> dict:
    return value if isinstance(value, dict) else {}


class _Merge:
    def __init__(self, planned: frozenset):
        self.planned = planned

    def map(self, mine: dict, live: dict, new: dict, old: dict, schema: dict, retain: bool = False) -> dict:
        """`retain`: the map's patch strategy is retainKeys (a Deployment's strategy, a volume):
        declaring it drops what it does not declare (type Recreate drops rollingUpdate)."""
        for key, value in live.items():
            if key == KEY or key.startswith(_OWN_PREFIX) or key in self.planned:
                continue
            field = sch.field(schema, key) or {}
            if key not in new:
                if key in old or retain:  # the previous apply declared it, this one does not: removed
                    continue
                # Nobody's apply declared it: it stays (beside emukube's own stamps in a map).
                if isinstance(value, dict):
                    kept = self.map(_map(mine.get(key)), value, {}, {}, field)
                    if kept:
                        mine[key] = kept
                else:
                    mine[key] = copy.deepcopy(value)
                continue
            strategy, merge_key, retains = patch_meta(field)
            if strategy == "replace":
                continue
            if isinstance(value, dict) and isinstance(mine.get(key), dict):
                mine[key] = self.map(mine[key], value, _map(new[key]), _map(old.get(key)), field, retains)
            elif isinstance(value, list) and isinstance(mine.get(key), list) and strategy == "merge":
                mine[key] = self.list(mine[key], value, new[key], old.get(key), merge_key, sch.items(field),
                                      retains)
        return mine

    def list(self, mine: list, live: list, new, old, merge_key: str, item_schema: dict, retain: bool) -> list:
        """A merging list: items matched by merge key merge as maps; live items neither apply
        declared are kept (after the file's); without a key, scalars nobody declared are kept."""
        new, old = (new if isinstance(new, list) else []), (old if isinstance(old, list) else [])
        if not merge_key:
            return mine + [v for v in live if v not in new and v not in old and v not in mine]

        def by_key(items: list) -> dict:
            return {i[merge_key]: i for i in items if isinstance(i, dict) and merge_key in i}

        live_items, new_items, old_items = by_key(live), by_key(new), by_key(old)
        out = []
        for item in mine:
            key = item.get(merge_key) if isinstance(item, dict) else None
            if key in live_items and key in new_items:
                item = self.map(item, live_items[key], _map(new_items[key]), _map(old_items.get(key)), item_schema,
                                retain)
            out.append(item)
        mine_keys = set(by_key(mine))
        out += [copy.deepcopy(v) for k, v in live_items.items()
                if k not in new_items and k not in old_items and k not in mine_keys]
        return out
