"""`emukube ls` rows from literal engine summaries."""

from __future__ import annotations

from emukube.views.clusters import cluster_rows


def summary(cluster: str, role: str, state: str = "running", ports: list | None = None) -> dict:
    return {"Labels": {"emukube.io/cluster": cluster, "emukube.io/role": role}, "State": state, "Ports": ports or []}


def test_each_cluster_has_its_status_pods_api_and_context():
    api = [{"PrivatePort": 443, "Type": "tcp"}, {"IP": "127.0.0.1", "PrivatePort": 6443, "PublicPort": 40001, "Type": "tcp"}]
    summaries = [summary("shop", "controller", ports=api), summary("shop", "pod"), summary("shop", "sandbox", "exited"),
                 summary("shop", "app"), summary("shop", "proxy"),
                 summary("old", "controller", "exited"), summary("old", "pod", "exited"),
                 summary("gone", "pod")]
    assert cluster_rows(["gone", "old", "shop"], summaries) == [
        ["gone", "incomplete", "1/1", "<none>", "emukube-gone"],
        ["old", "stopped", "0/1", "<none>", "emukube-old"],
        ["shop", "running", "1/2", "https://127.0.0.1:40001", "emukube-shop"],
    ]
