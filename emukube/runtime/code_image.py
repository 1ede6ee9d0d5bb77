"""The controller's image: the controller role's image with emukube's code in it, compiled.

Made once per code version and base image, and tagged by both; every `up` then starts its
controller from it. Before, each new controller had its code copied in (0.2 s of the engine's
time) and compiled it in both of its processes (0.3 s of CPU), all before the first pod could
start. Images of older versions are removed once no container uses them and they are an hour
old (a concurrent `up` of that version would be between making and using it before that)."""

from __future__ import annotations

import hashlib
import time
from typing import Callable

import docker.errors

from . import engine
from .images import BuildError, build_lock, present

REPO = "emukube/controller"
LABEL = "io.emukube.image"
PRUNE_AFTER = 3600.0
COMPILE = ["python3", "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]


def ref_for(client, base: str, version: str) -> str:
    """The tag for code `version` on image `base` (by its id: a rebuilt base is another)."""
    base_id = client.images.get(base).id
    return f"{REPO}:{hashlib.sha256(f'{base_id} {version}'.encode()).hexdigest()[:12]}"


def ensure(client, base: str, version: str, archive: Callable[[], bytes], package_dir: str) -> str:
    """The image's reference, made first when missing: `archive()` is the tar of the code,
    extracted at /, and `package_dir` the package in it that is compiled."""
    ref = ref_for(client, base, version)
    if present(client, ref):
        return ref
    with build_lock():  # a concurrent `up` (another test worker) may be making the same one
        if not present(client, ref):
            _make(client, base, ref, archive(), package_dir)
            _prune(client, keep=ref)
    return ref


def _make(client, base: str, ref: str, archive: bytes, package_dir: str) -> None:
    tag = ref.rpartition(":")[2]
    name = f"emukube-build-controller-{tag}"
    left = engine.get_container(client, name)  # from a build that was interrupted
    if left is not None:
        engine.remove(left)
    container = client.containers.create(base, [*COMPILE, package_dir], name=name, network_mode="none",
                                         labels={LABEL: "controller-build"})
    try:
        container.put_archive("/", archive)
        container.start()
        code = container.wait(timeout=300).get("StatusCode")
        if code != 0:
            tail = container.logs(tail=20).decode(errors="replace")
            raise BuildError(f"controller image: compiling the code exited {code}: {tail}")
        # The base's own command stays the image's: the controller names its command anyway.
        base_cmd = client.images.get(base).attrs.get("Config", {}).get("Cmd")
        container.commit(repository=REPO, tag=tag, conf={"Cmd": base_cmd, "Labels": {LABEL: "controller"}})
    finally:
        engine.remove(container)


def _prune(client, keep: str) -> None:
    """Older versions' images no container uses (the engine refuses to remove one in use)."""
    for image in client.images.list(REPO):
        if keep in image.tags or time.time() - _created(image) < PRUNE_AFTER:
            continue
        for tag in image.tags:
            try:
                client.images.remove(tag, noprune=False)
            except docker.errors.APIError:
                pass  # in use by a container, stopped ones included


def _created(image) -> float:
    from datetime import datetime

    stamp = image.attrs.get("Created", "")
    try:
        return datetime.fromisoformat(stamp[:26].rstrip("Z") + "+00:00").timestamp()
    except ValueError:
        return time.time()
