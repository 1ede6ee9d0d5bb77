"""The annotation `kubectl apply` leaves on what it applies, left by emukube's `up` and `apply` too.

kubectl apply merges three ways: the file, the live object, and this annotation (what the last
apply sent). An object written without it made a later `kubectl apply -f` of the same file warn
for each object ("missing the kubectl.kubernetes.io/last-applied-configuration annotation") and
`kubectl diff` show every one as changed. Its value is what kubectl writes (apply.go,
GetModifiedConfiguration): the document as written, namespaced ones with their namespace, the
annotation itself left out, encoded as Go's json.Marshal does (keys sorted, no spaces, <>&
escaped), then a newline. Allocated or defaulted fields are not in it, as they are not in
kubectl's: a later apply of the same file must not take them away."""

from __future__ import annotations

import copy
import json

from ..k8s.names import LAST_APPLIED as KEY
from .validate import CLUSTER_SCOPED, MAX_ANNOTATION_BYTES

_GO_ESCAPES = str.maketrans({c: f"\\u{ord(c):04x}" for c in "<>&\u2028\u2029"})


def go_json(value: object) -> str:
    """json.Marshal's encoding of decoded YAML/JSON."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.translate(_GO_ESCAPES)


def annotated(obj: dict) -> dict:
    """A copy of a validated document with the annotation kubectl apply would give it; the
    document itself when the annotation would not fit (kubectl apply fails there; the object is
    then as `kubectl create` makes it, and a later kubectl apply says so)."""
    out = copy.deepcopy(obj)
    meta = out.setdefault("metadata", {})
    if out.get("kind") not in CLUSTER_SCOPED and not meta.get("namespace"):
        meta["namespace"] = "default"
    annotations = meta.get("annotations") or {}
    annotations.pop(KEY, None)
    meta["annotations"] = annotations
    try:
        value = go_json(out) + "\n"
    except (TypeError, ValueError):  # a value JSON has no form for (YAML's !!binary)
        return obj
    # The limit as validation counts it (validate.py), so that what validated still does.
    if sum(len(k) + len(v) for k, v in annotations.items()) + len(KEY) + len(value) > MAX_ANNOTATION_BYTES:
        return obj
    annotations[KEY] = value
    return out


def declared(obj: dict) -> dict:
    """What the object's last apply sent (its annotation), {} when it has none."""
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(KEY)
    try:
        found = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
