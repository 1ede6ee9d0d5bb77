"""PersistentVolumeClaims: what the StatefulSet controller, the PV controller, the provisioner and
the scheduler's volume binding decide about them. Pure: objects in, objects and events out; the
controller (controllers/volumes.py) writes them and makes the Docker volumes."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from .nodes import unschedulable_message
from .quantity import quantity

PROVISIONER = "emukube.io/docker-volume"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
BIND_COMPLETED, BOUND_BY_CONTROLLER = "pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller"
STORAGE_PROVISIONER = ("volume.beta.kubernetes.io/storage-provisioner", "volume.kubernetes.io/storage-provisioner")
PVC_PROTECTION, PV_PROTECTION = "kubernetes.io/pvc-protection", "kubernetes.io/pv-protection"
SUPPORTED_MODES = ("ReadWriteOnce", "ReadWriteOncePod")  # as kind's local-path provisioner
UNBOUND = "pod has unbound immediate PersistentVolumeClaims"

Event = tuple[str, str, str]  # (type, reason, message)


def meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def key(obj: dict) -> tuple[str, str]:
    return meta(obj).get("namespace", "default"), meta(obj)["name"]


# ---- the StatefulSet controller's claims ----------------------------------------------------------

def claim_name(template: dict, sts_name: str, ordinal: int) -> str:
    return f"{meta(template).get('name')}-{sts_name}-{ordinal}"


def statefulset_claims(sts: dict, ordinal: int) -> list[dict]:
    """The claims of one pod of the StatefulSet (getPersistentVolumeClaims): the template with the
    selector's labels; owned by the StatefulSet when whenDeleted is Delete (the garbage collector
    then deletes them with it)."""
    spec, sts_meta = sts.get("spec") or {}, meta(sts)
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    owner = []
    if retention(sts)[0] == "Delete" and sts_meta.get("uid"):
        owner = [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": sts_meta["name"], "uid": sts_meta["uid"],
                  "controller": True, "blockOwnerDeletion": True}]
    out = []
    for template in spec.get("volumeClaimTemplates") or []:
        t_meta = meta(template)
        claim_meta = {"name": claim_name(template, sts_meta["name"], ordinal),
                      "namespace": sts_meta.get("namespace", "default"),
                      "labels": {**(t_meta.get("labels") or {}), **selector}}
        if t_meta.get("annotations"):
            claim_meta["annotations"] = dict(t_meta["annotations"])
        if owner:
            claim_meta["ownerReferences"] = copy.deepcopy(owner)
        out.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": claim_meta,
                    "spec": copy.deepcopy(template.get("spec") or {})})
    return out


def retention(sts: dict) -> tuple[str, str]:
    policy = (sts.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
    return policy.get("whenDeleted") or "Retain", policy.get("whenScaled") or "Retain"


def scaled_away(sts: dict, claims: list[dict]) -> list[dict]:
    """Claims of ordinals at or above replicas, which whenScaled: Delete removes once their pod
    is gone (the caller knows the pods)."""
    if retention(sts)[1] != "Delete":
        return []
    spec = sts.get("spec") or {}
    replicas = spec.get("replicas", 1)
    names = {meta(t).get("name") for t in spec.get("volumeClaimTemplates") or []}
    prefix_of = {f"{n}-{meta(sts)['name']}-" for n in names}
    out = []
    for claim in claims:
        name = meta(claim)["name"]
        for prefix in prefix_of:
            rest = name[len(prefix):]
            if name.startswith(prefix) and rest.isdigit() and int(rest) >= replicas:
                out.append(claim)
    return out


# ---- binding and provisioning -------------------------------------------------------------------

@dataclass
class Binding:
    """What to do for one claim: a volume to create (provisioned) or bind (static), the claim as
    it should be, events. volume None and claim None: nothing to do."""

    volume: dict | None = None  # the PersistentVolume to create or update
    create_volume: bool = False
    claim: dict | None = None  # the claim with volumeName, annotations and status set
    events: list[Event] = field(default_factory=list)


def requested(claim: dict) -> str:
    return str((((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage", ""))


def _fits(pv: dict, claim: dict) -> bool:
    """A static volume the binder may give the claim: Available, same class, big enough, the modes."""
    pv_spec, spec = pv.get("spec") or {}, claim.get("spec") or {}
    if meta(pv).get("deletionTimestamp") or (pv.get("status") or {}).get("phase") not in (None, "", "Pending",
                                                                                        "Available"):
        return False
    if pv_spec.get("claimRef"):
        ref = pv_spec["claimRef"]
        return (ref.get("namespace"), ref.get("name")) == key(claim)
    if (pv_spec.get("storageClassName") or "") != (spec.get("storageClassName") or ""):
        return False
    have, want = quantity((pv_spec.get("capacity") or {}).get("storage")), quantity(requested(claim))
    return have is not None and want is not None and have >= want and \
        set(spec.get("accessModes") or []) <= set(pv_spec.get("accessModes") or [])


def bound_claim(claim: dict, pv: dict, by_controller: bool) -> dict:
    """The claim once bound (the PV controller's bind: volumeName, annotations, then status)."""
    out = copy.deepcopy(claim)
    annotations = out["metadata"].setdefault("annotations", {})
    annotations[BIND_COMPLETED] = "yes"
    if by_controller:
        annotations[BOUND_BY_CONTROLLER] = "yes"
    out["spec"]["volumeName"] = meta(pv)["name"]
    pv_spec = pv.get("spec") or {}
    out["status"] = {"phase": "Bound", "accessModes": list(pv_spec.get("accessModes") or []),
                     "capacity": dict(pv_spec.get("capacity") or {})}
    return out


def provisioned_volume(claim: dict, sc: dict) -> dict:
    """The PersistentVolume a provisioner makes for the claim, pre-bound to it (claimRef)."""
    c_meta, spec = meta(claim), claim.get("spec") or {}
    name = f"pvc-{c_meta['uid']}"
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": {PROVISIONED_BY: sc.get("provisioner", "")}},
            "spec": {"accessModes": list(spec.get("accessModes") or []),
                     "capacity": {"storage": requested(claim)},
                     "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                  "namespace": c_meta.get("namespace", "default"), "name": c_meta["name"],
                                  "uid": c_meta["uid"], "resourceVersion": c_meta.get("resourceVersion", "")},
                     "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
                     "storageClassName": meta(sc)["name"], "volumeMode": spec.get("volumeMode") or "Filesystem",
                     "csi": {"driver": PROVISIONER, "volumeHandle": name}},
            "status": {"phase": "Bound"}}


