"""ConfigMap, Secret, downwardAPI and projected volumes that follow their objects and the pod's
own labels and annotations, as the kubelet's AtomicWriter keeps them.

Each such volume of a pod is a directory in the cluster's config volume, a Docker volume on
tmpfs (Secrets never reach the host's disk), which the controller mounts and writes and the pod's
containers bind-mount read-only. The directory holds a timestamped directory with the files,
`..data` -> that directory, and per top-level name `name -> ..data/name`; an update writes a new
timestamped directory, renames a new `..data` symlink over the old one (atomic: a reader sees
either payload whole) and removes the old directory, so applications that watch `..data` (or
just reread) see the change within a tick of the controller."""

from __future__ import annotations

import os
import random
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from docker.types import Mount

from ..k8s.keys import object_key, split
from ..plan import config_volumes as cv
from ..plan.api_access import account_of
from . import engine
from . import labels as L
from .podspec import Refs, lookup_in

DATA = "..data"


def write_payload(target: Path, files: cv.Payload, group: int | None = None) -> bool:
    """Make `target` hold exactly these files (AtomicWriter.Write); False when it already did."""
    target.mkdir(parents=True, exist_ok=True)
    os.chmod(target, 0o777)  # an emptyDir's mode, which the kubelet wraps these volumes in
    data = target / DATA
    old = os.readlink(data) if data.is_symlink() else None
    if old is not None and _holds(target / old, files):
        return False
    stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime())
    new = target / f"{stamp}{random.randrange(10**9):09d}"
    new.mkdir(mode=0o755)
    os.chmod(new, 0o755)
    for path, (content, mode) in files.items():
        file = new / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(content)
        os.chmod(file, mode)
        if group is not None:
            os.chown(file, -1, group)
    tmp = target / f"{DATA}_tmp"
    tmp.unlink(missing_ok=True)
    os.symlink(new.name, tmp)
    os.rename(tmp, data)
    shown = cv.top_level(files)
    for name in shown:
        link = target / name
        if not link.is_symlink():
            os.symlink(f"{DATA}/{name}", link)
    if old is not None:
        for name in cv.top_level(_read(target / old)) - shown:
            (target / name).unlink(missing_ok=True)
        shutil.rmtree(target / old, ignore_errors=True)
    return True


def _read(folder: Path) -> cv.Payload:
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mode & 0o7777)
            for p in folder.rglob("*") if p.is_file()}


def _holds(folder: Path, files: cv.Payload) -> bool:
    return _read(folder) == files


Minter = Callable[[str, str, "str | None", int], str]  # (namespace, account, audience, seconds) -> a token
DEFAULT_SECONDS = 3600  # a projected serviceAccountToken's expirationSeconds when it sets none
REFRESH_AFTER = 24 * 3600  # the kubelet's token manager renews a token at least daily (maxTTL)


def token_due(issued: float, seconds: int, now: float) -> bool:
    """The kubelet's requiresRefresh: within the last 20% of the token's life, or a day old."""
    return now >= issued + seconds * 0.8 or now >= issued + REFRESH_AFTER


