"""Deployment, StatefulSet, ReplicaSet and DaemonSet status, and the ReplicaSets a Deployment owns, as
Kubernetes' controllers write them. Pure: from the workload and the v1 Pods publish_pods made.

Rules read from kubernetes' pkg/controller/deployment (sync.go calculateStatus,
progress.go syncRolloutStatus, util/deployment_util.go), pkg/controller/statefulset
(stateful_set_control.go) and pkg/controller/replicaset; kubectl's rollout_status.go reads
the fields these produce. Times come from the previous status or the pods' Ready conditions;
`now` stamps only a condition that changed, so an unchanged workload gives an equal dict.
"""

from __future__ import annotations

import copy

from ..k8s.names import LAST_APPLIED
from ..k8s.times import epoch as _seconds
from ..plan.daemonsets import should_run
from ..plan.nodes import Node
from ..plan.workloads import owned_by, rollout_limits, template_hash

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX = "deployment.kubernetes.io/max-replicas"
# Deployment annotations the deployment controller does not copy onto its ReplicaSets.
NOT_COPIED = {LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED, MAX,
              "deprecated.deployment.rollback.to"}
PROGRESS_DEADLINE = 600  # progressDeadlineSeconds' default
HISTORY_LIMIT = 10  # revisionHistoryLimit's default


# ---- reading pods --------------------------------------------------------------------------
def _controller(pod: dict) -> tuple[str, str]:
    for ref in pod.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("kind", ""), ref.get("name", "")
    return "", ""


def _labels(pod: dict) -> dict:
    return pod.get("metadata", {}).get("labels") or {}


def owned_pods(workload: dict, pods: list[dict]) -> list[dict]:
    """The workload's pods in its namespace, by controller reference; a Deployment's through
    its ReplicaSets (<deployment>-<pod-template-hash>)."""
    meta = workload["metadata"]
    ns, name, kind = meta.get("namespace", "default"), meta["name"], workload["kind"]
    out = []
    for pod in pods:
        if pod.get("metadata", {}).get("namespace", "default") != ns:
            continue
        ref_kind, ref_name = _controller(pod)
        if kind == "Deployment":
            mine = ref_kind == "ReplicaSet" and ref_name == f"{name}-{_labels(pod).get('pod-template-hash')}"
        else:
            mine = (ref_kind, ref_name) == (kind, name)
        if mine:
            out.append(pod)
    return out


def active(pods: list[dict]) -> list[dict]:
    """FilterActivePods: not being deleted, not ended."""
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]


def _ready_since(pod: dict) -> str | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return (cond.get("lastTransitionTime") or "") if cond.get("status") == "True" else None
    return None


def is_ready(pod: dict) -> bool:
    return _ready_since(pod) is not None


def is_available(pod: dict, min_ready: int, now: str) -> bool:
    """Ready for at least minReadySeconds (IsPodAvailable)."""
    since = _ready_since(pod)
    if since is None:
        return False
    return min_ready <= 0 or (bool(since) and _seconds(since) + min_ready <= _seconds(now))


def _counts(pods: list[dict], min_ready: int, now: str) -> tuple[int, int]:
    return sum(map(is_ready, pods)), sum(is_available(p, min_ready, now) for p in pods)


def _nonzero(status: dict, keep: tuple[str, ...] = ()) -> dict:
    """Drop zero counts and empty strings, as Go's omitempty does (but for `keep`)."""
    return {k: v for k, v in status.items() if k in keep or v not in (0, "", None, [])}


# ---- conditions ----------------------------------------------------------------------------
def _find(conds: list[dict], kind: str) -> dict | None:
    return next((c for c in conds if c.get("type") == kind), None)


