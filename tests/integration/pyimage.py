"""An image with Python client libraries from PyPI (kopf, the `kubernetes` client), built offline:
the wheels are downloaded on the host once (pip, cached under ~/.cache/emukube/wheels keyed by the
pinned versions), then unpacked FROM the local emukube/echo image (Debian bookworm's Python 3.11)
onto PYTHONPATH, compiled (the image runs as nobody: no .pyc written at run time, and the `kubernetes`
client's thousand modules would be compiled at every start). No registry is involved; the programs the tests run come from pyclients/."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import docker
import docker.errors

HERE = Path(__file__).parent
PROGRAMS = HERE / "pyclients"
REQUIREMENTS = ("kopf==1.45.2", "kubernetes==37.0.2")
# The image's interpreter, not the host's: wheels for CPython 3.11 on glibc x86_64.
_TARGET = ["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
           "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_17_x86_64",
           "--platform", "manylinux_2_28_x86_64", "--platform", "any"]
_DOCKERFILE = """\
FROM emukube/echo:1.0
COPY wheels /tmp/wheels
RUN python3 -c "import glob, zipfile; [zipfile.ZipFile(w).extractall('/opt/pylib') for w in sorted(glob.glob('/tmp/wheels/*.whl'))]" \\
    && rm -rf /tmp/wheels && python3 -m compileall -q -j 0 /opt/pylib
ENV PYTHONPATH=/opt/pylib PYTHONUNBUFFERED=1
COPY programs /app
USER 65534
"""


def _key(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def wheels() -> Path:
    """The wheels of REQUIREMENTS and their dependencies, downloaded once."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "emukube" / "wheels"
    where = base / _key(*REQUIREMENTS, *_TARGET)
    if (where / ".complete").exists():
        return where
    base.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=base))
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                    "-d", str(partial), *_TARGET, *REQUIREMENTS], check=True, timeout=600)
    (partial / ".complete").write_text("\n".join(REQUIREMENTS))
    try:
        partial.rename(where)
    except OSError:  # another run got there first
        shutil.rmtree(partial, ignore_errors=True)
    return where


def image() -> str:
    """emukube-test/pyclients:<hash of the wheels and programs>, built when missing."""
    source = wheels()
    programs = sorted(p for p in PROGRAMS.iterdir() if p.suffix == ".py")
    tag = "emukube-test/pyclients:" + _key(*sorted(p.name for p in source.glob("*.whl")), _DOCKERFILE,
                                           *(p.name + p.read_text() for p in programs))
    client = docker.from_env()
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    with tempfile.TemporaryDirectory() as ctx:
        shutil.copytree(source, Path(ctx) / "wheels", ignore=shutil.ignore_patterns(".complete"))
        (Path(ctx) / "programs").mkdir()
        for p in programs:
            shutil.copy(p, Path(ctx) / "programs" / p.name)
        (Path(ctx) / "Dockerfile").write_text(_DOCKERFILE)
        client.images.build(path=ctx, tag=tag, pull=False, rm=True, labels={"emukube.test": "pyclients"})
    return tag
