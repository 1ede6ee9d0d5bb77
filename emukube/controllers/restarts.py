"""kubelet's container restarts: restartPolicy, CrashLoopBackOff and the RESTARTS count.

Pod containers run with Docker's restart policy "no"; the controller restarts them itself, with
kubelet's back-off (pkg/kubelet/kuberuntime, flowcontrol.Backoff): the first restart is at once,
then each one waits 10 s, 20 s, 40 s ... up to 5 min after the container finished; a container
that ran 10 minutes since its last restart starts again from no delay. Docker's own back-off
(100 ms doubling to 1 min) would neither look nor pace like Kubernetes.

Counts and delays live in the state volume, so a replaced controller keeps them. Pure apart from
load/save.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from .statefiles import read_text, write_atomic

INITIAL_BACKOFF = 10.0
MAX_BACKOFF = 300.0
RESET_AFTER = 2 * MAX_BACKOFF  # flowcontrol.Backoff forgets an entry after 2 x its maximum


@dataclass
class Entry:
    restarts: int = 0
    backoff: float = 0.0  # the delay the next restart waits, once one has happened
    last_restart: float = 0.0  # wall-clock time of the last restart


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

    def keep_only(self, live_ids: set[str]) -> None:
        for cid in [c for c in self.entries if c not in live_ids]:
            del self.entries[cid]

    def save(self) -> None:
        if not self.path:
            return
        text = json.dumps({k: asdict(v) for k, v in self.entries.items()}, sort_keys=True)
        if text != self._saved:
            write_atomic(self.path, text)
            self._saved = text
