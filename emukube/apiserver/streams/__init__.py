"""Subresources that stream between a client and a pod's containers (pods/log, pods/exec,
pods/attach, pods/portforward). They reach the containers through the engine, so they exist
only where the API server runs beside the engine (the controller container); the API server
runs without them in unit tests and anywhere the Docker SDK is missing.

Each module here exports HANDLERS: {(resource key, subresource): async handler(request,
resource, namespace, name)}, the plug point of app.make_app."""

from __future__ import annotations

import importlib
import importlib.util
import logging

# Which module serves which subresource (tests/unit/test_stream_handlers.py checks it against
# their HANDLERS). A module is imported on its first request: they import the Docker SDK, which
# took ~40% of the API server's start, on which `up` waits.
SERVED = {("pods", "log"): "logs", ("pods", "exec"): "exec", ("pods", "attach"): "exec",
          ("pods", "portforward"): "portforward"}


def handlers() -> dict:
    if importlib.util.find_spec("docker") is None:
        logging.getLogger(__name__).warning("streams: not served (no Docker SDK)")
        return {}
    return {key: _on_first_use(module, key) for key, module in SERVED.items()}


def _on_first_use(module: str, key: tuple[str, str]):
    async def handler(request, resource, namespace, name):
        from ..app import REGISTRY
        from ..connect_admission import admit_connect

        await admit_connect(request, request.app[REGISTRY], namespace, name, key[1])  # CONNECT's webhooks
        served = importlib.import_module(f"{__name__}.{module}").HANDLERS[key]
        return await served(request, resource, namespace, name)
    return handler
