"""The user's kubeconfig: emukube's entry merged in at `up`, taken out at `down`, kind's way.

Each cluster gets one cluster, one user and one context, all named "emukube-<cluster>"
(kind names them "kind-<cluster>"). Everything else in the file is read and written back as is,
in kubectl's own layout (keys sorted, block style) so a file kubectl wrote stays the same.

Which file: --kubeconfig; else $KUBECONFIG, whose first existing file is the one kubectl writes
new entries to (the last one when none exists); else ~/.kube/config.
"""
from __future__ import annotations

import base64
import contextlib
import errno
import fcntl
import os
import tempfile
import time
from pathlib import Path
from typing import Iterator

import yaml

from ..k8s.client import Credentials

PREFIX = "emukube-"
SECTIONS = ("clusters", "users", "contexts")
LOCK_TIMEOUT = 30.0
# A lock file that nobody holds an fcntl lock on is client-go's (kubectl, kind create it with
# O_EXCL and delete it within milliseconds) or was left by a killed process: after this long
# it is taken as stale.
FOREIGN_LOCK_STALE = 2.0


def entry_name(cluster: str) -> str:
    return PREFIX + cluster


def search_paths(explicit: str | None = None) -> list[Path]:
    """Every kubeconfig file kubectl would read, in order (empty and repeated entries dropped)."""
    if explicit:
        return [Path(explicit).expanduser()]
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        return [Path(p).expanduser() for p in dict.fromkeys(listed)]
    return [Path.home() / ".kube" / "config"]


def default_path(explicit: str | None = None) -> Path:
    """The file to merge into: kind's (and kubectl's) choice among search_paths."""
    paths = search_paths(explicit)
    if len(paths) == 1:
        return paths[0]
    for p in paths:
        if p.is_file():
            return p
    return paths[-1]


def credentials(cluster: str, path: Path | None = None) -> Credentials | None:
    """The server, CA and token of the cluster's entry in the kubeconfig (`path`, else the one
    `up` merges into); None when it has none, or one of another shape than `up` writes."""
    name = entry_name(cluster)
    try:
        cfg = read(path or default_path())
        cluster_entry = next(c["cluster"] for c in cfg.get("clusters") or [] if c.get("name") == name)
        user = next(u["user"] for u in cfg.get("users") or [] if u.get("name") == name)
        ca = base64.b64decode(cluster_entry["certificate-authority-data"], validate=True)
        if not (isinstance(cluster_entry["server"], str) and isinstance(user["token"], str) and ca):
            return None
        return Credentials(server=cluster_entry["server"], ca_pem=ca, token=user["token"])
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None


def render(cluster: str, server: str, ca_pem: bytes, token: str) -> dict:
    """A kubeconfig holding only this cluster, with the CA embedded and the token as the user."""
    name = entry_name(cluster)
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {
            "certificate-authority-data": base64.b64encode(ca_pem).decode(),
            "server": server,
        }}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }


def merge(path: Path, cfg: dict, make_current: bool) -> None:
    """Put cfg's cluster, user and context into the file at path, replacing same-named ones."""
    for section in SECTIONS:
        if len(cfg.get(section) or []) != 1:
            raise ValueError(f"merge expects exactly one entry in {section}")
    path = Path(path)
    with _locked(path):
        existing = _read(path)
        for section in SECTIONS:
            existing[section] = _upsert(existing.get(section) or [], cfg[section][0])
        # As kind: a file without them (or a new one) gets apiVersion/kind, which some clients
        # insist on; keys already there are never changed.
        for key in ("apiVersion", "kind"):
            if key not in existing and key in cfg:
                existing[key] = cfg[key]
        if make_current:
            existing["current-context"] = cfg.get("current-context") or cfg["contexts"][0]["name"]
        _write(path, existing)


def remove(path: Path, cluster: str) -> None:
    """Take this cluster's three entries out; clear current-context if it named ours."""
    path = Path(path)
    name = entry_name(cluster)
    if not path.exists():
        return
    with _locked(path):
        existing = _read(path)
        changed = False
        for section in SECTIONS:
            entries = existing.get(section)
            if not entries:
                continue
            kept = [e for e in entries if not (isinstance(e, dict) and e.get("name") == name)]
            if len(kept) != len(entries):
                existing[section] = kept
                changed = True
        if existing.get("current-context") == name:
            # kind leaves it out (omitempty); kubectl reads a missing one as "".
            del existing["current-context"]
            changed = True
        if changed:
            _write(path, existing)


