"""The container images emukube runs: where they come from, and how to build them offline.

Every role (haproxy, nginx, controller, echo, pause, coredns) has an *offline build*, made
from the sources under ``images/`` without any registry, and most have an *upstream*
reference for users who can pull. Offline builds are tagged ``emukube/<name>:<input hash>``,
so a tag that is present is up to date by construction and ``build`` can skip it.

Images built here: ``base`` (debootstrapped Debian: HAProxy, nginx stream, python3 + docker
SDK, workshop tools), ``echo`` (base + netexec), ``pause`` and ``coredns`` (static Go, scratch).
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import docker
import docker.errors

from ..plan import image_map

Log = Callable[[str], None]


@dataclass(frozen=True)
class ImageSpec:
    name: str  # "base" | "echo" | "pause" | "coredns"
    upstream: str | None  # the registry image that can stand in for the offline build
    offline_repo: str  # repository of the offline build; its tag is input_hash(name)


_BASE = ImageSpec("base", None, "emukube/base")
IMAGES: dict[str, ImageSpec] = {
    "base": _BASE,
    "echo": ImageSpec("echo", None, "emukube/echo"),
    "pause": ImageSpec("pause", "registry.k8s.io/pause:3.10", "emukube/pause"),
    "coredns": ImageSpec("coredns", "coredns/coredns:1.12.4", "emukube/coredns"),
    "nginx-standin": ImageSpec("nginx-standin", None, "emukube/nginx-standin"),
    "agnhost-standin": ImageSpec("agnhost-standin", None, "emukube/agnhost-standin"),
    "serve-hostname-standin": ImageSpec("serve-hostname-standin", None, "emukube/serve-hostname-standin"),
    # The one base image is also the proxy and the controller image.
    "proxy": _BASE,
    "controller": _BASE,
}

# role -> (offline image, upstream reference). The base image has no single upstream: it
# stands in for both haproxy and nginx, while the controller only exists as a build.
ROLES: dict[str, tuple[str, str | None]] = {
    "haproxy": ("base", "haproxy:2.6"),
    "nginx": ("base", "nginx:1.27"),
    "controller": ("base", None),
    "echo": ("echo", None),
    "pause": ("pause", "registry.k8s.io/pause:3.10"),
    "coredns": ("coredns", "coredns/coredns:1.12.4"),
}

# Build order and parents (images built FROM another offline image hash that one too).
_ORDER = ("base", "echo", "pause", "coredns", "nginx-standin", "agnhost-standin", "serve-hostname-standin")
_FROM = {"echo": ("base",), "nginx-standin": ("base",), "agnhost-standin": ("echo",),
         "serve-hostname-standin": ("echo",)}

# Images manifests often name that a machine without a registry cannot pull (repository ->
# image): when the pull fails, a pod runs emukube's stand-in in their place, and an event says
# so (runtime/pods.py). The base image is Debian bookworm with busybox's tools (sh, wget,
# nslookup, nc, ...): it serves what pods run in busybox, alpine and debian, a shell and those
# tools. nginx-standin is Debian's nginx laid out as the official image; agnhost-standin answers
# as the subcommands of Kubernetes' test image that its e2e tests and docs run most, and
# serve-hostname-standin as its forerunner, which the docs' "Debug Services" deploys.
STAND_INS = {"docker.io/library/busybox": "base", "docker.io/library/alpine": "base",
             "docker.io/library/debian": "base", "docker.io/library/nginx": "nginx-standin",
             "registry.k8s.io/e2e-test-images/agnhost": "agnhost-standin",
             "registry.k8s.io/serve_hostname": "serve-hostname-standin"}
# Bump when the build recipe in this file changes in a way that changes the images.
_RECIPE = "1"
_IGNORED_PARTS = {"__pycache__", ".git"}


class ImageMissing(Exception):
    """No image for a role is present locally (and there is no override)."""

    def __init__(self, role: str, refs_tried: list[str]):
        self.role, self.refs_tried = role, list(refs_tried)
        how = "run `emukube images build --offline`"
        if ROLES.get(role, (None, None))[1]:
            how += " or `emukube images pull`"
        super().__init__(
            f"no image for {role}: none of {', '.join(refs_tried)} is present locally; {how}"
        )


class BuildError(Exception):
    """An offline build failed; the message carries the tail of its output."""


class PullError(Exception):
    """One or more upstream images could not be pulled."""


# ---------------------------------------------------------------------------- references


def _src_dir() -> Path:
    # In a wheel, pyproject force-includes images/ as emukube/images-src/.
    package = Path(__file__).resolve().parents[1]
    packaged = package / "images-src"
    return packaged if packaged.is_dir() else package.parent / "images"


def _spec(name: str) -> ImageSpec:
    try:
        return IMAGES[name]
    except KeyError:
        raise ValueError(f"unknown image {name!r}; known: {', '.join(IMAGES)}") from None


def input_hash(name: str) -> str:
    """First 12 hex of a sha256 over the build inputs of image ``name`` (aliases allowed):
    every file under images/<name>/ (base's packages.txt included), the hashes of the
    offline images it is built FROM, and the recipe version."""
    spec = _spec(name)
    root = _src_dir() / spec.name
    files = sorted(
        p for p in root.rglob("*")
        if p.is_file() and not _IGNORED_PARTS & set(p.relative_to(root).parts)
    )
    if not files:
        raise FileNotFoundError(f"no build inputs for image {spec.name!r} in {root}")
    h = hashlib.sha256(f"emukube-image {spec.name} recipe {_RECIPE}\n".encode())
    for parent in _FROM.get(spec.name, ()):
        h.update(f"from {offline_ref(parent)}\n".encode())
    for p in files:
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        h.update(f"{p.relative_to(root).as_posix()}\0{digest}\n".encode())
    return h.hexdigest()[:12]


def offline_ref(name: str) -> str:
    return f"{_spec(name).offline_repo}:{input_hash(name)}"


def present(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
        return True
    except docker.errors.ImageNotFound:
        return False


def _override(role: str) -> str | None:
    return os.environ.get(f"EMUKUBE_IMAGE_{role.upper()}") or None


def resolve(client: docker.DockerClient, role: str) -> str:
    """The image reference to run for ``role``: the EMUKUBE_IMAGE_<ROLE> override, else the
    offline build if present, else the upstream image if present, else ImageMissing."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; known: {', '.join(ROLES)}")
    if ref := _override(role):
        return ref
    image, upstream = ROLES[role]
    tried = [offline_ref(image)] + ([upstream] if upstream else [])
    for ref in tried:
        if present(client, ref):
            return ref
    raise ImageMissing(role, tried)


