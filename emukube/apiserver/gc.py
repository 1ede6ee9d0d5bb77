"""The garbage collector and the namespace finalizer, in one background task.

They act on what the change log shows, as kube-controller-manager's would: an owner gone takes
its dependents (Background), an owner marked with the foregroundDeletion finalizer goes once its
dependents are gone (Foreground), the orphan finalizer strips owner references (Orphan), and a
Terminating Namespace is emptied, then goes."""

from __future__ import annotations

import asyncio
import copy
import logging

from emukube.store import Gone

from ..k8s.resources import RESOURCES, by_kind
from . import crds, errors
from .objects import NAMESPACES, DeleteOpts, Registry, WriteOpts, should_finalize
from .tasks import BackgroundTask

log = logging.getLogger("emukube.apiserver.gc")
# Each stored resource once (events.k8s.io Events are the core ones).
STORED = [r for r in RESOURCES if r.key != "events.events.k8s.io"]


def _needs_pass(change) -> bool:
    """A change only a pass over every object settles: an owner gone or going."""
    meta = change.object.get("metadata") or {}
    return change.type == "DELETED" or bool(meta.get("deletionTimestamp"))


def _new_dependent(change) -> bool:
    """An object made with owners, whose owners may be gone already: checked alone (_check_owners).
    During `up` most writes that add owner references are these: a full pass for each was most of
    the collector's time."""
    return change.type == "ADDED" and bool((change.object.get("metadata") or {}).get("ownerReferences"))


