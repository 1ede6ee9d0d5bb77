"""The load tools, built offline as static Go binaries (Go module proxy only) and cached.

- hey (github.com/rakyll/hey): HTTP throughput and latency, run inside a client pod.
- ekload (benchmarks/tools/ekload): watchers and bounded load loops for HTTP and DNS.
Both are copied into the client pod's container (no image build needed); ekload also runs
on the host for the NodePort load loop.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from emukube.runtime import engine

HERE = Path(__file__).resolve().parent.parent
BIN = HERE / ".bin"
EKLOAD_SRC = HERE / "tools" / "ekload"
HEY_MODULE = "github.com/rakyll/hey@v0.1.4"
IN_POD = "/usr/local/bin"


def _go() -> str:
    found = os.environ.get("GO") or shutil.which("go") or "/usr/local/go/bin/go"
    if not Path(found).exists():
        raise RuntimeError("Go is needed to build the load tools (set GO=/path/to/go)")
    return found


def _env(**extra: str) -> dict:
    return dict(os.environ, CGO_ENABLED="0", GOTOOLCHAIN="local", GOFLAGS="-buildvcs=false", **extra)


def _run(cmd: list[str], **kw) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    if result.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")


def ekload() -> Path:
    digest = hashlib.sha256()
    for p in sorted(EKLOAD_SRC.iterdir()):
        digest.update(p.name.encode() + b"\0" + p.read_bytes())
    out = BIN / f"ekload-{digest.hexdigest()[:12]}"
    if not out.exists():
        BIN.mkdir(exist_ok=True)
        _run([_go(), "build", "-trimpath", "-ldflags=-s -w", "-o", str(out), "."], cwd=EKLOAD_SRC, env=_env())
    return out


def hey() -> Path:
    version = HEY_MODULE.rsplit("@", 1)[1]
    out = BIN / f"hey-{version}"
    if not out.exists():
        gobin = BIN / f"gobin-{version}"
        _run([_go(), "install", "-trimpath", "-ldflags=-s -w", HEY_MODULE], env=_env(GOBIN=str(gobin)))
        (gobin / "hey").rename(out)
        shutil.rmtree(gobin, ignore_errors=True)
    return out


def install_into(container) -> None:
    """Copy hey and ekload into a running container's /usr/local/bin."""
    engine.put_files(container, {f"{IN_POD}/hey": (hey().read_bytes(), 0o755),
                                 f"{IN_POD}/ekload": (ekload().read_bytes(), 0o755)})


def run_in(container, argv: list[str], timeout: float) -> tuple[int, str, str]:
    """Run a command in a container, bounded by coreutils `timeout` inside it."""
    result = container.exec_run(["timeout", "-s", "KILL", str(int(timeout)), *argv], demux=True)
    out, err = result.output if result.output else (b"", b"")
    return result.exit_code, (out or b"").decode(errors="replace"), (err or b"").decode(errors="replace")


def ekload_json(container, args: list[str], timeout: float) -> dict:
    """Run `ekload MODE ...` in a container; its one JSON line."""
    code, out, err = run_in(container, [f"{IN_POD}/ekload", *args], timeout)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if code or not lines:
        raise RuntimeError(f"ekload {args[0]} exited {code}: {err.strip()[-300:] or out.strip()[-300:]}")
    return json.loads(lines[-1])
