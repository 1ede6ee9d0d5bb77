"""PodLogOptions (the pods/log query) as the engine's logs query. Pure.

A restart makes a new container (controller/restarts.py), whose engine log holds its own run; the
run before it is kept as a file, which logs.py serves for `previous`. A container restarted in
place (by an older controller) holds all its runs: one run is cut out of its log by time. While
such a container runs, the previous run ended at State.FinishedAt and this one began at
State.StartedAt: the middle of that gap splits the two (a line's timestamp is taken when the
engine reads it, so neither bound is exact). `previous` is everything before the current run:
with several restarts, every earlier run, not only the last one."""

from __future__ import annotations

from ...k8s.times import epoch
from .. import errors

MARGIN = 0.5  # seconds before a stopped container's StartedAt still counted as that run's
_INT_PARAMS = ("tailLines", "sinceSeconds", "limitBytes")


def rfc3339(text: str) -> float:
    """Epoch seconds of a Docker or Kubernetes timestamp, with its fraction (0 when unknown)."""
    return epoch(text)


def numbers(query, pod: str = "") -> dict[str, int]:
    """The integer options, checked as the API server's ValidatePodLogOptions does."""
    out = {}
    for key in _INT_PARAMS:
        raw = query.get(key)
        if raw is None or raw == "":
            continue
        try:
            value = int(raw)
        except ValueError:
            raise errors.bad_request(f'strconv.ParseInt: parsing "{raw}": invalid syntax') from None
        if value < (0 if key == "tailLines" else 1):
            why = "must be greater than or equal to 0" if key == "tailLines" else "must be greater than 0"
            raise errors.ApiError(422, "Invalid", f'PodLogOptions "{pod}" is invalid: '
                                  f"{key}: Invalid value: {value}: {why}", {"name": pod, "kind": "PodLogOptions"})
        out[key] = value
    return out


def run_window(state: dict, restarts: int, previous: bool) -> tuple[float, float]:
    """(since, until) in epoch seconds (0: open) of the run asked for."""
    started, finished = rfc3339(state.get("StartedAt", "")), rfc3339(state.get("FinishedAt", ""))
    if restarts == 0 or not started:
        return 0.0, 0.0
    if state.get("Running") and finished and finished < started:
        split = (finished + started) / 2
        return (0.0, split) if previous else (split, 0.0)
    # Stopped (a crash loop's wait): its last run is both the current and the previous one.
    return max(0.0, started - MARGIN), 0.0


def engine_params(query, state: dict, restarts: int, now: float, pod: str = "") -> dict[str, int | str]:
    """The engine's /containers/ID/logs parameters for a pods/log query."""
    truthy = lambda key: (query.get(key) or "").lower() in ("1", "true")  # noqa: E731
    n = numbers(query, pod)
    since, until = run_window(state, restarts, truthy("previous"))
    if "sinceSeconds" in n:
        since = max(since, now - n["sinceSeconds"])
    elif query.get("sinceTime"):
        since = max(since, rfc3339(query["sinceTime"]))
    params: dict[str, int | str] = {"stdout": 1, "stderr": 1, "follow": int(truthy("follow") and not until),
              "timestamps": int(truthy("timestamps"))}
    if "tailLines" in n:
        params["tail"] = n["tailLines"]
    if since:
        params["since"] = f"{since:.9f}"
    if until:
        params["until"] = f"{until:.9f}"
    return params


def saved_log(data: bytes, params: dict) -> bytes:
    """A log kept as a file of timestamped lines (an init container's, see runtime/pods.py)
    cut as the engine cuts a container's log with the same parameters."""
    since, until = float(params.get("since") or 0), float(params.get("until") or 0)
    kept = []
    for line in data.splitlines(keepends=True):
        stamp, _, text = line.partition(b" ")
        at = rfc3339(stamp.decode(errors="replace"))
        if (since and at < since) or (until and at > until):
            continue
        kept.append(line if params.get("timestamps") else text)
    if "tail" in params:
        kept = kept[len(kept) - params["tail"]:] if params["tail"] else []
    return b"".join(kept)