def set_condition(conds: list[dict], kind: str, status: str, reason: str, message: str, now: str) -> None:
    """SetDeploymentCondition: the same status and reason leave the condition alone; the same
    status keeps lastTransitionTime; a changed condition moves to the end of the list."""
    current = _find(conds, kind)
    if current is not None and current.get("status") == status and current.get("reason") == reason:
        return
    new = {"type": kind, "status": status, "lastUpdateTime": now, "lastTransitionTime": now,
           "reason": reason, "message": message}
    if current is not None and current.get("status") == status:
        new["lastTransitionTime"] = current.get("lastTransitionTime", now)
    conds[:] = [c for c in conds if c.get("type") != kind] + [new]


def max_unavailable(deploy: dict) -> int:
    spec = deploy["spec"]
    replicas = spec.get("replicas", 1)
    if (spec.get("strategy") or {}).get("type", "RollingUpdate") != "RollingUpdate" or replicas == 0:
        return 0
    return min(rollout_limits(deploy)[1], replicas)


def _progressing(old: dict, new: dict) -> bool:
    """DeploymentProgressing: more updated, ready or available pods, or fewer old ones."""
    old_old = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_old = new.get("replicas", 0) - new.get("updatedReplicas", 0)
    return (new.get("updatedReplicas", 0) > old.get("updatedReplicas", 0) or new_old < old_old
            or new.get("readyReplicas", 0) > old.get("readyReplicas", 0)
            or new.get("availableReplicas", 0) > old.get("availableReplicas", 0))


def _complete(deploy: dict, new: dict) -> bool:
    """DeploymentComplete: every replica updated and available, no old pod left."""
    want = deploy["spec"].get("replicas", 1)
    return (new.get("updatedReplicas", 0) == want and new.get("replicas", 0) == want
            and new.get("availableReplicas", 0) == want
            and new.get("observedGeneration", 0) >= deploy["metadata"].get("generation", 1))


