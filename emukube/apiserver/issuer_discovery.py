"""ServiceAccount issuer discovery (pkg/routes/openidmetadata.go): the OpenID configuration and
the key set that verify the cluster's ServiceAccount tokens (sa_tokens.py), for the callers RBAC
lets in (system:service-account-issuer-discovery binds every ServiceAccount)."""

from __future__ import annotations

import json
from typing import Callable

from aiohttp import web

from . import errors
from .sa_tokens import CONFIGURATION_PATH, JWKS_PATH, Signer
from .system import API_PORT

CACHE_CONTROL = "public, max-age=3600"  # the documents change only with the key


def jwks_uri(controller_ip: str) -> str:
    """Where pods reach the key set: the API server's own address on the cluster network, as
    kube-apiserver derives it from its advertise address and secure port."""
    return f"https://{controller_ip}:{API_PORT}{JWKS_PATH}"


def register(app: web.Application, signer: Signer | None, controller_ip: Callable[[], str | None]) -> None:
    def configuration(ready: Signer) -> dict:
        ip = controller_ip()
        return ready.openid_configuration(jwks_uri(ip) if ip else "")

    def document(make: Callable[[Signer], dict], media_type: str):
        async def answer(_request: web.Request) -> web.Response:
            if signer is None:  # an API server without authentication signs no tokens
                raise errors.no_such_path()
            return web.Response(body=json.dumps(make(signer)).encode(),
                                headers={"Content-Type": media_type, "Cache-Control": CACHE_CONTROL})
        return answer

    for path, make, media_type in ((CONFIGURATION_PATH, configuration, "application/json"),
                                   (JWKS_PATH, Signer.jwks, "application/jwk-set+json")):
        handler = document(make, media_type)
        app.router.add_get(path, handler)
        app.router.add_get(path + "/", handler)
