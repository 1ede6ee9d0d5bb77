"""Where the DNS volume's files are on the engine's host (pods bind-mount their resolv.conf)."""


def dns_volume(cluster: str) -> str:
    return f"emukube-{cluster}-dns"


def resolv_conf_source(client, cluster: str, namespace: str) -> str:
    """The file pods of a namespace bind-mount as /etc/resolv.conf (written by the controller)."""
    mountpoint = client.volumes.get(dns_volume(cluster)).attrs["Mountpoint"]
    return f"{mountpoint}/resolv/{namespace}.conf"
