"""The horizontal pod autoscaler: every 15 s (kube-controller-manager's sync period), and at
once after a change of its spec, each HorizontalPodAutoscaler's target pods' usage from the
metrics API (what `kubectl top` reads) and, for Pods, Object and External metrics, what the custom
and external metrics APIs answer (served by an adapter registered as an APIService, as on any
cluster: none by default), the decision (plan/autoscaling.py), then the target's scale
subresource and the autoscaler's status written through the API, with its events. In a thread of
its own: the metrics API samples CPU over about a second."""

from __future__ import annotations

import json
import threading
import time

from ..apiserver.selectors import selector_string
from ..k8s.client import ApiError
from ..k8s.reasons import Reason
from ..k8s.resources import BY_KEY
from ..plan.autoscaling import Decision, PodUse, decide
from ..plan.disruption import is_ready, selector_matches
from ..plan.quantity import quantity
from .metric_apis import readings
from .publisher import now_text

SYNC_SECONDS = 15
HPAS = BY_KEY["horizontalpodautoscalers.autoscaling"]
TARGETS = {"Deployment": BY_KEY["deployments.apps"], "StatefulSet": BY_KEY["statefulsets.apps"],
           "ReplicaSet": BY_KEY["replicasets.apps"]}
KEPT_SECONDS = 3600  # the longest stabilization window the API allows


def pod_use(pod: dict, usage: dict | None, containers: dict[str, dict[str, float]] | None = None) -> PodUse:
    """A pod's requests (the sum of its containers', and each one's) next to its usage from the
    metrics API, with its phase and readiness."""
    requests: dict[str, float | None] = {"cpu": 0.0, "memory": 0.0}
    missing: dict[str, str] = {}
    each: dict[str, dict[str, float | None]] = {}
    for c in (pod.get("spec") or {}).get("containers") or []:
        asked = ((c.get("resources") or {}).get("requests") or {})
        amounts = each[c.get("name", "")] = {name: quantity(asked.get(name)) for name in requests}
        for name, amount in amounts.items():
            if amount is None:
                missing.setdefault(name, c.get("name", ""))
            total = requests[name]
            requests[name] = None if amount is None or total is None else total + amount
    return PodUse(pod["metadata"]["name"], requests, usage, missing, (pod.get("status") or {}).get("phase", ""),
                  is_ready(pod), each, containers or {})


def usage_of(metrics: dict) -> dict[str, dict[str, float]]:
    """Pod name -> its containers' summed usage, from a PodMetricsList."""
    return {item["metadata"]["name"]: {name: sum(quantity((c.get("usage") or {}).get(name)) or 0.0
                                                 for c in item.get("containers") or []) for name in ("cpu", "memory")}
            for item in metrics.get("items") or []}


def containers_of(metrics: dict) -> dict[str, dict[str, dict[str, float]]]:
    """Pod name -> container -> its usage, from a PodMetricsList."""
    return {item["metadata"]["name"]: {c.get("name", ""): {name: quantity((c.get("usage") or {}).get(name)) or 0.0
                                                           for name in ("cpu", "memory")}
                                       for c in item.get("containers") or []}
            for item in metrics.get("items") or []}


def conditions_with_times(wanted: list[tuple[str, str, str, str]], previous: list[dict], now: str) -> list[dict]:
    """A condition keeps its lastTransitionTime while its status stays."""
    before = {c.get("type"): c for c in previous}
    out = []
    for kind, status, reason, message in wanted:
        old = before.get(kind) or {}
        since = old.get("lastTransitionTime") if old.get("status") == status else now
        out.append({"type": kind, "status": status, "lastTransitionTime": since or now, "reason": reason,
                    "message": message})
    return out


