"""Loading a pod's NetworkPolicy rules (render/pod_firewall.py) into its network namespace.

A short-lived container of the base image (which has iptables) joins the namespace of the
container holding the pod's network, with NET_ADMIN and nothing more, loads the rules with
`iptables-restore` and is removed. Neither the pod nor its image needs any privilege or tool."""

from __future__ import annotations

from . import engine
from . import labels as L

LOAD = 'printf "%s" "$RULES" | iptables-restore -w 5'


class FirewallError(Exception):
    pass


def load_rules(client, image: str, cluster: str, holder, rules: str) -> None:
    """Replace the filter table of `holder`'s network namespace with `rules` (iptables-restore input)."""
    name = f"{cluster}_firewall_{holder.id[:12]}"
    stale = engine.get_container(client, name)
    if stale is not None:
        engine.remove(stale)
    helper = engine.create(client, name, image, entrypoint=["sh", "-c", LOAD], environment={"RULES": rules},
                           labels={L.CLUSTER: cluster, L.ROLE: L.Role.FIREWALL},
                           host_config=dict(network_mode=f"container:{holder.id}", cap_add=["NET_ADMIN"]))
    try:
        helper.start()
        code = helper.wait(timeout=60).get("StatusCode")
        if code != 0:
            raise FirewallError(helper.logs(tail=5).decode(errors="replace").strip() or f"exit {code}")
    finally:
        engine.remove(helper)
