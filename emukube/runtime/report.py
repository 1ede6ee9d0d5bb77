"""The controller's report to the host, defined once: written each tick to status.json in the state
volume (controllers/loop.py), read by `up`'s wait and progress, `doctor`, `explain` and `describe`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields

from ..k8s.keys import ObjectKey, PodKey

# Where the cluster's API server serves the latest report (apiserver/controller_report.py) and
# the host reads it (lifecycle/report_reader.py).
REPORT_PATH = "/emukube/v1/report"


@dataclass(frozen=True)
class ServiceReport:
    answering: bool = False  # its proxy answers a connection
    problem: str | None = None  # why a client would still fail (no endpoints, nothing listening)


@dataclass(frozen=True)
class Report:
    generation: str = ""  # the applied objects' generation the controller runs
    seen: dict[str, int] = field(default_factory=dict)  # resource -> the last resourceVersion seen
    converged: bool = False
    waiting: list[str] = field(default_factory=list)  # what is not there yet, in words
    # "ns/name" -> the pod's STATUS word, phase, readiness and container states (controllers/podstatus.py)
    pods: dict[PodKey, dict] = field(default_factory=dict)
    services: dict[ObjectKey, ServiceReport] = field(default_factory=dict)
    terminating: list[PodKey] = field(default_factory=list)  # pods being stopped
    time: float = 0.0  # when it was written (epoch seconds)

    def to_json(self) -> str:
        # Not asdict(): it deep-copies every pod's dict first, 1.4 ms of a 0.1 ms write (pizza),
        # twice a second for as long as the cluster runs.
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["services"] = {k: {"answering": s.answering, "problem": s.problem} for k, s in self.services.items()}
        return json.dumps(data)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Report:
        """Keys this version does not know are left out (a newer controller may write more)."""
        data = json.loads(raw)
        known = {f.name for f in fields(cls)}
        services = {key: ServiceReport(**{k: v for k, v in s.items() if k in ("answering", "problem")})
                    for key, s in (data.get("services") or {}).items()}
        return cls(**{**{k: v for k, v in data.items() if k in known}, "services": services})
