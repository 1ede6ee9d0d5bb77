"""How many containers the controller makes at once, and which go first.

Beyond a few at once the engine only gets slower for all of them (100 Services: load average
25). Within that limit the data plane goes first: a Service answers only once its proxy runs,
and pods look names up in CoreDNS as they start, so proxies, node proxies and CoreDNS never
queue behind pods. When `up` made every pod first, CoreDNS and the last proxies were made after
them, and `up` ended 0.7 s after its last pod was ready."""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator


class EngineSlots:
    def __init__(self, size: int, kept_for_data_plane: int = 1):
        self.size, self.kept = size, kept_for_data_plane
        self.cond = threading.Condition()
        self.held = {True: 0, False: 0}  # data plane -> slots it holds
        self.waiting_data_plane = 0

    @contextlib.contextmanager
    def pod(self) -> Iterator[None]:
        """A slot for making a pod's containers: never the last ones, nor one a proxy waits for."""
        with self._held(data_plane=False):
            yield

    @contextlib.contextmanager
    def data_plane(self) -> Iterator[None]:
        """A slot for making a proxy or CoreDNS: before any pod waiting for one."""
        with self._held(data_plane=True):
            yield

    @contextlib.contextmanager
    def _held(self, data_plane: bool) -> Iterator[None]:
        with self.cond:
            self.waiting_data_plane += data_plane
            try:
                self.cond.wait_for(lambda: self._may_take(data_plane))
            finally:
                self.waiting_data_plane -= data_plane
            self.held[data_plane] += 1
        try:
            yield
        finally:
            with self.cond:
                self.held[data_plane] -= 1
                self.cond.notify_all()

    def _may_take(self, data_plane: bool) -> bool:
        if self.held[True] + self.held[False] >= self.size:
            return False
        return data_plane or (self.held[False] < self.size - self.kept and not self.waiting_data_plane)
