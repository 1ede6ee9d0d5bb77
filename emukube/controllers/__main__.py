"""Entry point of the controller container: `python3 -m emukube.controllers`.

The container runs two processes: the cluster's API server (emukube.apiserver, asyncio) and
this control loop (threads), which reads and writes objects only through the API server, like
any Kubernetes controller. They share the container because they share its state volume and
its lifetime: one container fewer to start at `up`, and the loop reaches the API on loopback.
An API server that dies is started again at once (its store is on the volume: every write it
acknowledged is there); the loop's informer resumes its watches from where they were."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from ..runtime.settings import CONFIG_DIR, STATE_DIR, config_volume

STATE = STATE_DIR
API_PORT = 6443


def start_apiserver() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "emukube.apiserver", "--state-dir", STATE,
                             "--port", str(API_PORT), "--also-port", "443", "--host", "0.0.0.0"])


def main() -> None:
    # Long because: the loop's modules are imported here, once the API server is started.
    env = os.environ
    # First: `up` waits for the API server, and the loop's modules (the docker SDK among them)
    # took 0.2 s and more to import before it was even started.
    apiserver = start_apiserver()
    from ..apiserver import sa_tokens
    from ..k8s.applied import DESIRED
    from ..k8s.client import CONTROLLER_AGENT, KubeClient
    from ..runtime import engine
    from ..runtime import labels as L
    from ..runtime.account_volumes import FOLDER as ACCOUNTS
    from ..runtime.config_volumes import ConfigVolumes, hold
    from ..runtime.dns_paths import dns_volume
    from ..runtime.machine import allocatable
    from ..runtime.pods import context_from_env
    from ..runtime.proxies import PROXY_CONFIGS
    from .apiaccess import credentials, wait_ready
    from .autoscaling import Autoscalers
    from .informer import Informer
    from .loop import PUBLISHED, Controller
    from .publisher import Publisher
    from .token_secrets import TokenSecrets

    # Pods, probes and proxies each have a pool of 8 workers talking to the engine at once.
    client = engine.pooled(32)
    me = client.containers.get(env["EMUKUBE_SELF"])
    ctx = context_from_env(env)
    ctx.service_account = sa_tokens.mount_files(STATE)
    dns = client.volumes.get(dns_volume(ctx.cluster)).attrs["Mountpoint"]  # mounted here at /dns
    ctx.account_dirs = (f"/dns/{ACCOUNTS}", f"{dns}/{ACCOUNTS}")  # service-account volumes (runtime/account_volumes.py)
    ctx.proxy_dirs = (f"/dns/{PROXY_CONFIGS}", f"{dns}/{PROXY_CONFIGS}")  # proxies' configs (runtime/proxies.py)
    if os.path.ismount(CONFIG_DIR):  # configMap and secret volumes kept current (runtime/config_volumes.py)
        volume = config_volume(ctx.cluster)
        ctx.config_volumes = ConfigVolumes(CONFIG_DIR, client.volumes.get(volume).attrs["Mountpoint"],
                                           hold=lambda: hold(client, ctx.cluster, volume, ctx.images["pause"]),
                                           minter=sa_tokens.minter(STATE), allocatable=allocatable())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def out(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def supervise() -> None:
        nonlocal apiserver
        while not stop.is_set():
            code = apiserver.wait()
            if stop.is_set():
                return
            out(f'{{"type": "Warning", "message": "the API server exited ({code}); starting it again"}}')
            time.sleep(0.1)
            apiserver = start_apiserver()

    threading.Thread(target=supervise, daemon=True).start()
    # As kube-controller-manager: the managedFields name it, and its writes of running pods are
    # judged again by admission (handlers._running_pods_record).
    api = KubeClient(credentials(STATE, f"https://127.0.0.1:{API_PORT}"), agent=CONTROLLER_AGENT)
    wait_ready(api, timeout=60)
    controller = Controller(client, ctx, [], me.labels[L.GENERATION], STATE, "/dns", out, api=api)
    controller.token_secrets = TokenSecrets(controller, *sa_tokens.secret_minter(STATE))
    informer = Informer(api, list(DESIRED) + list(PUBLISHED), controller.wake.set)
    informer.start()
    informer.wait_synced(timeout=60)
    controller.informer = informer
    publisher = Publisher(api, informer, out, engine_version=client.version().get("Version", ""))
    controller.publisher = publisher
    publisher.start()
    Autoscalers(controller).start()
    controller.run(stop)
    apiserver.terminate()
    try:
        apiserver.wait(timeout=5)
    except subprocess.TimeoutExpired:
        apiserver.kill()


if __name__ == "__main__":
    main()
