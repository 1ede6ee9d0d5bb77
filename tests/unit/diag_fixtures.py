"""Services and pods as a running cluster holds them, for the diagnosis, graph and export tests."""

from __future__ import annotations

from emukube.client.snapshot import PodRow

ECHO = {"containers": [{"name": "echo", "image": "emukube/echo:1.0",
                        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]}]}


def pod(name: str, ip: str, labels: dict, ready: bool = True, ns: str = "default", reason: str = "",
        spec: dict | None = None, owner: str = "Deployment/web") -> PodRow:
    return PodRow(name=name, namespace=ns, ip=ip, labels=labels, spec=spec or ECHO, owner=owner, ready=ready,
                  phase="Running", restarts=0, created=0.0, containers=1, reason=reason)


def service(name: str, selector: dict | None, ports: list[dict], ns: str = "default", **spec) -> dict:
    full = {"type": "ClusterIP", "clusterIP": f"10.96.1.{len(name)}", "sessionAffinity": "None", **spec}
    if selector is not None:
        full["selector"] = selector
    full["ports"] = [{"protocol": "TCP", **p} for p in ports]
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": full}


WEB_PODS = [pod("web-a", "10.96.130.1", {"app": "web", "tier": "front"}),
            pod("web-b", "10.96.130.2", {"app": "web", "tier": "front"})]