def bind(claim: dict, volumes: list[dict], classes: dict[str, dict], consumed: bool) -> Binding:
    """The PV controller's syncUnboundClaim for one claim, with an external provisioner's part
    when the class is emukube's. consumed: a pod asks for it (WaitForFirstConsumer)."""
    spec = claim.get("spec") or {}
    if meta(claim).get("deletionTimestamp"):
        return Binding()
    if spec.get("volumeName"):
        pv = next((v for v in volumes if meta(v)["name"] == spec["volumeName"]), None)
        if pv is None:
            return Binding(claim=_lost(claim), events=[("Warning", "ClaimLost", "Bound claim has lost its "
                                                        "PersistentVolume. Data on the volume is lost!")])
        if (claim.get("status") or {}).get("phase") != "Bound":
            return Binding(claim=bound_claim(claim, pv, by_controller=False), volume=_pv_bound(pv, claim))
        return Binding()
    static = next((v for v in sorted(volumes, key=lambda v: meta(v)["name"]) if _fits(v, claim)), None)
    if static is not None:
        return Binding(volume=_pv_bound(static, claim), claim=bound_claim(claim, static, by_controller=True))
    class_name = spec.get("storageClassName") or ""
    if not class_name:
        return Binding(events=[("Normal", "FailedBinding", "no persistent volumes available for this claim and "
                                                            "no storage class is set")])
    sc = classes.get(class_name)
    if sc is None:
        return Binding(events=[("Warning", "ProvisioningFailed",
                                f'storageclass.storage.k8s.io "{class_name}" not found')])
    if sc.get("volumeBindingMode") == "WaitForFirstConsumer" and not consumed:
        return Binding(events=[("Normal", "WaitForFirstConsumer",
                                "waiting for first consumer to be created before binding")])
    if sc.get("provisioner") != PROVISIONER:
        return Binding(events=[("Normal", "ExternalProvisioning",
                                f"Waiting for a volume to be created either by the external provisioner "
                                f"'{sc.get('provisioner', '')}' or manually by the system administrator. If volume "
                                "creation is delayed, please verify that the provisioner is running and correctly "
                                "registered.")])
    unsupported = [m for m in spec.get("accessModes") or [] if m not in SUPPORTED_MODES]
    if unsupported:
        return Binding(events=[("Warning", "ProvisioningFailed",
                                f'failed to provision volume with StorageClass "{class_name}": {PROVISIONER} '
                                f"only supports ReadWriteOnce and ReadWriteOncePod access modes")])
    pv = provisioned_volume(claim, sc)
    return Binding(volume=pv, create_volume=True, claim=bound_claim(claim, pv, by_controller=True),
                   events=[("Normal", "ProvisioningSucceeded", f"Successfully provisioned volume {meta(pv)['name']}")])


