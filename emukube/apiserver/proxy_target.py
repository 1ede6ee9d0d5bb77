"""Where a pods/proxy or services/proxy request goes, as kube-apiserver's ResourceLocation decides
it (pkg/registry/core/pod/strategy.go, pkg/registry/core/service/storage/storage.go), with its
words for each refusal; and the path the backend is asked for. Objects in, a URL out (the one
lookup: a pod port's name in the services database, as Go's dialer looks it up)."""

from __future__ import annotations

import ipaddress
import posixpath
import random
import socket
from dataclasses import dataclass
from typing import Callable
from urllib.parse import quote

from . import errors

_SCHEMES = ("", "http", "https")


@dataclass(frozen=True)
class Location:
    scheme: str  # "" is http
    host: str
    port: str  # "" when the request named none (a pod with no declared port: port 80)

    @property
    def address(self) -> tuple[str, int]:
        return self.host, int(self.port) if self.port else (443 if self.scheme == "https" else 80)

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}" if self.port else self.host

    def url(self, path: str, query: str) -> str:
        return f"{self.scheme or 'http'}://{self.netloc}{request_target(path, query)}"


def request_target(path: str, query: str) -> str:
    """The path as Go's URL.EscapedPath writes it (what may stay unescaped stays so), and the query."""
    return quote(path, safe="/:@!$&'()*+,;=-._~") + (f"?{query}" if query else "")


def split_scheme_name_port(id_: str) -> tuple[str, str, str]:
    """"name", "name:port" or "scheme:name:port" (apimachinery's SplitSchemeNamePort)."""
    parts = id_.split(":")
    if len(parts) == 1:
        scheme, name, port = "", parts[0], ""
    elif len(parts) == 2:
        scheme, name, port = "", parts[0], parts[1]
    elif len(parts) == 3:
        scheme, name, port = parts
    else:
        scheme, name, port = "", "", ""
    if not name or scheme not in _SCHEMES:
        raise ValueError(id_)
    return scheme, name, port


def pod_location(pod: dict, scheme: str, port: str) -> Location:
    """A pod: the port named, else the first port any container declares, else none (80)."""
    if not port:
        for container in (pod.get("spec") or {}).get("containers") or []:
            if container.get("ports"):
                port = str(container["ports"][0].get("containerPort", ""))
                break
    ip = (pod.get("status") or {}).get("podIP") or ""
    if not proxyable(ip):
        raise errors.bad_request("address not allowed")
    if port and not port.isdigit():  # Go's dialer looks a port's name up in /etc/services
        try:
            port = str(socket.getservbyname(port, "tcp"))
        except OSError:
            raise _unavailable(f"error trying to reach service: dial tcp: lookup tcp/{port}: unknown port") from None
    return Location(scheme, ip, port)


def proxyable(ip: str) -> bool:
    """apimachinery's IsProxyableIP: never the API server's own loopback, nor a link-local address
    (whoever may write a pod's status could otherwise aim the proxy at them)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return not (address.is_loopback or address.is_link_local or address.is_multicast)


def service_location(namespace: str, name: str, service: dict | None, endpoints: dict, id_: str, scheme: str,
                     port: str, pod_ips: Callable[[str], list[str]], rng: random.Random | None = None) -> Location:
    """A Service: one of its Endpoints' addresses at the port named, chosen at random as the API
    server does; a port number means the Service's port of that number (`service`: the Service,
    needed then). pod_ips(name): the IPs of that pod of the namespace, which an address must be
    one of (isValidAddress)."""
    rng = rng or random.Random()
    if port.isdigit():
        number = int(port)
        ports = ((service or {}).get("spec") or {}).get("ports") or []
        match = next((p for p in ports if p.get("port") == number), None)
        if match is None:
            raise _unavailable(f'no service port {number} found for service "{name}"')
        port = match.get("name") or ""
    subsets = endpoints.get("subsets") or []
    if not subsets:
        raise _unavailable(f'no endpoints available for service "{name}"')
    first = rng.randrange(len(subsets))
    for i in range(len(subsets)):
        subset = subsets[(first + i) % len(subsets)]
        addresses = subset.get("addresses") or []
        if not addresses:
            continue
        for endpoint_port in subset.get("ports") or []:
            if (endpoint_port.get("name") or "") != port:
                continue
            start = rng.randrange(len(addresses))
            for j in range(len(addresses)):
                address = addresses[(start + j) % len(addresses)]
                ref = address.get("targetRef") or {}
                if ref.get("namespace") != namespace or not ref.get("name"):
                    continue
                if address.get("ip") in pod_ips(ref["name"]) and proxyable(address["ip"]):
                    return Location(scheme, address["ip"], str(endpoint_port.get("port")))
    raise _unavailable(f'no endpoints available for service "{id_}"')


def _unavailable(message: str) -> errors.ApiError:
    return errors.ApiError(503, "ServiceUnavailable", message)


def backend_path(after: str) -> str:
    """The path the backend gets, from what follows `/proxy` in the request's path ("", "/",
    "/a/b/"): Go's path.Join of it (`..` and `//` resolved), a trailing slash kept; "" for
    nothing at all (the API server redirects that to `/proxy/`)."""
    if not after:
        return ""
    cleaned = posixpath.normpath("/" + after.lstrip("/"))
    if cleaned.startswith("//"):  # POSIX keeps two leading slashes; Go's path.Clean does not
        cleaned = "/" + cleaned.lstrip("/")
    if after.endswith("/") and not cleaned.endswith("/"):
        cleaned += "/"
    return cleaned
