"""`emukube export compose`: the structure of the Compose file (the integration test runs one)."""

import pytest
import yaml
from diag_fixtures import WEB_PODS, pod, service

from emukube.plan.network import ClusterNet
from emukube.views.compose import export, mover

NET = ClusterNet("demo", 0)
IMAGES = {"haproxy": "emukube/base:1", "nginx": "emukube/base:1", "coredns": "emukube/coredns:1",
          "pause": "emukube/pause:1", "controller": "emukube/base:1"}
SIDECAR = {"initContainers": [{"name": "prepare", "image": "busybox", "command": ["true"]}],
           "containers": [{"name": "app", "image": "app:1", "env": [{"name": "PRICE", "value": "$5"}],
                           "volumeMounts": [{"name": "cfg", "mountPath": "/etc/app"},
                                            {"name": "tmp", "mountPath": "/scratch"}]},
                          {"name": "log", "image": "busybox"}],
           "volumes": [{"name": "cfg", "configMap": {"name": "app-config"}}, {"name": "tmp", "emptyDir": {}}]}
OBJECTS = [
    service("web", {"app": "web"}, [{"name": "http", "port": 80, "targetPort": 8080},
                                    {"name": "dns", "port": 53, "targetPort": 8080, "protocol": "UDP"}]),
    dict(service("desk", {"app": "web"}, [{"port": 80, "targetPort": 8080, "nodePort": 30080}],
                 type="LoadBalancer"), status={"loadBalancer": {"ingress": [{"ip": "127.0.100.1"}]}}),
    {"kind": "ConfigMap", "metadata": {"name": "app-config", "namespace": "default"},
     "data": {"app.conf": "greeting=hello\n"}},
]
PODS = WEB_PODS + [pod("app-x", "10.96.140.1", {"app": "app"}, spec=SIDECAR, owner="")]


def doc(**kw) -> dict:
    result = export(OBJECTS, PODS, NET, {"address": "127.0.0.1", "image_map": {"app:1": "app:ci"}}, IMAGES,
                    project="emukube-demo", source='emukube cluster "demo"', **kw)
    return yaml.safe_load(result.text), result


def test_header_says_there_is_no_controller():
    _, result = doc()
    head = result.text.split("name: emukube-demo")[0]
    assert head.startswith("# Docker Compose file exported by emukube from emukube cluster \"demo\".")
    assert "No controller: no self-healing" in head and "no readiness-driven endpoints" in head


def test_network_dns_and_proxies_at_the_cluster_addresses():
    compose, _ = doc()
    assert compose["networks"]["emukube"]["ipam"]["config"] == [{"subnet": "10.96.0.0/16"}]
    dns = compose["services"]["dns"]
    assert dns["networks"]["emukube"]["ipv4_address"] == "10.96.0.10"
    assert {c["target"] for c in dns["configs"]} == {
        "/etc/coredns/Corefile", "/etc/coredns/zones/db.cluster.local", "/etc/coredns/zones/db.96.10.in-addr.arpa"}
    zone = compose["configs"]["dns.db.cluster.local"]["content"]
    assert "web.default.svc.cluster.local." in zone and "$$ORIGIN" in zone  # $ escaped for Compose
    web = compose["services"]["svc_default_web"]
    assert web["networks"]["emukube"]["ipv4_address"] == "10.96.1.3"
    assert web["entrypoint"] == ["haproxy"] and web["configs"][0]["target"] == "/tmp/emukube/haproxy.cfg"
    cfg = compose["configs"]["svc_default_web.haproxy.cfg"]["content"]
    assert "server web-a 10.96.130.1:8080" in cfg and "server web-b 10.96.130.2:8080" in cfg
    udp = compose["services"]["svc_default_web_udp"]
    assert udp["network_mode"] == "service:svc_default_web" and udp["entrypoint"] == ["nginx"]
    assert compose["services"]["svc_default_desk"]["ports"] == ["127.0.0.1:30080:30080/tcp", "127.0.100.1:80:80/tcp"]