def _lost(claim: dict) -> dict:
    out = copy.deepcopy(claim)
    out["status"] = {**(out.get("status") or {}), "phase": "Lost"}
    return out


def _pv_bound(pv: dict, claim: dict) -> dict | None:
    """The PV bound to the claim (claimRef, phase Bound), or None when it already is."""
    c_meta = meta(claim)
    ref = (pv.get("spec") or {}).get("claimRef") or {}
    if ref.get("uid") == c_meta.get("uid") and (pv.get("status") or {}).get("phase") == "Bound":
        return None
    out = copy.deepcopy(pv)
    out["spec"]["claimRef"] = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                               "namespace": c_meta.get("namespace", "default"), "name": c_meta["name"],
                               "uid": c_meta.get("uid", ""), "resourceVersion": c_meta.get("resourceVersion", "")}
    if not ref:
        out["metadata"].setdefault("annotations", {})[BOUND_BY_CONTROLLER] = "yes"
    out["status"] = {"phase": "Bound"}
    return out


# ---- release and protection ---------------------------------------------------------------------

def released(pv: dict, claim_uids: set[str]) -> str:
    """What a volume whose claim is gone becomes: "delete" (reclaimPolicy Delete), "release"
    (Retain: phase Released), or "" while its claim is there (or it is not bound)."""
    ref = (pv.get("spec") or {}).get("claimRef") or {}
    if not ref.get("uid") or ref["uid"] in claim_uids:
        return ""
    if (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") == "Delete":
        return "delete"
    return "" if (pv.get("status") or {}).get("phase") == "Released" else "release"


def made_available(pv: dict) -> bool:
    """A new volume nothing holds yet: the PV controller makes it Available."""
    return not meta(pv).get("deletionTimestamp") and not ((pv.get("spec") or {}).get("claimRef") or {}).get("uid") \
        and (pv.get("status") or {}).get("phase") in (None, "", "Pending")


def claims_in_use(pod_specs: list[tuple[str, dict]]) -> set[tuple[str, str]]:
    """(namespace, claim) of every claim a pod that exists mounts."""
    return {(ns, (v.get("persistentVolumeClaim") or {}).get("claimName", ""))
            for ns, spec in pod_specs for v in spec.get("volumes") or [] if v.get("persistentVolumeClaim")}


def without_finalizer(obj: dict, finalizer: str) -> dict:
    out = copy.deepcopy(obj)
    out["metadata"]["finalizers"] = [f for f in meta(out).get("finalizers") or [] if f != finalizer]
    return out


def scheduling_problem(namespace: str, spec: dict, claims: dict[tuple[str, str], dict], nodes: int) -> str:
    """The scheduler's FailedScheduling message for a pod whose claims keep it from any node
    (the VolumeBinding plugin's PreFilter), "" when they are all bound."""
    why = ""
    for vol in spec.get("volumes") or []:
        name = (vol.get("persistentVolumeClaim") or {}).get("claimName")
        if not name:
            continue
        claim = claims.get((namespace, name))
        if claim is None:
            why = f'persistentvolumeclaim "{name}" not found'
            break
        if meta(claim).get("deletionTimestamp"):
            why = f'persistentvolumeclaim "{name}" is being deleted'
            break
        if not (claim.get("spec") or {}).get("volumeName") or (claim.get("status") or {}).get("phase") != "Bound":
            why = UNBOUND
    if not why:
        return ""
    return unschedulable_message(nodes, why)