def stand_ins(client: docker.DockerClient) -> dict[str, str]:
    """The stand-ins present, as the controller's images (runtime/pods.py looks them up by
    image_map.stand_in_key): a missing one only means the pull failure shows."""
    out = {}
    for repository, name in STAND_INS.items():
        ref = offline_ref(name)
        if present(client, ref):
            out[image_map.stand_in_key(repository)] = ref
    return out


def status(client: docker.DockerClient) -> list[dict]:
    """One row per role, then one per stand-in: name, ref (what resolve() would run, or the offline ref to build
    when nothing is present), present, source ("offline build" | "upstream" | "override")."""
    rows = []
    for role, (image, upstream) in ROLES.items():
        if ref := _override(role):
            rows.append(dict(name=role, ref=ref, present=present(client, ref), source="override"))
            continue
        row: dict[str, Any] = dict(name=role, ref=offline_ref(image), present=False, source="offline build")
        if present(client, row["ref"]):
            row["present"] = True
        elif upstream and present(client, upstream):
            row.update(ref=upstream, present=True, source="upstream")
        rows.append(row)
    for repository, image in STAND_INS.items():
        ref = offline_ref(image)
        rows.append(dict(name=f"{repository.rsplit('/', 1)[-1]} stand-in", ref=ref, present=present(client, ref),
                         source="offline build"))
    return rows


# ---------------------------------------------------------------------------- building


def _images_for(names: Iterable[str] | None) -> list[str]:
    """Image names (aliases and roles accepted) plus their parents, in build order."""
    wanted: set[str] = set()
    for n in names or _ORDER:
        wanted.add(ROLES[n][0] if n in ROLES and n not in IMAGES else _spec(n).name)
    for n in list(wanted):
        wanted.update(_FROM.get(n, ()))
    return [n for n in _ORDER if n in wanted]


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    # Two emukube processes (say, parallel test runs) must not debootstrap the same image twice.
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    with open(Path(tempfile.gettempdir()) / "emukube-images.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _labels(name: str) -> dict[str, str]:
    return {"io.emukube.image": name, "io.emukube.input-hash": input_hash(name)}


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path.resolve()).rstrip("/") + "/"
    with open("/proc/self/mounts") as f:
        points = [line.split()[1] for line in f]
    return sorted((p for p in points if p.startswith(prefix)), reverse=True)


def _remove_tree(path: Path) -> None:
    # debootstrap mounts /proc (and in containers may bind /dev) inside the rootfs; deleting
    # through a mount that is still there would delete the host's files, so unmount first
    # and refuse to delete while anything stays mounted.
    for point in _mounts_under(path):
        subprocess.run(["umount", "-l", point], check=False)
    if left := _mounts_under(path):
        raise BuildError(f"still mounted, not deleting {path}: {left}")
    shutil.rmtree(path, ignore_errors=True)


def _run(cmd: list[str], log: Log, name: str, **kw) -> None:
    """Run cmd; pass its "==>" progress lines to log, keep the rest for the error message."""
    tail: collections.deque[str] = collections.deque(maxlen=40)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    assert proc.stdout
    for line in proc.stdout:
        line = line.rstrip()
        tail.append(line)
        if line.startswith("==> "):
            log(f"{name}: {line[4:]}")
    if proc.wait():
        raise BuildError(f"{name}: {' '.join(cmd)} failed (exit {proc.returncode}):\n" + "\n".join(tail))


