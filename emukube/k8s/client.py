"""A small Kubernetes API client on the standard library (http.client + ssl), so that the
controller container (which has no httpx) and the CLI share it. One keep-alive connection per
thread; every call is a plain REST call as kubectl makes it; errors carry the server's Status."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import ssl
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator
from urllib.parse import urlencode, urlsplit

from ..errors import EmukubeError, NotFound
from .resources import Resource

JSON = "application/json"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
# emukube's controllers speak as kube-controller-manager does (its first word names the field manager).
CONTROLLER_AGENT = "kube-controller-manager/v1.35.0 (linux/amd64) emukube"


class ApiError(EmukubeError):
    """A non-2xx answer: .code and the Status the server sent; it reads as kubectl prints it."""

    def __init__(self, code: int, status: dict):
        self.code, self.status = code, status
        self.message = status.get("message") or f"HTTP {code}"
        super().__init__(f"Error from server ({status.get('reason') or code}): {self.message}")

    @property
    def reason(self) -> str:
        return str(self.status.get("reason", ""))


@contextlib.contextmanager
def missing_is_not_found() -> Iterator[None]:
    """An answer 404 raised as NotFound (what the CLI and the Python API raise for an object
    that is not there, in the server's words); every other ApiError as it is."""
    try:
        yield
    except ApiError as exc:
        if exc.code == 404:
            raise NotFound(str(exc)) from None
        raise


@dataclass(frozen=True)
class Credentials:
    server: str  # https://127.0.0.1:PORT
    ca_pem: bytes
    token: str


def path_of(res: Resource, namespace: str | None = None, name: str | None = None, sub: str = "") -> str:
    base = f"/api/{res.version}" if not res.group else f"/apis/{res.group}/{res.version}"
    if res.namespaced and namespace:
        base += f"/namespaces/{namespace}"
    base += f"/{res.plural}"
    if name:
        base += f"/{name}"
    if sub:
        base += f"/{sub}"
    return base


def warning_text(value: str) -> str:
    """The text of a Warning header as the API server writes it: `299 - "text"`, quoted."""
    code, _, rest = value.partition(" ")
    _agent, _, quoted = rest.partition(" ")
    if not (code.isdigit() and len(quoted) >= 2 and quoted[0] == quoted[-1] == '"'):
        return value
    return re.sub(r'\\(.)', r"\1", quoted[1:-1])


class KubeClient:
    def __init__(self, creds: Credentials, timeout: float = 30.0, agent: str = ""):
        """agent: the User-Agent, whose first word the API server records as the field manager."""
        self.creds, self.timeout, self.agent = creds, timeout, agent
        url = urlsplit(creds.server)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 443
        self.ssl = ssl.create_default_context(cadata=creds.ca_pem.decode())
        self.local = threading.local()
        self.warned: Callable[[str], None] | None = None  # given each Warning the server sends (kubectl prints them)

    # ---- transport ---------------------------------------------------------------------
    def _connection(self, timeout: float | None = None) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(self.host, self.port, context=self.ssl,
                                           timeout=timeout or self.timeout)

    def request(self, method: str, path: str, body: object = None, query: dict | None = None,
                content_type: str = JSON, accept: str = JSON) -> dict:
        if query:
            path += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
        headers = {"Authorization": f"Bearer {self.creds.token}", "Accept": accept}
        if self.agent:
            headers["User-Agent"] = self.agent
        if data is not None:
            headers["Content-Type"] = content_type
        for attempt in (0, 1):  # a kept-alive connection the server closed meanwhile: once more
            conn = getattr(self.local, "conn", None) or self._connection()
            self.local.conn = conn
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                break
            except (http.client.HTTPException, ConnectionError, OSError) as exc:
                conn.close()
                self.local.conn = None
                if attempt:
                    if isinstance(exc, OSError):
                        raise
                    raise ConnectionError(f"the API server at {self.host}:{self.port} broke the connection "
                                          f"({exc!r})") from exc
        if self.warned is not None:
            for value in resp.headers.get_all("Warning") or []:
                self.warned(warning_text(value))
        decoded = _decode(raw)
        if resp.status >= 300:
            raise ApiError(resp.status, decoded if isinstance(decoded, dict) else {"message": raw.decode()})
        return decoded

    # ---- verbs ------------------------------------------------------------------------
    def get(self, res: Resource, namespace: str | None, name: str, sub: str = "") -> dict:
        return self.request("GET", path_of(res, namespace, name, sub))

    def list(self, res: Resource, namespace: str | None = None, **query: Any) -> dict:
        return self.request("GET", path_of(res, namespace), query=query or None)

    def table(self, res: Resource, namespace: str | None = None, name: str | None = None, **query: Any) -> dict:
        """The server's Table of a list (or one object), with each row's object's metadata."""
        return self.request("GET", path_of(res, namespace, name), query={**query, "includeObject": "Metadata"},
                            accept=TABLE)

    def create(self, res: Resource, obj: dict, **query: Any) -> dict:
        ns = obj.get("metadata", {}).get("namespace") or ("default" if res.namespaced else None)
        return self.request("POST", path_of(res, ns), obj, query=query or None)

    def update(self, res: Resource, obj: dict, sub: str = "", **query: Any) -> dict:
        meta = obj["metadata"]
        ns = meta.get("namespace") or ("default" if res.namespaced else None)
        return self.request("PUT", path_of(res, ns, meta["name"], sub), obj, query=query or None)

    def patch(self, res: Resource, namespace: str | None, name: str, patch: object,
              content_type: str = "application/merge-patch+json", sub: str = "", **query: Any) -> dict:
        return self.request("PATCH", path_of(res, namespace, name, sub), patch, query=query or None,
                            content_type=content_type)

    def delete(self, res: Resource, namespace: str | None, name: str, **options: Any) -> dict:
        body = {"kind": "DeleteOptions", "apiVersion": "v1", **options} if options else None
        return self.request("DELETE", path_of(res, namespace, name), body)

    def watch(self, res: Resource, resource_version: str, timeout: int = 300,
              namespace: str | None = None) -> Iterator[dict]:
        """Watch events ({"type", "object"}) from a resourceVersion, until the server ends the
        stream (timeoutSeconds) or the connection breaks."""
        query = urlencode({"watch": "1", "resourceVersion": resource_version, "timeoutSeconds": timeout,
                           "allowWatchBookmarks": "true"})
        conn = self._connection(timeout=timeout + 30)
        try:
            conn.request("GET", f"{path_of(res, namespace)}?{query}",
                         headers={"Authorization": f"Bearer {self.creds.token}", "Accept": JSON})
            resp = conn.getresponse()
            if resp.status >= 300:
                raw = resp.read()
                raise ApiError(resp.status, _decode(raw))
            while True:
                line = resp.readline()
                if not line:
                    return
                if line.strip():
                    yield json.loads(line)
        finally:
            conn.close()

    def stream(self, path: str, query: dict | None = None, timeout: float | None = None) -> Iterator[bytes]:
        """A GET whose answer is read as it comes (pods/log with follow): its bytes, in chunks,
        until the server ends it; `timeout` None waits as long as that takes. An error answer
        raises ApiError."""
        if query:
            path += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.ssl, timeout=timeout)
        try:
            conn.request("GET", path, headers={"Authorization": f"Bearer {self.creds.token}", "Accept": "*/*"})
            resp = conn.getresponse()
            if resp.status >= 300:
                raise ApiError(resp.status, _decode(resp.read()))
            while chunk := resp.read1(65536):
                yield chunk
        finally:
            conn.close()

    def close(self) -> None:
        conn = getattr(self.local, "conn", None)
        if conn is not None:
            conn.close()
            self.local.conn = None


def _decode(raw: bytes) -> dict:
    """JSON bodies as dicts; plain text ones (/readyz "ok", a proxy's error page) as {"text": ...}."""
    if not raw:
        return {}
    try:
        decoded = json.loads(raw)
    except ValueError:
        return {"text": raw.decode(errors="replace")}
    return decoded if isinstance(decoded, dict) else {"items": decoded}
