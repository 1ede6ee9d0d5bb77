"""Entry point of the controller container: `python3 -m emukube.controller`."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading

import docker

from ..runtime import labels as L
from ..runtime.pods import context_from_env
from .loop import Controller


def main() -> None:
    env = os.environ
    # Pods, probes and proxies each have a pool of 8 workers talking to the engine at once.
    client = docker.from_env(timeout=120, max_pool_size=32)
    me = client.containers.get(env["EMUKUBE_SELF"])
    objects = json.loads(me.labels[L.OBJECTS])
    ctx = context_from_env(env)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def out(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    Controller(client, ctx, objects, me.labels[L.GENERATION], "/state", "/dns", out).run(stop)


if __name__ == "__main__":
    main()
