"""The host's way to the controller's report (runtime/report.py) while it waits on a cluster:
through the cluster's API, which holds each request until a newer report is written
(apiserver/controller_report.py); else, for a controller of an older emukube or an API that is
restarting, the file copied out of the state volume through the engine, every FALLBACK_EVERY."""

from __future__ import annotations

import json
import time
from typing import Callable

from ..errors import EmukubeError
from ..runtime.report import REPORT_PATH as PATH
from ..runtime.report import Report
from . import connection

FALLBACK_EVERY = 0.25
MIN_GAP = 0.05  # between two answers: the controller writes a report every tick, busy ones too


class ReportReader:
    def __init__(self, controller: Callable[[], object | None], from_volume: Callable[[], Report | None]):
        self.controller, self.from_volume = controller, from_volume
        self.version = ""
        self.answered_at = 0.0
        self.held: object | None = None  # the controller, looked up again after a failure (it may have been replaced)

    def next(self, wait: float) -> Report | None:
        """A report newer than the last one returned, waiting up to `wait` seconds for it (the
        latest one when none came); None when the controller has written none yet."""
        gap = self.answered_at + MIN_GAP - time.monotonic()
        if gap > 0:
            time.sleep(gap)
        report = self._from_api(wait)
        if report is None:
            time.sleep(FALLBACK_EVERY)
            report = self.from_volume()
        self.answered_at = time.monotonic()
        return report

    def _from_api(self, wait: float) -> Report | None:
        controller = self.held = self.held or self.controller()
        if controller is None:
            return None
        try:
            answer = connection.client_for(controller).request(
                "GET", PATH, query={"after": self.version, "timeoutSeconds": f"{max(0.0, wait):.2f}"})
            self.version = str(answer["version"])
            return Report.from_json(json.dumps(answer["report"]))
        except (EmukubeError, OSError, ValueError, KeyError, TypeError):
            self.held = None
            return None  # an older controller (404), its API restarting, no report yet
