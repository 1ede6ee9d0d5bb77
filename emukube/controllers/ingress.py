"""The Ingress controller: observe (every Ingress and Service the loop holds, and the
controller's HAProxy container), decide (plan/ingress.py, pure: the routes), act (make,
reload or remove the container: runtime/ingress_proxy.py). Its address goes into each
Ingress's status through the publisher once the container runs. Called once a tick by the loop;
the engine's work happens on the loop's pool, so a tick never waits for it."""

from __future__ import annotations

import subprocess

from ..k8s.reasons import Reason
from ..plan import ingress as plan
from ..runtime import engine
from ..runtime import labels as L
from ..runtime.engine import DockerException
from ..runtime.ingress_proxy import create_ingress, fake_certificate, ingress_needs, reload_ingress

KEY = "ingress"  # its key among the loop's containers being made


class IngressController:
    def __init__(self, ctrl) -> None:
        self.ctrl = ctrl
        self.container = None  # the controller's container as the tick observed it
        self.synced: dict[tuple[str, str], object] = {}  # (ns, name) -> the generation served
        self.behind = False  # Ingresses exist and the container does not serve their latest routes

    def observe(self, found: list) -> None:
        self.container = next((c for c in found if c.labels.get(L.ROLE) == L.Role.INGRESS), None)

    def ingresses(self) -> list[dict]:
        return [o for o in self.ctrl.objects if o.get("kind") == "Ingress"]

    def addresses(self) -> dict[tuple[str, str], str]:
        """What each Ingress's status names, by (namespace, name): the host address, once the
        container serves its routes (an ADDRESS then means a curl reaches them), as ingress-nginx
        writes it after its sync."""
        if self.container is None or self.container.status != "running":
            return {}
        return {key: self.ctrl.ctx.net.ingress_address for key in list(self.synced)}

    def waiting(self) -> list[str]:
        """What `up` waits for: `curl` right after it must reach the latest routes."""
        return ["ingress: the Ingress controller is starting or reloading"] if self.behind else []

    def sync(self) -> None:
        ctrl = self.ctrl
        ingresses = self.ingresses()
        self.behind = bool(ingresses)
        if not ctrl._settled(KEY):
            return
        if not ingresses:
            if self.container is not None:  # the last Ingress is gone
                engine.remove(self.container)
                self.container = None
            return
        routes = plan.plan(ingresses, ctrl.services, [o for o in ctrl.objects if o.get("kind") == "Secret"])
        try:
            needed = ingress_needs(ctrl.proxies, routes, self.container)
        except DockerException as exc:
            self._failed(exc)
            return
        if needed == "":
            ctrl.reasons.pop(KEY, None)
            self.behind = False
            self._told(ingresses)
            return
        ctrl.making.add(KEY)
        ctrl.create_pool.submit(self._act, routes, needed, ingresses)

    def _told(self, ingresses: list[dict]) -> None:
        """ingress-nginx's Sync event, once for each Ingress (or change of one) it now serves."""
        live = {(i["metadata"].get("namespace") or "default", i["metadata"]["name"]) for i in ingresses}
        for gone in [k for k in self.synced if k not in live]:  # made again later: told again
            del self.synced[gone]
        for ing in ingresses:
            meta = ing["metadata"]
            key, generation = (meta.get("namespace") or "default", meta["name"]), meta.get("generation")
            if self.synced.get(key) != generation:
                self.synced[key] = generation
                self.ctrl.event("Normal", f"ingress/{key[1]}", Reason.SYNC, "Scheduled for sync", namespace=key[0])

    def _act(self, routes: plan.IngressPlan, needed: str | None, ingresses: list[dict]) -> None:
        ctrl = self.ctrl
        try:
            fake = fake_certificate(ctrl.state_dir)
            if needed is None:
                with ctrl.engine_slots.data_plane():
                    create_ingress(ctrl.proxies, routes, self.container, fake)
            else:
                reload_ingress(ctrl.proxies, routes, self.container, fake)
            ctrl.reasons.pop(KEY, None)
            self._told(ingresses)
        except (DockerException, OSError, subprocess.SubprocessError) as exc:
            self._failed(exc)
        finally:
            ctrl._end_making(KEY)

    def _failed(self, exc: Exception) -> None:
        why = str(getattr(exc, "explanation", None) or exc).splitlines()[0][:300]
        self.ctrl.reasons[KEY] = f"the Ingress controller cannot start: {why}"
        for ing in self.ingresses():
            meta = ing["metadata"]
            self.ctrl.event("Warning", f"ingress/{meta['name']}", Reason.PROXY_FAILED, why,
                            namespace=meta.get("namespace") or "default")
