"""NetworkPolicy at pods' own addresses (plan/pod_firewall.py): the rules of a pod's network
namespace, from literal pods and policies, and their iptables-restore text."""

from emukube.plan.endpoints import PodView
from emukube.plan.pod_firewall import Accept, coredns, firewall
from emukube.render.pod_firewall import render_pod_firewall

NS = {"default": {"kubernetes.io/metadata.name": "default"},
      "kube-system": {"kubernetes.io/metadata.name": "kube-system"}}
DB = PodView("db-0", "default", "10.96.130.5", {"app": "db"}, ready=True, container_ports=(("pg", 5432, "TCP"),))
API = PodView("api", "default", "10.96.130.6", {"app": "api"}, ready=True)
JOB = PodView("job", "default", "10.96.130.7", {"app": "job"}, ready=True)
DNS = coredns("10.96.0.10")
PODS = [DB, API, JOB, DNS]


def policy(spec: dict, name: str = "p") -> dict:
    return {"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def test_a_pod_no_policy_selects_has_no_rules_and_an_empty_table():
    fw = firewall(API, PODS, [policy({"podSelector": {"matchLabels": {"app": "db"}}})], NS)
    assert fw.empty
    assert render_pod_firewall(fw) == "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"


def test_ingress_accepts_the_admitted_pods_on_the_named_port_then_drops_every_other_pod():
    fw = firewall(DB, PODS, [policy({"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [
        {"from": [{"podSelector": {"matchLabels": {"app": "api"}}}], "ports": [{"port": "pg", "protocol": "TCP"}]}]})],
        NS)
    assert fw.inbound == (Accept("10.96.130.6", "TCP", "5432"),) and fw.outbound is None
    text = render_pod_firewall(fw).splitlines()
    assert text[4:] == [
        "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        "-A INPUT -s 10.96.130.6 -p tcp -m tcp --dport 5432 -j ACCEPT",
        "-A INPUT -s 10.96.0.10 -j DROP", "-A INPUT -s 10.96.130.6 -j DROP", "-A INPUT -s 10.96.130.7 -j DROP",
        "COMMIT"]


def test_rules_without_peers_ip_blocks_and_port_ranges():
    fw = firewall(DB, PODS, [policy({"podSelector": {}, "ingress": [
        {"ports": [{"port": 8000, "endPort": 8100, "protocol": "TCP"}]},
        {"from": [{"ipBlock": {"cidr": "10.96.130.0/24", "except": ["10.96.130.0/25"]}}]}]})], NS)
    assert fw.inbound == (Accept("", "TCP", "8000:8100"), Accept("10.96.130.128/25"))


def test_no_egress_rule_drops_dns_until_one_lets_kube_dns_through():
    deny = policy({"podSelector": {"matchLabels": {"app": "job"}}, "policyTypes": ["Egress"]}, "deny")
    fw = firewall(JOB, PODS, [deny], NS)
    assert fw.outbound == () and "10.96.0.10" in fw.pods
    assert "-A OUTPUT -d 10.96.0.10 -j DROP" in render_pod_firewall(fw)
    dns = policy({"podSelector": {"matchLabels": {"app": "job"}}, "policyTypes": ["Egress"], "egress": [{
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"port": 53, "protocol": "UDP"}, {"port": "dns-tcp", "protocol": "TCP"}]}]}, "dns")
    fw = firewall(JOB, PODS, [deny, dns], NS)
    assert fw.outbound == (Accept("10.96.0.10", "UDP", "53"), Accept("10.96.0.10", "TCP", "53"))
    assert fw.inbound is None
