"""The host address NodePorts are published on (`--address`), checked before anything is made.

127.0.0.1 by default: a NodePort on a laptop should not be reachable from the café's Wi-Fi.
LoadBalancers do not use it: each has its own loopback EXTERNAL-IP.
"""

from __future__ import annotations

import errno
import ipaddress
import socket

from ..errors import EmukubeError

DEFAULT = "127.0.0.1"


def normalise(address: str) -> str:
    """The address as an IP this machine has; raises EmukubeError (exit 2) otherwise, so that a
    typo fails here and not as a proxy the controller cannot start."""
    text = address.strip()
    if text == "localhost":
        return DEFAULT
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        raise EmukubeError(f'error: --address "{address}" is not an IP address '
                           "(e.g. 127.0.0.1, or 0.0.0.0 for every interface)") from None
    family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((str(ip), 0))
    except OSError as exc:
        if exc.errno == errno.EADDRNOTAVAIL:
            raise EmukubeError(f"error: --address {ip} is not an address of this machine") from None
    return str(ip)


def warning(address: str | None) -> list[str]:
    """One line when NodePorts would be reachable from other machines."""
    if not address or ipaddress.ip_address(address).is_loopback:
        return []
    where = "every interface" if ipaddress.ip_address(address).is_unspecified else address
    return [f"NodePorts will listen on {where}: reachable from beyond this machine "
            f"(the default, {DEFAULT}, keeps them local)"]
