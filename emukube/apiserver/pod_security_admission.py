"""The PodSecurity admission plugin (k8s.io/pod-security-admission, always on in kube-apiserver):
a namespace's `pod-security.kubernetes.io/enforce|warn|audit` labels name a Pod Security
Standard; a pod that breaks the enforced one is refused (403), one that breaks the warned one is
let in with a warning, and so is a workload whose template would break it. Relabelling a namespace
to a stricter level warns of the pods already there that break it. The checks are
plan/pod_security.py's; this is where they meet the request and the store."""

from __future__ import annotations

from ..k8s.resources import Resource
from ..plan import pod_security as pss
from . import errors


def _labels(store, namespace: str) -> dict:
    try:
        return (store.get("namespaces", None, namespace).get("metadata") or {}).get("labels") or {}
    except Exception:  # noqa: BLE001 - the store's NotFound: the namespace check refuses it elsewhere
        return {}


def _significant(pod: dict, old: dict) -> bool:
    """isSignificantPodUpdate: an update is judged again only when an image changed, or a
    container (or ephemeral container) came or went."""
    spec, before = pod.get("spec") or {}, old.get("spec") or {}
    for field in ("containers", "initContainers"):
        now, then = spec.get(field) or [], before.get(field) or []
        if len(now) != len(then) or any(a.get("image") != b.get("image") for a, b in zip(now, then)):
            return True
    earlier = {c.get("name"): c.get("image") for c in before.get("ephemeralContainers") or []}
    return any(earlier.get(c.get("name"), object()) != c.get("image") for c in spec.get("ephemeralContainers") or [])


def judge(op: str, res: Resource, obj: dict, old: dict | None, store, warnings: list[str]) -> None:
    """Raise the refusal, or add the warnings, of this write (pods, namespaces, workloads)."""
    if res.key == "namespaces":
        _namespace(res, obj, old, store, warnings)
        return
    template = pss.pod_spec_of({**obj, "kind": res.kind})
    if template is None or op not in ("CREATE", "UPDATE"):
        return
    meta = obj.get("metadata") or {}
    policy, _problems = pss.namespace_policy(_labels(store, meta.get("namespace") or "default"))
    metadata, spec = template
    if res.key == "pods":
        if op == "UPDATE" and old is not None and not _significant(obj, old):
            return
        level, version = policy["enforce"]
        failures = pss.checks(level, version, metadata, spec)
        if failures:
            name = meta.get("name") or meta.get("generateName") or ""
            raise errors.ApiError(403, "Forbidden", f'pods "{name}" is forbidden: '
                                  f"{pss.violation_message(level, version, failures)}",
                                  {"name": name, "kind": "pods"})
    level, version = policy["warn"]
    if failures := pss.checks(level, version, metadata, spec):
        warnings.append(pss.warning_message(level, version, failures))


def _namespace(res: Resource, obj: dict, old: dict | None, store, warnings: list[str]) -> None:
    """Labels that name no level or version are refused (a 422 of the Namespace); an enforce
    level made stricter warns of the namespace's pods that break it."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    policy, problems = pss.namespace_policy(labels)
    before, old_problems = pss.namespace_policy(((old or {}).get("metadata") or {}).get("labels") or {})
    name = (obj.get("metadata") or {}).get("name", "")
    if problems and (old is None or not old_problems or problems != old_problems):
        from .admission import causes_of, invalid_message

        raise errors.invalid(res, name, causes_of(problems), invalid_message(res, name, problems))
    if old is None or not pss.enforce_tightened(before["enforce"], policy["enforce"]):
        return
    pods, _ = store.list("pods", name)
    warnings.extend(pss.existing_pods_warnings(name, *policy["enforce"], pods))
