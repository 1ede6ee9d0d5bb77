"""The test webhook server (webhook/hook.py) started in a cluster as teams run theirs: in a pod of
namespace `webhooks` behind Services `hook` and `nobody`, its certificate in a Secret."""

from __future__ import annotations

from pathlib import Path

from conftest import HERE
from kubectl_tools import Kube

from emukube.lifecycle.pki import make_pki

HOOK = HERE / "webhook"


def start_hook(kube: Kube, work: Path, names: list[str]) -> bytes:
    """Runs it until its Deployment has rolled out; returns the CA PEM that signed its certificate
    for the DNS `names` (what a configuration's caBundle holds)."""
    pki = make_pki("hook", [], names)
    (work / "tls.crt").write_bytes(pki.server_cert)
    (work / "tls.key").write_bytes(pki.server_key)
    kube("create", "secret", "tls", "hook-tls", "-n", "webhooks", f"--cert={work / 'tls.crt'}",
         f"--key={work / 'tls.key'}")
    kube("create", "configmap", "hook-program", "-n", "webhooks", f"--from-file={HOOK / 'hook.py'}")
    kube("apply", "-f", str(HOOK / "server.yaml"))
    kube("rollout", "status", "-n", "webhooks", "deploy/hook", "--timeout=90s", timeout=120)
    return pki.ca_cert