class Collector:
    def __init__(self, registry: Registry, hub):
        self.registry, self.hub = registry, hub
        self.store = registry.store
        self._background = BackgroundTask(self._run)

    def start(self) -> None:
        self._background.start()

    async def stop(self) -> None:
        await self._background.stop()

    async def _run(self) -> None:
        last = self.store.current_rv()
        pending = True  # a pass at start finishes what a previous process left
        born: list = []  # changes that made dependents, checked alone unless a pass comes
        while True:
            try:
                head = self.store.current_rv()  # read first: every change up to it is below
                changes = self.store.changes(last, limit=1000)
                if changes:
                    last = changes[-1].rv
                    pending |= any(_needs_pass(c) for c in changes)
                    born += [c for c in changes if _new_dependent(c)]
                    if len(changes) == 1000:
                        continue
                last = max(last, head)
            except Gone:
                last, pending = self.store.current_rv(), True
            try:
                if pending:
                    pending, born = False, []
                    self.collect()
                for change in born:
                    self._check_owners(change)
            except Exception:  # one bad object must not stop collection for good
                log.exception("garbage collection pass failed")
            born = []
            await self.hub.wait(1.0, after=last)
            await asyncio.sleep(0.01)  # let a burst of writes land first

    # ---- one pass ---------------------------------------------------------------------------------
    def collect(self) -> None:
        objs = [(r, o) for r in STORED + crds.stored() for o in self.registry.list(r, None)[0]]
        uids = {o["metadata"].get("uid") for _, o in objs}
        for res, obj in objs:
            meta = obj["metadata"]
            if meta.get("deletionTimestamp"):
                if res.key == "namespaces":
                    self._finish_namespace(obj, objs)
                elif res.key == crds.CRD.key:
                    crds.cleanup(self.registry, obj)
                elif "foregroundDeletion" in (meta.get("finalizers") or []):
                    self._foreground(res, obj, objs)
                elif "orphan" in (meta.get("finalizers") or []):
                    self._orphan(res, obj, objs)
            if meta.get("ownerReferences"):
                self._dangling(res, obj, uids)

    def _dependents(self, owner: dict, objs: list) -> list:
        uid = owner["metadata"].get("uid")
        ns = owner["metadata"].get("namespace")
        return [(r, o) for r, o in objs
                if any(ref.get("uid") == uid for ref in o["metadata"].get("ownerReferences") or [])
                and (ns is None or o["metadata"].get("namespace") == ns)]

    def _delete(self, res, obj: dict, policy: str = "Background") -> None:
        meta = obj["metadata"]
        if meta.get("deletionTimestamp"):
            return
        try:
            self.registry.delete(res, meta.get("namespace"), meta["name"],
                                 DeleteOpts(propagation=policy, uid=meta.get("uid")))
        except errors.ApiError as exc:
            if exc.code not in (404, 409):
                raise

    def _drop_finalizer(self, res, obj: dict, finalizer: str) -> None:
        current = self.registry.get(res, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if current is None or finalizer not in (current["metadata"].get("finalizers") or []):
            return
        new = copy.deepcopy(current)
        new["metadata"]["finalizers"] = [f for f in new["metadata"]["finalizers"] if f != finalizer]
        if not new["metadata"]["finalizers"]:
            del new["metadata"]["finalizers"]
        self._update(res, current, new)

    def _update(self, res, old: dict, new: dict) -> None:
        try:
            self.registry.update(res, old, new, WriteOpts(manager="garbage-collector"), admit=False)
        except errors.ApiError as exc:
            if exc.code not in (404, 409):
                raise

    def _foreground(self, res, owner: dict, objs: list) -> None:
        dependents = self._dependents(owner, objs)
        for dep_res, dep in dependents:
            self._delete(dep_res, dep, "Foreground")
        if not dependents:
            self._drop_finalizer(res, owner, "foregroundDeletion")

    def _orphan(self, res, owner: dict, objs: list) -> None:
        uid = owner["metadata"].get("uid")
        for dep_res, dep in self._dependents(owner, objs):
            new = copy.deepcopy(dep)
            refs = [r for r in dep["metadata"]["ownerReferences"] if r.get("uid") != uid]
            if refs:
                new["metadata"]["ownerReferences"] = refs
            else:
                del new["metadata"]["ownerReferences"]
            self._update(dep_res, dep, new)
        self._drop_finalizer(res, owner, "orphan")

    def _owner_alive(self, ref: dict, namespace: str | None) -> bool:
        """Asked of the store itself: the pass's snapshot may predate an owner made since."""
        res = by_kind(ref.get("apiVersion", ""), ref.get("kind", ""))
        if res is None:
            return True  # an owner of a kind we do not serve: leave it be
        owner = self.registry.get(res, namespace if res.namespaced else None, ref.get("name", ""))
        return owner is not None and owner["metadata"].get("uid") == ref.get("uid")

    def _check_owners(self, change) -> None:
        res = next((r for r in STORED + crds.stored() if r.key == change.resource), None)
        meta = change.object["metadata"]
        obj = self.registry.get(res, meta.get("namespace"), meta["name"]) if res is not None else None
        if obj is not None and obj["metadata"].get("uid") == meta.get("uid") and obj["metadata"].get("ownerReferences"):
            self._dangling(res, obj, set())

    def _dangling(self, res, obj: dict, uids: set) -> None:
        refs = obj["metadata"]["ownerReferences"]
        missing = [r for r in refs if r.get("uid") not in uids]
        if not missing:
            return
        missing = [r for r in missing if not self._owner_alive(r, obj["metadata"].get("namespace"))]
        if not missing:
            return
        if len(missing) == len(refs):
            self._delete(res, obj)
            return
        new = copy.deepcopy(obj)
        new["metadata"]["ownerReferences"] = [r for r in refs if r not in missing]
        self._update(res, obj, new)

    def _finish_namespace(self, space: dict, objs: list) -> None:
        name = space["metadata"]["name"]
        inside = [(r, o) for r, o in objs if r.namespaced and o["metadata"].get("namespace") == name]
        for res, obj in inside:
            self._delete(res, obj)
        if inside:
            return
        current = self.registry.get(NAMESPACES, None, name)
        if current is None:
            return
        new = copy.deepcopy(current)
        new.setdefault("spec", {})["finalizers"] = [f for f in new["spec"].get("finalizers") or []
                                                    if f != "kubernetes"]
        if new["spec"]["finalizers"] == [] and not new["metadata"].get("finalizers"):
            # nothing holds it: the namespace goes (its finalize and its removal, as one step)
            if should_finalize(new):
                self.registry._remove(NAMESPACES, current)
                self.hub.notify()
                return
        if new != current:
            self._update(NAMESPACES, current, new)
