"""The kube-system/coredns ConfigMap's Corefile as CoreDNS runs it here (render/coredns.py
stand_in_kubernetes): the `kubernetes` plugin stood in by emukube's zone files, `reload` left
to the controller, every other line as the user wrote it."""

from __future__ import annotations

from emukube.plan.system_pods import corefile_config_map, default_corefile
from emukube.plan.types import DnsPlan
from emukube.render.coredns import render_corefile, stand_in_kubernetes

PLAN = DnsPlan((), serial=1, dns_ip="10.96.0.10", reverse_cidrs=("10.96.0.0/16",))


def test_kubeadms_corefile_keeps_its_plugins_and_serves_the_zones_from_files():
    out = render_corefile(PLAN, default_corefile("cluster.local"))
    lines = out.splitlines()
    assert "    reload" not in lines and not any(line.startswith("    kubernetes") for line in lines), out
    assert "    file /etc/coredns/zones/db.cluster.local cluster.local {" in lines
    assert "    file /etc/coredns/zones/db.96.10.in-addr.arpa 96.10.in-addr.arpa {" in lines
    assert "    template IN A pod.cluster.local {" in lines and "        reload 250ms" in lines
    for kept in ("    health {", "       lameduck 5s", "    prometheus :9153", "    forward . /etc/resolv.conf {",
                 "       disable success cluster.local", "    loop", "    loadbalance"):
        assert kept in lines, kept
    assert out.count("{") == out.count("}")
    assert corefile_config_map("cluster.local")["metadata"] == {"name": "coredns", "namespace": "kube-system"}


def test_a_one_line_kubernetes_directive_other_blocks_and_braces_in_quotes_and_comments():
    corefile = ('.:53 {\n  errors # a comment { with a brace\n  kubernetes cluster.local\n'
                '  template IN TXT x.test {\n    answer "{{ .Name }} 60 IN TXT \\"}\\""\n  }\n}\n'
                'consul.local:53 {\n  forward . 10.150.0.1\n}\n')
    out = stand_in_kubernetes(corefile, PLAN)
    assert out.startswith(".:53 {\n  errors # a comment { with a brace\n  # kubernetes: served by emukube"), out
    assert '  template IN TXT x.test {\n    answer "{{ .Name }} 60 IN TXT \\"}\\""\n  }\n}\n' in out, out
    assert out.endswith("consul.local:53 {\n  forward . 10.150.0.1\n}\n"), out
    assert "  file /etc/coredns/zones/db.cluster.local cluster.local {\n      reload 250ms\n  }" in out, out


def test_without_a_kubernetes_directive_nothing_serves_the_cluster_names():
    """As in a cluster: the user removed the plugin that answers cluster.local."""
    out = stand_in_kubernetes(".:53 {\n    forward . /etc/resolv.conf\n}\n", PLAN)
    assert out == ".:53 {\n    forward . /etc/resolv.conf\n}\n"


def test_coredns_of_another_image_or_pod_is_made_again():
    """After an emukube upgrade the running CoreDNS may lack plugins the Corefile now uses; a
    container that stands for another pod (a new template, its pod deleted) is replaced too."""
    from types import SimpleNamespace

    from emukube.runtime.dns import dns_current
    from emukube.runtime.labels import NAME

    ctx = SimpleNamespace(images={"coredns": "emukube/coredns:new"})
    pod = "coredns-5d78c9869d-x2b4k"

    def running(image: str, status: str = "running", name: str = pod):
        return SimpleNamespace(status=status, attrs={"Config": {"Image": image}}, labels={NAME: name})

    assert dns_current(ctx, running("emukube/coredns:new"), pod)
    assert not dns_current(ctx, running("emukube/coredns:old"), pod)
    assert not dns_current(ctx, running("emukube/coredns:new", "restarting"), pod)
    assert not dns_current(ctx, running("emukube/coredns:new", name="coredns-node-1"), pod)
    assert not dns_current(ctx, None, pod)
