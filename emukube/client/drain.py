"""Evicting a node's pods as `kubectl drain` does (k8s.io/kubectl/pkg/drain): through the
pods/eviction subresource, so that PodDisruptionBudgets hold; an eviction refused with 429 is
tried again every 5 s until the timeout, each refusal told with kubectl's words."""

from __future__ import annotations

import time
from typing import Callable

from ..errors import EmukubeError
from ..k8s.client import ApiError, path_of
from ..k8s.resources import BY_KEY

RETRY_SECONDS = 5.0


class DrainFailed(EmukubeError):
    """Evictions still refused at the timeout (kubectl drain exits 1 then too)."""

    exit_code = 1


def retry_line(namespace: str, name: str, message: str) -> str:
    """What kubectl drain prints for an eviction it will try again."""
    return f'error when evicting pods/"{name}" -n "{namespace}" (will retry after 5s): {message}'


def evict_all(api, node: str, pods: list[tuple[str, str]], timeout: float,
              retried: Callable[[str], None] | None = None) -> list[tuple[str, str]]:
    """Evict (namespace, name) pods; returns those evicted (a pod already gone counts). Raises
    EmukubeError, naming the pods left, once `timeout` seconds pass with evictions refused."""
    deadline = time.monotonic() + timeout
    left, done = list(pods), []
    while left:
        refused = []
        for ns, name in left:
            body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": ns}}
            try:
                api.request("POST", path_of(BY_KEY["pods"], ns, name, "eviction"), body)
            except ApiError as exc:
                if exc.code != 404:
                    if exc.code != 429:
                        raise
                    refused.append((ns, name, exc.message))
                    continue
            done.append((ns, name))
        left = [(ns, name) for ns, name, _ in refused]
        if left and time.monotonic() + RETRY_SECONDS > deadline:
            reasons = ", ".join(f'error when evicting pods/"{name}" -n "{ns}": global timeout reached: {timeout:g}s'
                                for ns, name in left)
            raise DrainFailed(f'error: unable to drain node "{node}" due to error: [{reasons}]')
        for ns, name, message in refused:
            if retried is not None:
                retried(retry_line(ns, name, message))
        if left:
            time.sleep(RETRY_SECONDS)
    _wait_deleted(api, done, deadline)
    return done


def _wait_deleted(api, pods: list[tuple[str, str]], deadline: float) -> None:
    """waitForDelete: each evicted pod gone (its name may come back: a StatefulSet's, a new uid)."""
    uids = {}
    for ns, name in pods:
        try:
            uids[(ns, name)] = api.get(BY_KEY["pods"], ns, name)["metadata"].get("uid")
        except ApiError as exc:
            if exc.code != 404:
                raise
    while uids and time.monotonic() < deadline:
        time.sleep(1)
        for (ns, name), uid in list(uids.items()):
            try:
                if api.get(BY_KEY["pods"], ns, name)["metadata"].get("uid") == uid:
                    continue
            except ApiError as exc:
                if exc.code != 404:
                    raise
            del uids[(ns, name)]