class ConfigVolumes:
    """The config volume: `local` where the controller has it mounted, `host` where the engine's
    host has it (the pods' bind mounts name that). One directory per pod, one below per volume.
    `minter` makes projected serviceAccountTokens, `allocatable` is what resourceFieldRefs read
    of a limit the container does not set."""

    def __init__(self, local: str, host: str, hold: Callable[[], None] | None = None,
                 minter: Minter | None = None, allocatable: dict | None = None):
        self.local, self.host = Path(local), host
        self._hold = hold  # called once, in a thread, when the first volume is written (see hold())
        self._minter, self._allocatable = minter, allocatable or {}
        self._lock = threading.Lock()
        self._written: dict[tuple[str, str, str], str] = {}  # (namespace, pod, volume) -> digest
        # Each pod's tokens (and when each was made), made again only when due (token_due): a token
        # made anew each tick would rewrite the file each tick.
        self._tokens: dict[tuple[str, str, str, str | None, int], tuple[bytes, float]] = {}
        self._last: tuple | None = None

    def _pod_dir(self, namespace: str, pod: str) -> str:
        return f"{namespace}_{pod}"

    def write(self, namespace: str, pod: str, volume: str, files: cv.Payload, group: int | None) -> tuple[str, bool]:
        """Bring the pod's volume up to date; (the engine host's path of it, whether it changed)."""
        folder = f"{self._pod_dir(namespace, pod)}/{volume}"
        digest = cv.digest(files, group)
        key = (namespace, pod, volume)
        with self._lock:
            if self._hold is not None:
                threading.Thread(target=self._hold, daemon=True).start()
                self._hold = None
            changed = False
            if self._written.get(key) != digest or not (self.local / folder / DATA).is_symlink():
                changed = write_payload(self.local / folder, files, group)
                self._written[key] = digest
        return f"{self.host}/{folder}", changed

    def mount_source(self, namespace: str, pod: str, spec: dict, objects: list[dict], volume: str,
                     meta: dict) -> str | None:
        """The engine host's path a container bind-mounts for this volume, written first; None
        for a volume not kept here. `meta`: the pod's metadata, for the downward API."""
        files = self.payloads(namespace, spec, objects, self.side(namespace, pod, spec, meta)).get(volume)
        if files is None:
            return None
        return self.write(namespace, pod, volume, files, cv.fs_group(spec))[0]

    def side(self, namespace: str, pod: str, spec: dict, meta: dict) -> cv.PodSide:
        account = account_of(spec)
        minter = self._minter

        def token(audience: str | None, expiration: int | None) -> bytes:
            key = (namespace, pod, account, audience, expiration or DEFAULT_SECONDS)
            if key not in self._tokens and minter is not None:  # setdefault: pods' threads race here
                self._tokens.setdefault(key, (minter(namespace, account, audience, key[4]).encode(), time.time()))
            return self._tokens.get(key, (b"", 0.0))[0]

        return cv.PodSide({**meta, "name": pod, "namespace": namespace}, self._allocatable,
                          token if minter is not None else None)

    @staticmethod
    def payloads(namespace: str, spec: dict, objects: list[dict], side: cv.PodSide) -> dict[str, cv.Payload]:
        return cv.live_volumes(spec, lookup_in(Refs(objects), namespace), side)

    def sync(self, version: int, pods: list[tuple[str, str, dict, dict]], objects: list[dict],
             keep: set[str]) -> list[str]:
        """Rewrite what changed in the volumes of these running pods (namespace, name, spec,
        metadata) since objects `version` and their metadata; remove the directories of pods
        gone (`keep`: pods being made). Returns "namespace/pod/volume" of each volume updated."""
        seen = frozenset(object_key(ns, name) for ns, name, _, _ in pods)
        stamp = (version, seen, tuple(_meta_stamp(meta) for _, _, _, meta in pods))
        now = time.time()
        with self._lock:
            due = [key for key, (_, issued) in self._tokens.items() if token_due(issued, key[4], now)]
            for key in due:  # made again below, in the file's place (the kubelet's rotation)
                del self._tokens[key]
        if self._last == stamp and not due:
            return []
        self._last = stamp
        updated = []
        for ns, name, spec, meta in pods:
            group = cv.fs_group(spec)
            for volume, files in self.payloads(ns, spec, objects, self.side(ns, name, spec, meta)).items():
                try:
                    if self.write(ns, name, volume, files, group)[1]:
                        updated.append(f"{ns}/{name}/{volume}")
                except OSError:  # (a full tmpfs) the pod keeps what it has, as with the kubelet
                    self._last = None  # tried again next tick
        wanted = {self._pod_dir(*split(pod)) for pod in seen | keep}
        with self._lock:
            for folder in self.local.iterdir() if self.local.is_dir() else []:
                if folder.name not in wanted:
                    shutil.rmtree(folder, ignore_errors=True)
            for written in [k for k in self._written if self._pod_dir(k[0], k[1]) not in wanted]:
                del self._written[written]
            for token in [k for k in self._tokens if self._pod_dir(k[0], k[1]) not in wanted]:
                del self._tokens[token]
        return updated


def _meta_stamp(meta: dict) -> tuple:
    """What of a pod's metadata its downward API volumes show."""
    return (meta.get("uid"), tuple(sorted((meta.get("labels") or {}).items())),
            tuple(sorted((meta.get("annotations") or {}).items())))


def config_mounts(volumes: ConfigVolumes | None, namespace: str, pod: str, spec: dict, container: dict,
                  objects: list[dict], meta: dict) -> list[Mount]:
    """The container's read-only bind mounts of its live configMap, secret, downwardAPI and
    projected volumes (none outside the controller: there they are copied in, see
    podspec.volume_files)."""
    if volumes is None:
        return []
    out = []
    for m in container.get("volumeMounts") or []:
        if m.get("subPath") or m.get("subPathExpr"):
            continue
        source = volumes.mount_source(namespace, pod, spec, objects, m["name"], meta)
        if source is not None:
            out.append(Mount(target=m["mountPath"], source=source, type="bind", read_only=True))
    return out


def hold(client, cluster: str, volume: str, image: str) -> None:
    """Keep the config volume mounted while the controller is replaced or restarted: the engine
    unmounts a tmpfs volume no container uses, the next controller would get a new, empty one,
    and running pods would keep the old one, written no more. A pause container, no network."""
    name = f"{cluster}_config-holder"
    existing = engine.get_container(client, name)
    if existing is not None and existing.status == "running":
        return
    if existing is not None:
        engine.remove(existing)
    container = engine.create(client, name, image, labels={L.CLUSTER: cluster, L.ROLE: L.Role.VOLUME_HOLDER},
                              host_config=dict(binds={volume: {"bind": "/config", "mode": "ro"}},
                                               network_mode="none", restart_policy={"Name": "always"}))
    container.start()