def test_pods_with_env_files_volumes_sandbox_and_init():
    compose, _ = doc()
    services = compose["services"]
    web = services["pod_default_web-a"]
    assert web["networks"]["emukube"]["ipv4_address"] == "10.96.130.1" and web["hostname"] == "web-a"
    assert web["dns"] == ["10.96.0.10"] and web["dns_opt"] == ["ndots:5"]
    assert web["environment"]["WEB_SERVICE_HOST"] == "10.96.1.3"
    sandbox = services["pod_default_app-x"]
    assert sandbox["image"] == "emukube/pause:1" and sandbox["networks"]["emukube"]["ipv4_address"] == "10.96.140.1"
    app = services["pod_default_app-x_app"]
    assert app["image"] == "app:ci"  # the cluster's image map
    assert app["network_mode"] == "service:pod_default_app-x"
    assert app["depends_on"]["pod_default_app-x_init-prepare"] == {"condition": "service_completed_successfully"}
    assert app["environment"]["PRICE"] == "$$5"
    assert app["volumes"] == ["default_app-x_tmp:/scratch"] and "default_app-x_tmp" in compose["volumes"]
    ref = app["configs"][0]
    assert ref["target"] == "/etc/app/app.conf" and compose["configs"][ref["source"]] == {"content": "greeting=hello\n"}
    assert services["pod_default_app-x_init-prepare"]["restart"] == "no"


def test_another_subnet_moves_every_address():
    compose, result = doc(subnet="10.120.0.0/16", address="127.0.0.2")
    assert compose["networks"]["emukube"]["ipam"]["config"] == [{"subnet": "10.120.0.0/16"}]
    assert compose["services"]["svc_default_web"]["networks"]["emukube"]["ipv4_address"] == "10.120.1.3"
    assert compose["services"]["pod_default_web-a"]["networks"]["emukube"]["ipv4_address"] == "10.120.130.1"
    assert compose["services"]["svc_default_desk"]["ports"] == ["127.0.0.2:30080:30080/tcp", "127.0.124.1:80:80/tcp"]
    assert "10.96." not in result.text
    move = mover(NET, ClusterNet("demo", 24))
    assert [move("10.96.0.10"), move("127.0.100.7"), move("8.8.8.8")] == ["10.120.0.10", "127.0.124.7", "8.8.8.8"]
    with pytest.raises(ValueError, match="use a /16 from 10.96.0.0/16"):
        doc(subnet="192.168.0.0/16")


def test_files_mode_writes_configs_beside_the_compose_file():
    compose, result = doc(inline=False)
    assert compose["configs"]["svc_default_web.haproxy.cfg"] == {"file": "./configs/svc_default_web.haproxy.cfg"}
    assert result.files["configs/svc_default_web.haproxy.cfg"].startswith(b"# HAProxy configuration")
    assert "Compose v2.23.1" not in result.text


def test_an_ingress_gets_its_controller_moved_with_the_cluster():
    shop = {"kind": "Ingress", "metadata": {"name": "shop", "namespace": "default"},
            "spec": {"rules": [{"host": "shop.example", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                                "backend": {"service": {"name": "web", "port": {"name": "http"}}}}]}}]}}
    result = export(OBJECTS + [shop], PODS, NET, {"address": "127.0.0.1"}, IMAGES, project="p", source="s",
                    subnet="10.97.0.0/16")
    compose = yaml.safe_load(result.text)
    ingress = compose["services"]["ingress"]
    assert ingress["networks"]["emukube"]["ipv4_address"] == "10.97.0.11"
    assert ingress["ports"] == ["127.0.101.254:80:80", "127.0.101.254:443:443"]
    # The fake certificate is made as the container starts; HAProxy then serves the routes.
    assert ingress["entrypoint"] == ["sh", "-c"] and "Kubernetes Ingress Controller Fake Certificate" in \
        ingress["command"][0] and ingress["command"][0].endswith("-f /tmp/emukube/haproxy.cfg")
    assert {c["target"] for c in ingress["configs"]} == {"/tmp/emukube/haproxy.cfg", "/tmp/emukube/crt-list"}
    cfg = compose["configs"]["ingress.haproxy.cfg"]["content"]
    assert "acl host_0 var(txn.host) -m str 'shop.example'" in cfg and "server web 10.97.1.3:80" in cfg
    assert "ingress" not in yaml.safe_load(doc()[1].text)["services"]  # none without an Ingress


def test_network_policies_route_the_exported_proxies_as_the_cluster_s():
    deny = {"kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "default"},
            "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"]}}
    result = export([*OBJECTS, deny], PODS, NET, {"address": "127.0.0.1"}, IMAGES, project="p", source="s")
    cfg = yaml.safe_load(result.text)["configs"]["svc_default_web.haproxy.cfg"]["content"]
    assert "tcp-request content reject if WAIT_END" in cfg and "use_backend tcp-80-np-0" in cfg, cfg
