"""The code that runs in the controller container imports only what its image has (Debian's
python3 with aiohttp, jsonpatch, yaml and the docker SDK): no typer, rich, httpx, cryptography
or kubernetes_validate, which only the host's venv holds."""

import subprocess
import sys

GUARD = """
import builtins
real = builtins.__import__
def guard(name, *a, **k):
    if name.split(".")[0] in ("cryptography", "kubernetes_validate", "httpx", "typer", "rich"):
        raise ImportError("not in the controller image: " + name)
    return real(name, *a, **k)
builtins.__import__ = guard
import emukube.controllers.__main__
import emukube.apiserver.__main__
# What the controller's main() imports once the API server is started (controllers/__main__.py)
import emukube.controllers.loop, emukube.controllers.informer, emukube.controllers.publisher
import emukube.controllers.apiaccess, emukube.runtime.pods, emukube.runtime.config_volumes
import emukube.apiserver.sa_tokens, emukube.k8s.client
"""


def test_the_controller_and_api_server_import_nothing_the_image_lacks():
    result = subprocess.run([sys.executable, "-c", GUARD], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