def _go_build(src: Path, out: Path, log: Log, name: str) -> None:
    go = os.environ.get("GO") or shutil.which("go") or "/usr/local/go/bin/go"
    if not Path(go).exists() and not shutil.which(go):
        raise BuildError(f"{name}: needs Go (https://go.dev/dl/); set GO=/path/to/go")
    env = dict(os.environ, CGO_ENABLED="0", GOTOOLCHAIN="local")
    log(f"{name}: go build")
    _run([go, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", str(out), "."],
         log, name, cwd=src, env=env)


def _docker_build(client: docker.DockerClient, ctx: Path, ref: str, name: str, log: Log,
                  buildargs: dict[str, str] | None = None) -> None:
    log(f"{name}: docker build {ref}")
    tail: collections.deque[str] = collections.deque(maxlen=40)
    # pull=False: the FROM images are local (scratch or our base); there is no registry.
    for chunk in client.api.build(path=str(ctx), tag=ref, rm=True, forcerm=True, pull=False,
                                  buildargs=buildargs, labels=_labels(name), decode=True):
        if "stream" in chunk:
            tail.append(chunk["stream"].rstrip())
        if "error" in chunk:
            raise BuildError(f"{name}: docker build failed: {chunk['error']}\n" + "\n".join(tail))


def _build_one(client: docker.DockerClient, name: str, ref: str, log: Log) -> None:
    src = _src_dir() / name
    tmp = Path(tempfile.mkdtemp(prefix=f"emukube-{name}-"))
    try:
        if name == "base":
            _run(["bash", str(src / "build.sh"), str(tmp / "work"), ref], log, name)
            return
        ctx = tmp / "ctx"
        binary = {"echo": "netexec", "pause": "pause", "coredns": "coredns"}.get(name)
        if binary is None:  # files only
            shutil.copytree(src, ctx)
        else:
            ctx.mkdir()
            shutil.copy(src / "Dockerfile", ctx / "Dockerfile")
            _go_build(src, ctx / binary, log, name)
        parents = _FROM.get(name, ())
        args = {"BASE": offline_ref(parents[0])} if parents else None
        _docker_build(client, ctx, ref, name, log, args)
    finally:
        _remove_tree(tmp)


def build(client: docker.DockerClient, names: Iterable[str] | None = None, offline: bool = True,
          log: Log = print) -> list[str]:
    """Build the offline images that are missing (parents first) and return the refs built.

    names: image names, aliases or roles (default: all). With offline=False, the images that
    have an upstream (pause, coredns) are pulled instead of built when neither is present;
    base and echo exist only as builds.
    """
    built: list[str] = []
    with build_lock():  # inside the lock, so we see what a concurrent build just made
        for name in _images_for(names):
            ref = offline_ref(name)
            upstream = IMAGES[name].upstream
            if present(client, ref):
                log(f"{name}: {ref} present")
                continue
            if not offline and upstream:
                if not present(client, upstream):
                    pull(client, [name], log)
                    built.append(upstream)
                continue
            log(f"{name}: building {ref}")
            t0 = time.monotonic()
            _build_one(client, name, ref, log)
            if not present(client, ref):
                raise BuildError(f"{name}: build finished but {ref} is not in the engine")
            size = client.images.get(ref).attrs.get("Size", 0) / 1e6
            log(f"{name}: built {ref} in {time.monotonic() - t0:.0f}s ({size:.0f} MB)")
            built.append(ref)
        _tag_stable_names(client, log)
    return built


# Manifests name the echo app by a stable reference (not the input hash), with a non-latest tag
# so the default imagePullPolicy (IfNotPresent) never tries a registry for it.
STABLE_NAMES = {"echo": "emukube/echo:1.0"}


def _tag_stable_names(client: docker.DockerClient, log: Log) -> None:
    for name, stable in STABLE_NAMES.items():
        ref = offline_ref(name)
        if not present(client, ref):
            continue
        current = client.images.get(ref)
        if stable not in (current.tags or []):
            repo, tag = stable.rsplit(":", 1)
            current.tag(repo, tag)
            log(f"{name}: tagged {stable}")


def pull(client: docker.DockerClient, names: Iterable[str] | None = None, log: Log = print) -> list[str]:
    """Pull the upstream images of the given roles or image names (default: all that have
    one) unless present; return the refs pulled. Raises PullError listing the failures."""
    roles: list[str] = []
    for n in names or ROLES:
        if n in ROLES and n not in IMAGES:
            roles.append(n)
        else:
            image = _spec(n).name
            roles += [r for r, (i, _) in ROLES.items() if i == image and r not in roles]
    pulled, failed = [], []
    for role in roles:
        upstream = ROLES[role][1]
        if not upstream:
            log(f"{role}: no upstream image; build it with `emukube images build --offline`")
        elif present(client, upstream):
            log(f"{role}: {upstream} present")
        else:
            log(f"{role}: pulling {upstream}")
            repo, _, tag = upstream.rpartition(":")
            try:
                client.images.pull(repo, tag=tag)
                pulled.append(upstream)
            except docker.errors.DockerException as e:
                log(f"{role}: pull failed: {e}")
                failed.append(upstream)
    if failed:
        raise PullError(f"could not pull {', '.join(failed)}; without a registry, "
                        "run `emukube images build --offline`")
    return pulled
