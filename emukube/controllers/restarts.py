"""kubelet's container restarts: restartPolicy, CrashLoopBackOff, the RESTARTS count, lastState,
and the restart itself: a fresh container from the image in the same pod (runtime/restart.py).

Pod containers run with Docker's restart policy "no"; the controller restarts them itself, with
kubelet's back-off (pkg/kubelet/kuberuntime, flowcontrol.Backoff): the first restart is at once,
then each one waits 10 s, 20 s, 40 s ... up to 5 min after the container finished; a container
that ran 10 minutes since its last restart starts again from no delay. Docker's own back-off
(100 ms doubling to 1 min) would neither look nor pace like Kubernetes.

Counts and delays live in the state volume, so a replaced controller keeps them. Restarts is pure
apart from load/save; fresh_start is the worker that makes the new container.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import AbstractSet

from ..runtime import labels as L
from ..runtime.files import replace_file
from ..runtime.log_paths import previous_log_path
from ..runtime.restart import holder_of, plan_of, pod_address, restart_fresh
from .statefiles import read_text

INITIAL_BACKOFF = 10.0
MAX_BACKOFF = 300.0
RESET_AFTER = 2 * MAX_BACKOFF  # flowcontrol.Backoff forgets an entry after 2 x its maximum
KEEP_UNSEEN = 60.0  # an entry of a container not observed is kept this long after its restart
SWAP_SEEN_WITHIN = 10.0  # most a restart waits for a tick to observe the new container


@dataclass
class Entry:
    restarts: int = 0
    backoff: float = 0.0  # the delay the next restart waits, once one has happened
    last_restart: float = 0.0  # wall-clock time of the last restart
    last: dict = field(default_factory=dict)  # the previous run's end: lastState.terminated


def should_restart(policy: str, exit_code: int) -> bool:
    """restartPolicy: Always restarts any exit, OnFailure a non-zero one, Never none."""
    if policy == "Never":
        return False
    return policy != "OnFailure" or exit_code != 0


class Restarts:
    """Per container (Docker id): how often it was restarted and how long the next one waits."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self.entries: dict[str, Entry] = {}
        self._saved = ""
        if self.path:
            try:
                raw = json.loads(read_text(self.path) or "{}")
                self.entries = {k: Entry(**v) for k, v in raw.items()}
            except (ValueError, TypeError, AttributeError):
                self.entries = {}

    def count(self, container_id: str) -> int:
        entry = self.entries.get(container_id)
        return entry.restarts if entry else 0

    def _expired(self, entry: Entry, finished: float) -> bool:
        return finished - entry.last_restart > RESET_AFTER

    def wait_left(self, container_id: str, finished: float, now: float) -> float:
        """Seconds until a container that finished at `finished` may start again (0: now)."""
        entry = self.entries.get(container_id)
        if entry is None or entry.backoff == 0 or self._expired(entry, finished):
            return 0.0
        return max(0.0, finished + entry.backoff - now)

    def current_backoff(self, container_id: str, finished: float) -> float:
        entry = self.entries.get(container_id)
        if entry is None or self._expired(entry, finished):
            return 0.0
        return entry.backoff

    def restarted(self, container_id: str, finished: float, now: float) -> int:
        """Record a restart; returns the new count."""
        entry = self.entries.setdefault(container_id, Entry())
        if entry.backoff == 0 or self._expired(entry, finished):
            entry.backoff = INITIAL_BACKOFF
        else:
            entry.backoff = min(entry.backoff * 2, MAX_BACKOFF)
        entry.restarts += 1
        entry.last_restart = now
        return entry.restarts

    def restarted_since(self, container_id: str, finished: float) -> bool:
        """A restart was recorded after the container ended: its new container is being made."""
        entry = self.entries.get(container_id)
        return entry is not None and finished > 0 and entry.last_restart >= finished

    def last_state(self, container_id: str) -> dict:
        entry = self.entries.get(container_id)
        return dict(entry.last) if entry else {}

    def moved(self, old_id: str, new_id: str, last: dict) -> None:
        """The restart made a new container: its count, back-off and lastState go with it."""
        entry = self.entries.pop(old_id, None) or Entry()
        entry.last = last
        self.entries[new_id] = entry

    def keep_only(self, live_ids: AbstractSet[str | None], now: float | None = None) -> None:
        """Forget containers no longer there; one just restarted may not be observed yet."""
        now = time.time() if now is None else now
        for cid in [c for c, e in self.entries.items() if c not in live_ids and now - e.last_restart > KEEP_UNSEEN]:
            del self.entries[cid]

    def save(self) -> None:
        if not self.path:
            return
        text = json.dumps({k: asdict(v) for k, v in self.entries.items()}, sort_keys=True)
        if text != self._saved:
            replace_file(self.path, text)
            self._saved = text


def terminated(container) -> dict:
    """A stopped container's end as a ContainerStateTerminated (Docker's times)."""
    state = container.attrs["State"]
    code = int(state.get("ExitCode") or 0)
    reason = "OOMKilled" if state.get("OOMKilled") else ("Completed" if code == 0 else "Error")
    return {"exitCode": code, "reason": reason, "startedAt": state.get("StartedAt", ""),
            "finishedAt": state.get("FinishedAt", "")}


def fresh_start(ctrl, pod, container) -> None:
    """(A worker) restart a stopped container as a new one from its image. The pod counts as
    being made (ctrl.creating) until a tick has observed the engine after the swap: out of
    endpoints, its half-made state not taken for a pod to replace, the new container not
    inspected before it runs, and the old one, still in an earlier listing, not restarted again."""
    holder = holder_of(ctrl.client, container)
    plan = plan_of(holder)
    object.__setattr__(plan, "_ip", pod.ip or pod_address(ctrl.ctx, holder))
    ctrl.creating[pod.key] = plan
    path = previous_log_path(ctrl.state_dir, pod.namespace, pod.name, container.labels.get(L.CONTAINER, ""))

    def keep(output: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, output.decode(errors="replace"))

    try:
        new = restart_fresh(ctrl.client, ctrl.ctx, container, ctrl.objects, keep)
        ctrl.restarts.moved(container.id, new.id, terminated(container))
        swapped = time.monotonic()
        ctrl.listed = None  # the next tick lists the containers again
        ctrl.engine_changed()
        deadline = swapped + SWAP_SEEN_WITHIN
        while ctrl.observed_at < swapped and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        ctrl.creating.pop(pod.key, None)