def _upsert(entries: list, new: dict) -> list:
    """entries with `new` in place of the first same-named entry (later duplicates dropped)."""
    out, placed = [], False
    for e in entries:
        if isinstance(e, dict) and e.get("name") == new["name"]:
            if not placed:
                out.append(new)
                placed = True
            continue
        out.append(e)
    if not placed:
        out.append(new)
    return out


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data) -> bool:
        return True  # kubectl never writes anchors; a shared dict must be written out twice

    def choose_scalar_style(self) -> str:
        # Go's YAML quotes with double quotes ("2024-01-01", "123", "yes") where PyYAML
        # would pick single ones; same value, kubectl's bytes.
        style = super().choose_scalar_style()
        return '"' if style == "'" else style


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # Multi-line values (PEMs in unknown keys) as literal blocks, as Go's YAML writes them.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(cfg: dict) -> str:
    """YAML as kubectl writes a kubeconfig: sorted keys, block style, sequences not indented
    under their key, no line wrapping; an empty config is an empty file (as kind)."""
    if not cfg:
        return ""
    return yaml.dump(cfg, Dumper=_Dumper, default_flow_style=False, sort_keys=True,
                     allow_unicode=True, width=2**31 - 1)


def read(path: Path) -> dict:
    """The kubeconfig at path ({} when there is none); ValueError when it is not one."""
    return _read(Path(path))


def _read(path: Path) -> dict:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a kubeconfig (a YAML mapping expected)")
    for section in SECTIONS:
        if data.get(section) is not None and not isinstance(data[section], list):
            raise ValueError(f"{path}: {section} is not a list")
    return data


def _write(path: Path, cfg: dict) -> None:
    """Write atomically (temporary file in the same directory, then rename), mode 0600.

    A symlinked kubeconfig keeps its link: the file it points to is the one replaced. The owner
    of an existing file is kept (root running emukube for a user's ~/.kube/config)."""
    target = path.resolve() if path.is_symlink() else path
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        old = target.stat()
    except FileNotFoundError:
        old = None
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(dump(cfg))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        if old is not None and os.geteuid() == 0:
            os.chown(tmp, old.st_uid, old.st_gid)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold path+".lock", the name client-go and kind lock with, for a read-modify-write."""
    lock = Path(str(path) + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(lock)
    try:
        yield
    finally:
        # Unlinked before the fcntl lock goes, so kubectl (which fails while the file exists)
        # is not blocked by a leftover, and a waiter that locked this inode sees it is gone.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)
        os.close(fd)


def _acquire(lock: Path) -> int:
    """An fcntl lock on the lock file, which is created (O_EXCL, as client-go) when absent.

    An existing lock file that is fcntl-locked is another emukube's: wait. One that is not is
    client-go's (kubectl, kind) or stale: wait for it to go, up to FOREIGN_LOCK_STALE, then
    take it over."""
    deadline = time.monotonic() + LOCK_TIMEOUT
    foreign_since: float | None = None
    while True:
        created = True
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            created = False
            try:
                fd = os.open(lock, os.O_RDWR)
            except FileNotFoundError:
                continue  # released between the two opens
        try:
            # Our own new file: others only probe it without blocking, so waiting is brief.
            fcntl.flock(fd, fcntl.LOCK_EX if created else fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = True
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                os.close(fd)
                raise
            held, foreign_since = False, None
        if held and _same_file(fd, lock):
            if created:
                return fd
            now = time.monotonic()
            foreign_since = foreign_since or now
            if now - foreign_since >= FOREIGN_LOCK_STALE:
                return fd
        os.close(fd)
        if time.monotonic() > deadline:
            raise TimeoutError(f"could not lock {lock} within {LOCK_TIMEOUT:.0f}s")
        time.sleep(0.01)


def _same_file(fd: int, path: Path) -> bool:
    """Whether path still names the file fd has open (the holder may have unlinked it)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)
