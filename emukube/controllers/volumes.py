"""The storage controllers: the StatefulSet controller's claims, the PV controller (binding,
release, reclaim), the provisioner of the default class (a Docker named volume per
PersistentVolume), and the pvc- and pv-protection finalizers. Observe (claims, volumes and
classes through the API, pods as the loop observed them), decide (plan/claims.py, pure), act
(objects through the API, Docker volumes through runtime/). Called once a tick by the loop,
before it starts pods, which wait (FailedScheduling) until their claims are bound."""

from __future__ import annotations

import json

from ..k8s.client import ApiError
from ..k8s.resources import BY_KEY
from ..plan import claims as plan
from ..plan.workloads import PodPlan
from ..runtime.volumes import ensure_pv_volume, pv_volume_name, remove_volume
from .apiaccess import write_tolerantly

PVCS, PVS, CLASSES = BY_KEY["persistentvolumeclaims"], BY_KEY["persistentvolumes"], \
    BY_KEY["storageclasses.storage.k8s.io"]


class VolumeControllers:
    def __init__(self, ctrl) -> None:
        self.ctrl = ctrl
        self.told: dict[str, tuple[str, str]] = {}  # claim uid -> the (reason, message) last told
        self.made: set[tuple[str, str]] = set()  # claims created, until the loop's objects show them
        self.by_key: dict[tuple[str, str], dict] | None = None  # claims by (namespace, name), this tick

    def cached(self, kind: str) -> list[dict]:
        return [o for o in self.ctrl.objects if o.get("kind") == kind]

    # ---- the loop's calls ---------------------------------------------------------------
    def unschedulable(self, pod: PodPlan) -> str:
        """The scheduler's message while the pod's claims are missing or unbound, else ""."""
        if not any("persistentVolumeClaim" in v for v in pod.spec.get("volumes") or []):
            return ""
        if self.by_key is None:
            self.by_key = {plan.key(c): c for c in self.cached("PersistentVolumeClaim")}
        # Made this tick: unbound for now, not missing (the StatefulSet controller made it first).
        claims = {**{k: {"metadata": {}, "spec": {}} for k in self.made}, **self.by_key}
        return plan.scheduling_problem(pod.namespace, pod.spec, claims, max(1, len(self.ctrl.nodes)))

    def sync(self, pods: dict) -> None:
        claims = self.cached("PersistentVolumeClaim")
        self.by_key = {plan.key(c): c for c in claims}  # what this tick's pods are scheduled against
        self.made -= set(self.by_key)
        if self.ctrl.api is None:
            return
        used = plan.claims_in_use([(p.namespace, p.spec) for p in pods.values()] +
                                  [(c.namespace, c.spec) for c in list(self.ctrl.creating.values())])
        claims = claims + self._statefulset_claims(claims, pods)
        volumes = self.cached("PersistentVolume")
        classes = {plan.meta(c)["name"]: c for c in self.cached("StorageClass")}
        wanted = used | self._asked_for()
        for claim in claims:
            if plan.meta(claim).get("deletionTimestamp"):
                if plan.key(claim) not in used and plan.PVC_PROTECTION in (plan.meta(claim).get("finalizers") or []):
                    self._write(lambda c=claim: self.ctrl.api.update(PVCS, plan.without_finalizer(c,
                                                                                              plan.PVC_PROTECTION)))
                continue
            self._bind(claim, plan.bind(claim, volumes, classes, plan.key(claim) in wanted))
        uids = {str(plan.meta(c).get("uid")) for c in claims}
        for pv in volumes:
            self._reclaim(pv, uids)

    def _asked_for(self) -> set[tuple[str, str]]:
        """Claims some declared pod mounts (a WaitForFirstConsumer class provisions for them)."""
        specs = [(b.namespace, b.spec) for b in self.ctrl.bare]
        for w in self.ctrl.workloads:
            ns = w["metadata"].get("namespace", "default")
            specs.append((ns, (w["spec"].get("template") or {}).get("spec") or {}))
            if w["kind"] == "StatefulSet":
                specs += [(ns, {"volumes": [{"persistentVolumeClaim": {"claimName": c["metadata"]["name"]}}
                                            for c in plan.statefulset_claims(w, i)]})
                          for i in range(w["spec"].get("replicas", 1))]
        return plan.claims_in_use(specs)

    # ---- the StatefulSet controller's part ----------------------------------------------
    def _statefulset_claims(self, claims: list[dict], pods: dict) -> list[dict]:
        """Creates the claims the StatefulSets' pods need; returns those made (bound at once)."""
        have = {plan.key(c) for c in claims}
        made: list[dict] = []
        for sts in self.ctrl.workloads:
            if sts["kind"] != "StatefulSet" or not sts["spec"].get("volumeClaimTemplates"):
                continue
            for ordinal in range(sts["spec"].get("replicas", 1)):
                for claim in plan.statefulset_claims(sts, ordinal):
                    if plan.key(claim) not in have:
                        have.add(plan.key(claim))
                        self.made.add(plan.key(claim))
                        self._write(lambda c=claim: made.append(self.ctrl.api.create(PVCS, c)))
                        self.ctrl.event("Normal", f"statefulset/{sts['metadata']['name']}", "SuccessfulCreate",
                                        f"create Claim {claim['metadata']['name']} Pod "
                                        f"{sts['metadata']['name']}-{ordinal} in StatefulSet "
                                        f"{sts['metadata']['name']} success")
            running = {(p.namespace, p.name) for p in pods.values()} | \
                {(c.namespace, c.name) for c in list(self.ctrl.creating.values())}
            ns = sts["metadata"].get("namespace", "default")
            for claim in plan.scaled_away(sts, [c for c in claims if plan.key(c)[0] == ns]):
                ordinal = plan.meta(claim)["name"].rsplit("-", 1)[1]
                if (ns, f"{sts['metadata']['name']}-{ordinal}") not in running and \
                        not plan.meta(claim).get("deletionTimestamp"):
                    self._write(lambda c=claim: self.ctrl.api.delete(PVCS, ns, plan.meta(c)["name"]))
        return made

    # ---- the PV controller's and the provisioner's part ---------------------------------
    def _bind(self, claim: dict, binding: plan.Binding) -> None:
        api, uid = self.ctrl.api, plan.meta(claim).get("uid", "")
        name = plan.meta(claim)["name"]
        for kind, reason, message in binding.events:
            if self.told.get(uid) != (reason, message):
                self.told[uid] = (reason, message)
                self.ctrl.event(kind, f"persistentvolumeclaim/{name}", reason, message)
        try:
            if binding.create_volume and binding.volume is not None:
                pv = binding.volume
                cluster, namespace = self.ctrl.ctx.cluster, plan.key(claim)[0]
                wanted = pv_volume_name(cluster, pv["metadata"]["name"])
                pv["spec"]["csi"]["volumeHandle"] = ensure_pv_volume(self.ctrl.client, cluster, wanted, namespace, name)
                stored = self._create_or_get(pv)
                if stored.get("status", {}).get("phase") != "Bound":
                    api.update(PVS, {**stored, "status": pv["status"]}, sub="status")
            elif binding.volume is not None:
                stored = api.update(PVS, binding.volume)
                api.update(PVS, {**stored, "status": binding.volume["status"]}, sub="status")
            if binding.claim is not None:
                stored = api.update(PVCS, binding.claim)
                api.update(PVCS, {**stored, "status": binding.claim["status"]}, sub="status")
        except ApiError as exc:
            if exc.code not in (404, 409):
                raise

    def _create_or_get(self, pv: dict) -> dict:
        try:
            return self.ctrl.api.create(PVS, pv)
        except ApiError as exc:
            if exc.code != 409:
                raise
            return self.ctrl.api.get(PVS, None, pv["metadata"]["name"])

    def _reclaim(self, pv: dict, claim_uids: set[str]) -> None:
        """A volume whose claim is gone: deleted with its Docker volume (reclaimPolicy Delete) or
        Released (Retain); a volume being deleted loses its finalizer once no claim holds it."""
        what = plan.released(pv, claim_uids)
        ref = (pv.get("spec") or {}).get("claimRef") or {}
        if what and self._claim_exists(ref):
            return  # the cache is behind: the claim is there
        api, name = self.ctrl.api, plan.meta(pv)["name"]
        if plan.made_available(pv):
            self._write(lambda: api.update(PVS, {**pv, "status": {"phase": "Available"}}, sub="status"))
        if what == "release":
            self._write(lambda: api.update(PVS, {**pv, "status": {"phase": "Released"}}, sub="status"))
        elif what == "delete" or (plan.meta(pv).get("deletionTimestamp") and not self._claim_exists(ref)):
            handle = ((pv.get("spec") or {}).get("csi") or {}).get("volumeHandle")
            ours = ((pv.get("spec") or {}).get("csi") or {}).get("driver") == plan.PROVISIONER
            if ours and handle and not remove_volume(self.ctrl.client, handle):
                return  # a container still holds it: next tick
            if not plan.meta(pv).get("deletionTimestamp"):
                self._write(lambda: api.delete(PVS, None, name))
                self.ctrl.out(json.dumps({"type": "Normal", "object": f"persistentvolume/{name}",
                                          "reason": "Deleted", "message": "its claim is gone (reclaimPolicy Delete)"}))
            self._write(lambda: api.update(PVS, plan.without_finalizer(api.get(PVS, None, name), plan.PV_PROTECTION)))

    def _claim_exists(self, ref: dict) -> bool:
        if not ref.get("name"):
            return False
        try:
            claim = self.ctrl.api.get(PVCS, ref.get("namespace") or "default", ref["name"])
        except ApiError as exc:
            if exc.code == 404:
                return False
            raise
        return plan.meta(claim).get("uid") == ref.get("uid")

    _write = staticmethod(write_tolerantly)