def _rollout_condition(deploy: dict, conds: list[dict], old: dict, new: dict, rs_name: str, now: str) -> None:
    """The Progressing condition as getNewReplicaSet and syncRolloutStatus leave it."""
    deadline = deploy["spec"].get("progressDeadlineSeconds", PROGRESS_DEADLINE)
    if deadline is None:
        conds[:] = [c for c in conds if c.get("type") != "Progressing"]
        return
    current = _find(conds, "Progressing")
    if current is None or f'"{rs_name}"' not in current.get("message", ""):
        # A template not rolled out before: its ReplicaSet is created now.
        set_condition(conds, "Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{rs_name}"', now)
    current = _find(conds, "Progressing")
    assert current is not None  # set just above when it was missing
    if new.get("replicas") == new.get("updatedReplicas") and current.get("reason") == "NewReplicaSetAvailable":
        return  # a finished rollout: nothing to estimate
    if _complete(deploy, new):
        set_condition(conds, "Progressing", "True", "NewReplicaSetAvailable",
                      f'ReplicaSet "{rs_name}" has successfully progressed.', now)
    elif _progressing(old, new):
        since = current["lastTransitionTime"] if current.get("status") == "True" else now
        conds[:] = [c for c in conds if c.get("type") != "Progressing"] + [{
            "type": "Progressing", "status": "True", "lastUpdateTime": now, "lastTransitionTime": since,
            "reason": "ReplicaSetUpdated", "message": f'ReplicaSet "{rs_name}" is progressing.'}]
    elif current.get("reason") == "ProgressDeadlineExceeded" or \
            _seconds(current.get("lastUpdateTime")) + deadline < _seconds(now):
        set_condition(conds, "Progressing", "False", "ProgressDeadlineExceeded",
                      f'ReplicaSet "{rs_name}" has timed out progressing.', now)


def _paused_condition(deploy: dict, conds: list[dict], now: str) -> bool:
    """checkPausedConditions: Progressing is Unknown while paused (unless it had timed out), and
    says so once when resumed. True while paused: no rollout progress is reckoned."""
    if deploy["spec"].get("progressDeadlineSeconds", PROGRESS_DEADLINE) is None:
        return bool(deploy["spec"].get("paused"))
    current = _find(conds, "Progressing") or {}
    if deploy["spec"].get("paused"):
        if current.get("reason") not in ("ProgressDeadlineExceeded", "DeploymentPaused"):
            set_condition(conds, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", now)
        return True
    if current.get("reason") == "DeploymentPaused":
        set_condition(conds, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", now)
    return False


# ---- status --------------------------------------------------------------------------------
def deployment_status(deploy: dict, pods: list[dict], now: str, previous: dict | None = None,
                      observed_generation: int | None = None) -> dict:
    """calculateStatus + syncRolloutStatus. The current ReplicaSet wants spec.replicas and an
    old one its remaining pods (see replica_set_objects), which unavailableReplicas counts."""
    spec, name = deploy["spec"], deploy["metadata"]["name"]
    want, current = spec.get("replicas", 1), template_hash(spec["template"])
    mine = active(owned_pods(deploy, pods))
    new = [p for p in mine if _labels(p).get("pod-template-hash") == current]
    ready, available = _counts(mine, spec.get("minReadySeconds", 0), now)
    generation = deploy["metadata"].get("generation", 1) if observed_generation is None else observed_generation
    status = {"observedGeneration": generation, "replicas": len(mine), "updatedReplicas": len(new),
              "readyReplicas": ready, "availableReplicas": available,
              "unavailableReplicas": max(0, want + len(mine) - len(new) - available)}
    old = previous or {}
    conds = copy.deepcopy(old.get("conditions") or [])
    if available >= want - max_unavailable(deploy):
        set_condition(conds, "Available", "True", "MinimumReplicasAvailable",
                      "Deployment has minimum availability.", now)
    else:
        set_condition(conds, "Available", "False", "MinimumReplicasUnavailable",
                      "Deployment does not have minimum availability.", now)
    if not _paused_condition(deploy, conds, now):
        _rollout_condition(deploy, conds, old, status, f"{name}-{current}", now)
    status = _nonzero(status)
    if conds:
        status["conditions"] = conds
    return status


def replicaset_status(rs: dict, pods: list[dict], now: str, observed_generation: int | None = None) -> dict:
    """The ReplicaSet controller's status: pods, fully labelled, ready, available."""
    mine = active(owned_pods(rs, pods))
    labels = ((rs["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
    ready, available = _counts(mine, rs["spec"].get("minReadySeconds", 0), now)
    full = sum(all(_labels(p).get(k) == v for k, v in labels.items()) for p in mine)
    generation = rs["metadata"].get("generation", 1) if observed_generation is None else observed_generation
    return _nonzero({"replicas": len(mine), "fullyLabeledReplicas": full, "readyReplicas": ready,
                     "availableReplicas": available, "observedGeneration": generation}, keep=("replicas",))


def _revision_of(pod: dict) -> str:
    return _labels(pod).get("controller-revision-hash", "")


def statefulset_status(sts: dict, pods: list[dict], now: str, previous: dict | None = None,
                       observed_generation: int | None = None) -> dict:
    """updateStatefulSetStatus: currentRevision stays until every pod is updated and ready
    (RollingUpdate), then becomes updateRevision."""
    spec, name = sts["spec"], sts["metadata"]["name"]
    mine = active(owned_pods(sts, pods))
    update = f"{name}-{template_hash(spec['template'])}"
    current = (previous or {}).get("currentRevision")
    if not current:  # first publication: the revision the other pods have, if any
        others = [r for r in map(_revision_of, mine) if r and r != update]
        current = max(sorted(set(others)), key=others.count) if others else update
    ready, available = _counts(mine, spec.get("minReadySeconds", 0), now)
    updated = sum(_revision_of(p) == update for p in mine)
    rolling = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
    if rolling and updated == len(mine) and ready == len(mine):
        current = update
    generation = sts["metadata"].get("generation", 1) if observed_generation is None else observed_generation
    status = {"observedGeneration": generation, "replicas": len(mine), "readyReplicas": ready,
              "currentReplicas": sum(_revision_of(p) == current for p in mine), "updatedReplicas": updated,
              "currentRevision": current, "updateRevision": update, "availableReplicas": available}
    return _nonzero(status, keep=("replicas", "availableReplicas"))


def daemonset_status(ds: dict, pods: list[dict], nodes: list[Node], now: str,
                     observed_generation: int | None = None) -> dict:
    """updateDaemonSetStatus: per node that should run the daemon, its oldest pod counted
    (scheduled, ready, available, updated); pods on the other nodes are misscheduled."""
    spec = ds["spec"]
    thash = template_hash(spec["template"])
    on: dict[str, list[dict]] = {}
    for pod in sorted(active(owned_pods(ds, pods)), key=lambda p: p["metadata"].get("creationTimestamp") or "~"):
        on.setdefault((pod.get("spec") or {}).get("nodeName") or "", []).append(pod)
    counts = dict.fromkeys(("desired", "current", "ready", "available", "updated", "misscheduled"), 0)
    for node in nodes:
        run, _ = should_run((spec["template"] or {}).get("spec") or {}, node)
        mine = on.get(node.name, [])
        if not run:
            counts["misscheduled"] += bool(mine)
            continue
        counts["desired"] += 1
        if not mine:
            continue
        counts["current"] += 1
        counts["ready"] += is_ready(mine[0])
        counts["available"] += is_available(mine[0], spec.get("minReadySeconds", 0), now)
        counts["updated"] += _revision_of(mine[0]) == thash
    generation = ds["metadata"].get("generation", 1) if observed_generation is None else observed_generation
    status = {"currentNumberScheduled": counts["current"], "numberMisscheduled": counts["misscheduled"],
              "desiredNumberScheduled": counts["desired"], "numberReady": counts["ready"],
              "observedGeneration": generation, "updatedNumberScheduled": counts["updated"],
              "numberAvailable": counts["available"], "numberUnavailable": counts["desired"] - counts["available"]}
    return _nonzero(status, keep=("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled",
                                  "numberReady"))


def workload_status(workload: dict, pods: list[dict], now: str, previous: dict | None = None,
                    observed_generation: int | None = None, nodes: list[Node] | None = None) -> dict:
    """The status of a Deployment, StatefulSet, ReplicaSet or DaemonSet from the v1 Pods
    (pod_object's) of its namespace; `previous` is its status as last published."""
    kind = workload["kind"]
    if kind == "DaemonSet":
        return daemonset_status(workload, pods, nodes or [], now, observed_generation)
    if kind == "Deployment":
        return deployment_status(workload, pods, now, previous, observed_generation)
    if kind == "StatefulSet":
        return statefulset_status(workload, pods, now, previous, observed_generation)
    if kind in ("ReplicaSet", "ReplicationController"):
        return replicaset_status(workload, pods, now, observed_generation)
    raise ValueError(f"no status for kind {kind}")


# ---- a Deployment's ReplicaSets ------------------------------------------------------------
def _template_from_pod(pod: dict) -> dict:
    """An old template no ReplicaSet was published for (the controller was replaced): the
    pod's labels and spec are what it was made from."""
    meta = pod.get("metadata", {})
    spec = {k: v for k, v in (pod.get("spec") or {}).items() if k != "nodeName"}
    template_meta = {"labels": dict(meta.get("labels") or {})}
    if meta.get("annotations"):
        template_meta["annotations"] = dict(meta["annotations"])
    return {"metadata": template_meta, "spec": copy.deepcopy(spec)}


def _with_hash(template: dict, thash: str) -> dict:
    template = copy.deepcopy(template)
    meta = template.setdefault("metadata", {})
    meta["labels"] = {**(meta.get("labels") or {}), "pod-template-hash": thash}
    return template


def _revisions(previous: dict[str, dict], pods: list[dict], current: str) -> tuple[dict[str, int], str]:
    """Revision per template hash: kept from the published ReplicaSets; a template seen for the
    first time gets the next number, oldest pods first; the current template always holds the
    highest (a rollback renumbers it, and its old number goes to revision-history)."""
    revisions = {h: int((rs["metadata"].get("annotations") or {}).get(REVISION, "0") or 0)
                 for h, rs in previous.items()}
    top = max(revisions.values(), default=0)
    unseen: dict[str, str] = {}
    for pod in sorted(pods, key=lambda p: p["metadata"].get("creationTimestamp") or ""):
        unseen.setdefault(_labels(pod).get("pod-template-hash", ""), "")
    for thash in [h for h in unseen if h and h not in revisions and h != current]:
        top += 1
        revisions[thash] = top
    history = ""
    if current not in revisions:
        revisions[current] = top + 1
    elif revisions[current] != top:
        history = str(revisions[current])
        revisions[current] = top + 1
    return revisions, history


def replica_set_objects(deploy: dict, pods: list[dict], previous: list[dict], now: str = "") -> list[dict]:
    """The ReplicaSets the Deployment owns: one per template hash seen (published before, or
    among its pods), named <deployment>-<pod-template-hash>. The current one wants
    spec.replicas (during a rollout, as many as it has pods so far); an old one its pods still
    running (0 once they are gone), and old empty ones beyond revisionHistoryLimit are dropped,
    oldest revision first."""
    meta, spec = deploy["metadata"], deploy["spec"]
    current = template_hash(spec["template"])
    want = spec.get("replicas", 1)
    mine = owned_pods(deploy, pods)
    prev = {(rs["metadata"].get("labels") or {}).get("pod-template-hash", ""): rs for rs in previous
            if owned_by(rs, deploy)}
    revisions, history = _revisions(prev, mine, current)
    rolling = (spec.get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
    surge = rollout_limits(deploy)[0] if rolling else 0
    copied = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in NOT_COPIED}
    out = []
    for thash, revision in sorted(revisions.items(), key=lambda kv: kv[1]):
        live = active([p for p in mine if _labels(p).get("pod-template-hash") == thash])
        old_rs = prev.get(thash)
        if thash == current:
            # Mid-rollout the deployment controller grows the new ReplicaSet a step at a time (within
            # maxSurge) and its pods follow; emukube's loop makes the pods, so the count follows them.
            rolling_out = any(_labels(p).get("pod-template-hash") != current for p in active(mine))
            template, replicas = spec["template"], min(want, len(live)) if rolling_out else want
            annotations = {**((old_rs or {}).get("metadata", {}).get("annotations") or {}), **copied}
            if history:
                earlier = annotations.get(REVISION_HISTORY)
                annotations[REVISION_HISTORY] = f"{earlier},{history}" if earlier else history
        else:
            some = next(iter(p for p in mine if _labels(p).get("pod-template-hash") == thash), None)
            template = (old_rs or {}).get("spec", {}).get("template") or _template_from_pod(some or {})
            replicas = len(live)
            annotations = dict((old_rs or {}).get("metadata", {}).get("annotations") or {})
        annotations.update({DESIRED: str(want), MAX: str(want + surge), REVISION: str(revision)})
        out.append(_replica_set(deploy, thash, template, replicas, annotations, old_rs, mine, now))
    empty = [rs for rs in out if rs["spec"]["replicas"] == 0 and rs["status"]["replicas"] == 0
             and rs["metadata"]["labels"]["pod-template-hash"] != current]
    limit = spec.get("revisionHistoryLimit", HISTORY_LIMIT)
    dropped = {id(rs) for rs in empty[:max(0, len(empty) - limit)]}
    return [rs for rs in out if id(rs) not in dropped]


def _replica_set(deploy: dict, thash: str, template: dict, replicas: int, annotations: dict,
                 old_rs: dict | None, pods: list[dict], now: str) -> dict:
    meta, spec = deploy["metadata"], deploy["spec"]
    template = _with_hash(template, thash)
    selector = copy.deepcopy(spec.get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), "pod-template-hash": thash}
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"]}
    if meta.get("uid"):
        ref["uid"] = meta["uid"]
    ref.update(controller=True, blockOwnerDeletion=True)
    rs_meta = {"name": f"{meta['name']}-{thash}", "namespace": meta.get("namespace", "default"),
               "labels": dict(template["metadata"]["labels"]), "annotations": annotations,
               "ownerReferences": [ref]}
    rs_spec = {"replicas": replicas, "selector": selector, "template": template}
    if spec.get("minReadySeconds"):
        rs_spec["minReadySeconds"] = spec["minReadySeconds"]
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": rs_meta, "spec": rs_spec}
    generation = ((old_rs or {}).get("metadata") or {}).get("generation", 1)
    rs["status"] = replicaset_status(rs, pods, now, generation)
    return rs


def deployment_revision(replica_sets: list[dict]) -> str:
    """The Deployment's own deployment.kubernetes.io/revision: its newest ReplicaSet's."""
    top = max((int((rs["metadata"].get("annotations") or {}).get(REVISION, "0")) for rs in replica_sets), default=0)
    return str(top) if top else ""


# ---- a StatefulSet's ControllerRevisions ---------------------------------------------------
def controller_revisions(sts: dict, pods: list[dict], previous: list[dict]) -> list[dict]:
    """The StatefulSet's or DaemonSet's history as its controller keeps it, read by `kubectl
    rollout history|undo statefulset/NAME`: one ControllerRevision per template, named
    <set>-<hash> (a StatefulSet's pods carry that name as controller-revision-hash, a
    DaemonSet's the hash alone), the current one with the highest revision (a rollback
    renumbers it). Old ones beyond revisionHistoryLimit go unless a pod still runs them."""
    meta, spec = sts["metadata"], sts["spec"]
    current = f"{meta['name']}-{template_hash(spec['template'])}"
    kept = {cr["metadata"]["name"]: cr for cr in previous}
    revisions = {name: int(cr.get("revision") or 0) for name, cr in kept.items()}
    top = max(revisions.values(), default=0)
    if revisions.get(current) != top:
        revisions[current] = top + 1
    out = []
    for name, revision in sorted(revisions.items(), key=lambda kv: kv[1]):
        if name == current:
            template = spec["template"]
        else:
            stored = ((kept[name].get("data") or {}).get("spec") or {}).get("template") or {}
            template = {k: v for k, v in stored.items() if k != "$patch"}
        out.append(_controller_revision(sts, name, template, revision))
    prefix = f"{meta['name']}-" if sts["kind"] == "DaemonSet" else ""
    in_use = {prefix + _revision_of(p) for p in active(owned_pods(sts, pods))}
    old = [cr for cr in out if cr["metadata"]["name"] not in in_use | {current}]
    dropped = {id(cr) for cr in old[:max(0, len(old) - spec.get("revisionHistoryLimit", HISTORY_LIMIT))]}
    return [cr for cr in out if id(cr) not in dropped]


def _controller_revision(sts: dict, name: str, template: dict, revision: int) -> dict:
    """newRevision: the set's annotations, its template's labels with the hash, and the patch
    that restores the template (what `kubectl rollout undo` sends back)."""
    meta = sts["metadata"]
    hash_label = "controller-revision-hash" if sts["kind"] == "DaemonSet" else "controller.kubernetes.io/hash"
    labels = {**((template.get("metadata") or {}).get("labels") or {}), hash_label: name.rsplit("-", 1)[-1]}
    ref = {"apiVersion": "apps/v1", "kind": sts["kind"], "name": meta["name"]}
    if meta.get("uid"):
        ref["uid"] = meta["uid"]
    ref.update(controller=True, blockOwnerDeletion=True)
    cr_meta = {"name": name, "namespace": meta.get("namespace", "default"), "labels": labels,
               "ownerReferences": [ref]}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    if annotations:
        cr_meta["annotations"] = annotations
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": cr_meta,
            "data": {"spec": {"template": {**copy.deepcopy(template), "$patch": "replace"}}}, "revision": revision}
