"""Where the DNS volume's files are on the engine's host (pods bind-mount their resolv.conf)."""

from ..plan.pod_dns import resolv_file


def dns_volume(cluster: str) -> str:
    return f"emukube-{cluster}-dns"


_MOUNTPOINTS: dict[str, str] = {}  # volume name -> where it is on the engine's host (fixed for its life)


def resolv_conf_source(client, cluster: str, namespace: str, spec: dict | None = None) -> str:
    """The file a pod bind-mounts as /etc/resolv.conf (written by the controller): its
    namespace's, or that of its dnsPolicy and dnsConfig (plan/pod_dns.py)."""
    volume = dns_volume(cluster)
    if volume not in _MOUNTPOINTS:  # one engine call less per pod started
        _MOUNTPOINTS[volume] = client.volumes.get(volume).attrs["Mountpoint"]
    return f"{_MOUNTPOINTS[volume]}/resolv/{resolv_file(spec or {}, namespace)}"
