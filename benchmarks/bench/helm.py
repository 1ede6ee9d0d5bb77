"""Section 9: Helm against emukube up (issue 16's goal).

The chart `helm create` makes (its image set to the echo image, which answers its probes on the
Service's port), in two running clusters made alike (`emukube up` of one ConfigMap) and then, in
each run, side by side:
1. `helm install --wait` until its Deployment is ready (Helm 4: server-side apply, then it watches
   the objects until ready), then `helm uninstall --wait`;
2. `emukube up` of the same chart rendered by `helm template` (the ConfigMap file named again, so
   nothing else changes) until every pod is ready and every Service answers, then the same
   objects deleted with kubectl (up skips the chart's ServiceAccount: it makes none).
Goal: Helm <= 1.3x emukube up.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from emukube.client.cluster import unique_name

from .api import KUBECTL, Api
from .context import Context, log
from .measure import Row, at_most_x
from .startup import EMUKUBE

SECTION = "9"
HELM = str(Path(EMUKUBE).parent / "helm")
VALUES = ["--set", "image.repository=emukube/echo", "--set", "image.tag=1.0", "--set", "service.port=8080"]
BASE = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: base}\ndata: {a: b}\n"


def _run(api: Api, argv: list[str], timeout: float = 300) -> float:
    t0 = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=api.env)
    took = time.monotonic() - t0
    if result.returncode:
        raise RuntimeError(f"{' '.join(argv[:3])} exited {result.returncode}: {result.stderr.strip()[-300:]}")
    return took


def _cluster(ctx: Context, tmp: Path, prefix: str) -> Api:
    api = Api(ctx, unique_name(prefix), tmp / prefix)
    api.tmp.mkdir()
    api.cli([EMUKUBE, "up", str(tmp / "base.yaml"), "--cluster", api.name, "--timeout", "300s",
             "--kubeconfig", str(api.kubeconfig)], timeout=400)
    api.connect()
    return api


def run(ctx: Context) -> list[Row]:
    tmp = Path(tempfile.mkdtemp(prefix="ekbench-helm-"))
    (tmp / "base.yaml").write_text(BASE)
    rows: list[Row] = []
    clusters: list[Api] = []
    try:
        subprocess.run([HELM, "create", str(tmp / "web")], check=True, capture_output=True, timeout=60)
        rendered = subprocess.run([HELM, "template", "web", str(tmp / "web"), *VALUES, "--skip-tests"],
                                  check=True, capture_output=True, text=True, timeout=60).stdout
        (tmp / "web.yaml").write_text(rendered)
        log("two clusters with one ConfigMap each: one for helm, one for emukube up")
        helm_api, up_api = _cluster(ctx, tmp, "ekbh"), _cluster(ctx, tmp, "ekbu")
        clusters += [helm_api, up_api]
        helm_times, up_times = [], []
        for i in range(ctx.runs):
            order = [_helm_once, _up_once] if i % 2 == 0 else [_up_once, _helm_once]
            for once in order:
                if once is _helm_once:
                    helm_times.append(once(helm_api, tmp))
                else:
                    up_times.append(once(up_api, tmp))
            log(f"  run {i + 1}: helm install {helm_times[-1]:.1f} s, emukube up {up_times[-1]:.1f} s")
        rows.append(Row(SECTION, "helm install --wait of `helm create`'s chart, until ready", "s", helm_times,
                        "emukube up of its `helm template` output", up_times, at_most_x(1.3)))
    except Exception as exc:  # noqa: BLE001 - reported in the table
        log(f"  failed: {type(exc).__name__}: {exc}")
        rows.append(Row(SECTION, "helm install vs emukube up", "", error=f"{type(exc).__name__}: {str(exc)[:200]}"))
    finally:
        for api in clusters:
            api.remove()
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def _helm_once(api: Api, tmp: Path) -> float:
    took = _run(api, [HELM, "install", "web", str(tmp / "web"), *VALUES, "--wait", "--timeout", "240s"])
    _run(api, [HELM, "uninstall", "web", "--wait", "--timeout", "120s"])
    return took


def _up_once(api: Api, tmp: Path) -> float:
    took = _run(api, [EMUKUBE, "up", str(tmp / "base.yaml"), str(tmp / "web.yaml"), "--cluster", api.name,
                      "--timeout", "240s", "--kubeconfig", str(api.kubeconfig)], timeout=400)
    _run(api, [KUBECTL, "delete", "-f", str(tmp / "web.yaml"), "--ignore-not-found", "--wait", "--timeout=120s"])
    return took
