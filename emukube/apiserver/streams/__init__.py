"""Subresources that stream between a client and a pod's containers (pods/log, pods/exec,
pods/attach, pods/portforward). They reach the containers through the engine, so they exist
only where the API server runs beside the engine (the controller container); the API server
runs without them in unit tests and anywhere the Docker SDK is missing.

Each module here exports HANDLERS: {(resource key, subresource): async handler(request,
resource, namespace, name)}, the plug point of app.make_app."""

from __future__ import annotations

import importlib
import logging

MODULES = ("logs", "exec", "portforward")


def handlers() -> dict:
    found: dict = {}
    for name in MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith(__name__):
                continue  # not written yet
            logging.getLogger(__name__).warning("streams: %s not served (%s)", name, exc)
            continue
        found.update(module.HANDLERS)
    return found
