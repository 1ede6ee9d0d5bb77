"""HAProxy configuration of a port-forward container: one listener relaying to one address."""

from __future__ import annotations

from emukube.render._template import endpoint_address, fill, one_line, tidy

FORWARD_CONFIG_PATH = "/tmp/emukube/haproxy.cfg"
FORWARD_LISTEN_PORT = 10080  # inside the forward container; the host port is published onto it


def render_forward(target_ip: str, target_port: int, description: str) -> str:
    """`description` names the target in the header comment (e.g. "service default/web port 80")."""
    address = endpoint_address(target_ip, target_port)
    if address is None:
        raise ValueError(f"invalid forward target {target_ip}:{target_port}")
    return tidy(fill("haproxy-forward.tmpl", target=one_line(description), config_path=FORWARD_CONFIG_PATH,
                     listen_port=FORWARD_LISTEN_PORT, address=address))
