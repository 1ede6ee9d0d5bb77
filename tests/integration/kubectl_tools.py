"""Running the real kubectl (and helm) against a test cluster, with its own kubeconfig."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import run

BIN = Path(sys.executable).parent
KUBECTL = str(BIN / "kubectl")
HELM = str(BIN / "helm")


class Kube:
    """kubectl with `--kubeconfig` of one cluster, as a user types it."""

    def __init__(self, cluster: str, workdir: Path):
        self.cluster = cluster
        self.config = workdir / f"{cluster}.kubeconfig"
        self.config.write_text(run("kubeconfig", cluster=cluster).stdout)
        self.env = dict(os.environ, KUBECONFIG=str(self.config))

    def __call__(self, *args: str, check: bool = True, input: str | None = None, timeout: float = 60,
                 env: dict | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run([KUBECTL, *args], capture_output=True, text=True, input=input, timeout=timeout,
                                env={**self.env, **(env or {})})
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result

    def lines(self, *args: str) -> list[str]:
        return self(*args).stdout.splitlines()

    def obj(self, *args: str) -> dict:
        return yaml.safe_load(self(*args, "-o", "yaml").stdout)

    def credentials(self) -> tuple[str, str, bytes]:
        """(server, token, CA PEM) from the kubeconfig `emukube kubeconfig` printed."""
        import base64

        cfg = yaml.safe_load(self.config.read_text())
        server = cfg["clusters"][0]["cluster"]["server"]
        ca = base64.b64decode(cfg["clusters"][0]["cluster"]["certificate-authority-data"])
        return server, cfg["users"][0]["user"]["token"], ca


def start_kubectl_pod(kube: Kube, namespace: str, name: str = "kubectl") -> None:
    """A pod with the host's kubectl at /opt/kubectl (hostPath), running with in-cluster config."""
    binary = Path(KUBECTL).resolve()
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
           "spec": {"containers": [{"name": "kubectl", "image": "emukube/echo:1.0",
                                    "volumeMounts": [{"name": "bin", "mountPath": "/opt/kubectl", "readOnly": True}]}],
                    "volumes": [{"name": "bin", "hostPath": {"path": str(binary)}}]}}
    kube("apply", "-f", "-", input=json.dumps(pod))
    kube("wait", "-n", namespace, f"pod/{name}", "--for=condition=Ready", "--timeout=90s", timeout=120)
