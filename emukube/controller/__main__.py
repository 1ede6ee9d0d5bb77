"""Entry point of the controller container: `python3 -m emukube.controller`."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading

import docker

from ..plan.network import ClusterNet
from ..runtime import labels as L
from ..runtime.pods import Context
from .loop import Controller


def main() -> None:
    env = os.environ
    client = docker.from_env(timeout=120)
    me = client.containers.get(env["EMUKUBE_SELF"])
    objects = json.loads(me.labels[L.OBJECTS])
    ctx = Context(
        cluster=env["EMUKUBE_CLUSTER"],
        net=ClusterNet.from_subnet(env["EMUKUBE_CLUSTER"], env["EMUKUBE_SUBNET"]),
        images=json.loads(env["EMUKUBE_IMAGES"]),
        image_map=json.loads(env.get("EMUKUBE_IMAGE_MAP") or "{}"),
        node_address=env.get("EMUKUBE_NODE_ADDRESS", "127.0.0.1"),
        allow_privileged=env.get("EMUKUBE_ALLOW_PRIVILEGED") == "1",
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def out(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    Controller(client, ctx, objects, me.labels[L.GENERATION], "/state", "/dns", out).run(stop)


if __name__ == "__main__":
    main()