class Autoscalers:
    def __init__(self, ctl):
        self.ctl = ctl
        self.synced: dict[str, tuple[float, object]] = {}  # uid -> (when, generation)
        self.history: dict[str, list[tuple[float, int]]] = {}  # uid -> (time, recommendation)

    def start(self) -> None:
        threading.Thread(target=self._run, name="autoscalers", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(1)
            try:
                self.sync_due()
            except Exception as exc:  # noqa: BLE001 - the API restarting: the next round tries again
                self.ctl.out(json.dumps({"type": "Warning", "message": f"autoscaling failed: {exc!r}"}))

    def sync_due(self) -> None:
        ctl = self.ctl
        if ctl.informer is None or ctl.api is None:
            return
        cached, _, _ = ctl.informer.objects()
        live = set()
        for hpa in (o for o in cached if o.get("kind") == "HorizontalPodAutoscaler"):
            meta = hpa["metadata"]
            live.add(meta.get("uid", ""))
            when, generation = self.synced.get(meta.get("uid", ""), (-SYNC_SECONDS, None))
            if time.monotonic() - when < SYNC_SECONDS and generation == meta.get("generation"):
                continue
            self.synced[meta.get("uid", "")] = (time.monotonic(), meta.get("generation"))
            self.sync(hpa, cached)
        for uid in set(self.synced) - live:
            self.synced.pop(uid, None)
            self.history.pop(uid, None)

    def sync(self, hpa: dict, cached: list[dict]) -> None:
        ctl, meta, spec = self.ctl, hpa["metadata"], hpa.get("spec") or {}
        ns, name = meta.get("namespace", "default"), meta["name"]
        ref = spec.get("scaleTargetRef") or {}
        res = TARGETS.get(ref.get("kind", ""))
        target = ctl.informer.get(res, ns, ref.get("name", "")) if res is not None else None
        if target is None:
            kind = res.plural if res is not None else str(ref.get("kind", "")).lower()
            why = f'the HPA controller was unable to get the target\'s current scale: {kind} "{ref.get("name")}" ' \
                  "not found"
            ctl.event("Warning", f"horizontalpodautoscaler/{name}", Reason.FAILED_GET_SCALE, why, namespace=ns)
            self._write_status(hpa, None, Decision(0, 0, [], [("AbleToScale", "False", "FailedGetScale", why)]))
            return
        current = int((target.get("spec") or {}).get("replicas", 1))
        running = int((target.get("status") or {}).get("replicas", current))
        selector = (target.get("spec") or {}).get("selector")
        pods = [p for p in cached if p.get("kind") == "Pod" and p["metadata"].get("namespace") == ns
                and not p["metadata"].get("deletionTimestamp")
                and selector_matches(selector, p["metadata"].get("labels") or {})]
        metrics = ctl.api.request("GET", f"/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods") if pods else {}
        usage, containers = usage_of(metrics), containers_of(metrics)
        now = time.time()
        uid = meta.get("uid", "")
        history = [(t, r) for t, r in self.history.get(uid, []) if now - t < KEPT_SECONDS]
        uses = [pod_use(p, usage.get(p["metadata"]["name"]), containers.get(p["metadata"]["name"])) for p in pods]
        read = readings(ctl.api, spec.get("metrics") or [], ns, selector_string(selector) or "")
        decision = decide(spec, current, uses, history, now, read, running, ns)
        self.history[uid] = [*history, (now, decision.recommendation)]
        for reason, message in decision.events:
            ctl.event("Warning", f"horizontalpodautoscaler/{name}", reason, message, namespace=ns)
        scaled = decision.replicas != current
        if scaled:
            try:
                ctl.api.patch(res, ns, target["metadata"]["name"], {"spec": {"replicas": decision.replicas}},
                              sub="scale")
            except ApiError as exc:
                ctl.out(json.dumps({"type": "Warning", "message": f"autoscaler {ns}/{name}: {exc}"}))
                return
            ctl.event("Normal", f"horizontalpodautoscaler/{name}", Reason.SUCCESSFUL_RESCALE,
                      f"New size: {decision.replicas}; reason: {decision.reason}", namespace=ns)
        self._write_status(hpa, current, decision, scaled)

    def _write_status(self, hpa: dict, current: int | None, decision: Decision, scaled: bool = False) -> None:
        previous = hpa.get("status") or {}
        now = now_text()
        status: dict = {"desiredReplicas": decision.replicas if current is not None else 0,
                        "currentReplicas": current or 0}
        if decision.current_metrics:
            status["currentMetrics"] = decision.current_metrics
        last = now if scaled else previous.get("lastScaleTime")
        if last:
            status["lastScaleTime"] = last
        status["conditions"] = conditions_with_times(decision.conditions, previous.get("conditions") or [], now)
        if hpa["metadata"].get("generation") is not None:
            status = {"observedGeneration": hpa["metadata"]["generation"], **status}
        if status == previous:
            return
        try:
            self.ctl.api.update(HPAS, {**hpa, "status": status}, sub="status")
        except ApiError as exc:
            if exc.code not in (404, 409):  # gone, or changed meanwhile: the next round sees it
                raise
