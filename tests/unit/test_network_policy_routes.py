"""NetworkPolicy at the Services' proxies (plan/network_policy.py): which clients reach which
endpoints, from literal pods and policies, and the HAProxy routing rendered from it."""

from emukube.plan.endpoints import PodView, proxy_plan
from emukube.plan.network_policy import restrict
from emukube.plan.types import Route
from emukube.render.haproxy import render_haproxy

NS = {"default": {"kubernetes.io/metadata.name": "default"},
      "shop": {"kubernetes.io/metadata.name": "shop", "team": "shop"}}
WEB = [PodView("web-1", "default", "10.96.1.1", {"app": "web"}, ready=True, container_ports=(("http", 8080, "TCP"),)),
       PodView("web-2", "default", "10.96.1.2", {"app": "web", "tier": "canary"}, ready=True,
               container_ports=(("http", 8080, "TCP"),))]
FRONT = PodView("front", "default", "10.96.2.1", {"role": "frontend"}, ready=True)
OTHER = PodView("other", "default", "10.96.2.2", {"role": "batch"}, ready=True)
SHOP = PodView("till", "shop", "10.96.3.1", {"role": "frontend"}, ready=True)
PODS = [*WEB, FRONT, OTHER, SHOP]
SVC = {"metadata": {"name": "web", "namespace": "default"},
       "spec": {"clusterIP": "10.96.9.9", "selector": {"app": "web"},
                "ports": [{"port": 80, "targetPort": "http", "protocol": "TCP"}]}}
BOTH = ("web-1", "web-2")


def policy(spec: dict, namespace: str = "default", name: str = "p") -> dict:
    return {"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def reach(*policies: dict, pods=PODS, svc=SVC) -> dict[str, tuple[str, ...]]:
    """Which endpoints each pod (by name) and an outside address reach, read off the routes."""
    plan = restrict(proxy_plan(svc, pods), pods, list(policies), NS)
    routes = plan.routes.get("TCP/80")
    if not routes:
        return {}
    return {name: _route_for(routes, ip) for name, ip in
            [(p.name, p.ip) for p in pods] + [("host", "10.96.0.1"), ("lan", "192.168.1.7")]}


def _route_for(routes: tuple[Route, ...], ip: str) -> tuple[str, ...]:
    import ipaddress

    def within(addresses):
        return any(ipaddress.ip_address(ip) in ipaddress.ip_network(a) for a in addresses)
    for route in routes:
        if all(within(addresses) == inside for addresses, inside in route.when):
            return route.pods
    return BOTH  # no route: the listen section's own servers


def test_no_policy_or_one_that_selects_no_endpoint_changes_nothing():
    assert reach() == {}
    assert reach(policy({"podSelector": {"matchLabels": {"app": "db"}}})) == {}
    plan = proxy_plan(SVC, PODS)
    assert restrict(plan, PODS, [], NS) is plan


def test_deny_all_ingress_holds_every_client_and_outside_address():
    got = reach(policy({"podSelector": {}, "policyTypes": ["Ingress"]}))
    assert set(got.values()) == {()}


def test_pods_of_a_selector_get_in_on_a_named_port_and_the_rest_do_not():
    got = reach(policy({"podSelector": {"matchLabels": {"app": "web"}},
                        "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "frontend"}}}],
                                     "ports": [{"port": "http", "protocol": "TCP"}]}]}))
    assert got["front"] == BOTH
    # Another namespace's frontend is not selected by a bare podSelector, nor is anyone else.
    assert got["till"] == got["other"] == got["web-1"] == got["host"] == ()


def test_a_rule_on_another_port_admits_nobody_on_this_one():
    got = reach(policy({"podSelector": {}, "ingress": [{"ports": [{"port": 9090}]}]}))
    assert set(got.values()) == {()}
    ranged = reach(policy({"podSelector": {}, "ingress": [{"ports": [{"port": 8000, "endPort": 8100}]}]}))
    assert ranged == {}  # 8080 is in the range: everyone, from anywhere


def test_namespace_selector_alone_and_with_a_pod_selector():
    by_ns = reach(policy({"podSelector": {}, "ingress": [{"from": [
        {"namespaceSelector": {"matchLabels": {"team": "shop"}}}]}]}))
    assert by_ns["till"] == BOTH and by_ns["front"] == ()
    both = reach(policy({"podSelector": {}, "ingress": [{"from": [
        {"namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In",
                                                     "values": ["shop", "default"]}]},
         "podSelector": {"matchLabels": {"role": "frontend"}}}]}]}))
    assert both["till"] == both["front"] == BOTH and both["other"] == ()


def test_only_the_endpoints_a_policy_selects_are_kept_from_a_client():
    got = reach(policy({"podSelector": {"matchLabels": {"tier": "canary"}}, "ingress": []}))
    assert got["front"] == got["host"] == ("web-1",)


def test_ip_blocks_admit_outside_addresses_less_their_exceptions():
    got = reach(policy({"podSelector": {}, "ingress": [{"from": [
        {"ipBlock": {"cidr": "10.96.0.0/16", "except": ["10.96.2.0/24"]}}]}]}))
    assert got["host"] == BOTH and got["lan"] == ()
    assert got["front"] == ()  # in the except
    assert got["till"] == BOTH  # a pod's address in the block counts too


def test_outside_addresses_meet_each_endpoints_own_blocks():
    got = reach(policy({"podSelector": {"matchLabels": {"tier": "canary"}}, "ingress": [{"from": [
        {"ipBlock": {"cidr": "192.168.0.0/16"}}]}]}))
    assert got["lan"] == BOTH
    assert got["host"] == ("web-1",)


def test_a_clients_egress_policy_limits_what_it_reaches():
    got = reach(policy({"podSelector": {"matchLabels": {"role": "batch"}}, "policyTypes": ["Egress"],
                        "egress": [{"to": [{"podSelector": {"matchLabels": {"tier": "canary"}}}]}]}))
    assert got["other"] == ("web-2",)
    assert got["front"] == got["host"] == BOTH
    denied = reach(policy({"podSelector": {"matchLabels": {"role": "batch"}}, "policyTypes": ["Egress"]}))
    assert denied["other"] == () and denied["front"] == BOTH


def test_an_empty_rule_admits_everyone_even_beside_a_deny_all():
    got = reach(policy({"podSelector": {}, "policyTypes": ["Ingress"]}, name="deny"),
                policy({"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{}]}, name="allow"))
    assert got == {}


def test_the_rendered_proxy_routes_clients_by_address_and_holds_the_rest():
    plan = restrict(proxy_plan(SVC, PODS), PODS, [policy({"podSelector": {}, "ingress": [{"from": [
        {"podSelector": {"matchLabels": {"role": "frontend"}}}]}]})], NS)
    text = render_haproxy(plan)
    assert "    acl np_1 src 10.96.2.1\n" in text, text
    assert "    use_backend tcp-80-np-1 if np_1\n" in text
    held = text.split("\nbackend tcp-80-np-0\n")[1].split("\n\n")[0]
    assert "tcp-request content reject if WAIT_END" in held and "server" not in held
    reached = text.split("\nbackend tcp-80-np-1\n")[1]
    assert "server web-1 10.96.1.1:8080" in reached and "server web-2 10.96.1.2:8080" in reached
    assert render_haproxy(plan) == text


def test_internal_traffic_policy_local_still_keeps_a_client_to_its_node():
    pods = [PodView("web-1", "default", "10.96.1.1", {"app": "web"}, ready=True, node="node-1",
                    container_ports=(("http", 8080, "TCP"),)),
            PodView("web-2", "default", "10.96.1.2", {"app": "web"}, ready=True, node="node-2",
                    container_ports=(("http", 8080, "TCP"),)),
            PodView("front", "default", "10.96.2.1", {"role": "frontend"}, ready=True, node="node-2"),
            PodView("other", "default", "10.96.2.2", {"role": "batch"}, ready=True, node="node-1")]
    svc = {**SVC, "spec": {**SVC["spec"], "internalTrafficPolicy": "Local"}}
    got = reach(policy({"podSelector": {}, "ingress": [{"from": [
        {"podSelector": {"matchLabels": {"role": "frontend"}}}]}]}), pods=pods, svc=svc)
    assert got["front"] == ("web-2",) and got["other"] == ()


def test_the_ingress_controller_is_admitted_as_ingress_nginx_s_pods_are():
    from emukube.plan.network_policy import ingress_controller, with_ingress_namespace

    controller = ingress_controller("10.96.0.11")
    pods = [*PODS, controller]
    allow = policy({"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "ingress-nginx"}}, "podSelector": {"matchLabels": {
            "app.kubernetes.io/name": "ingress-nginx"}}}]}]})
    plan = restrict(proxy_plan(SVC, pods), pods, [allow], with_ingress_namespace(NS))
    routes = plan.routes["TCP/80"]
    assert _route_for(routes, "10.96.0.11") == BOTH
    assert _route_for(routes, "10.96.2.1") == _route_for(routes, "10.96.0.1") == ()


def test_a_node_proxy_s_node_ports_take_the_service_s_routes():
    from emukube.plan.nodeports import node_port_plan

    svc = {**SVC, "spec": {**SVC["spec"], "type": "NodePort",
                           "ports": [{"port": 80, "targetPort": "http", "protocol": "TCP", "nodePort": 30080}]}}
    deny = policy({"podSelector": {}, "policyTypes": ["Ingress"]})
    plan = node_port_plan(svc, PODS, "node-1", (), lambda p: restrict(p, PODS, [deny], NS))
    assert plan is not None and list(plan.routes) == ["TCP/30080"]
    assert {route.pods for route in plan.routes["TCP/30080"]} == {()}
    assert node_port_plan(svc, PODS, "node-1").routes == {}


def test_udp_ports_are_routed_by_nginx_geo_with_each_pod_before_the_blocks():
    from emukube.render.nginx import render_nginx

    svc = {**SVC, "spec": {**SVC["spec"], "ports": [{"port": 53, "targetPort": 8080, "protocol": "UDP"}]}}
    plan = restrict(proxy_plan(svc, PODS), PODS, [policy({"podSelector": {}, "ingress": [{"from": [
        {"podSelector": {"matchLabels": {"role": "frontend"}}}, {"ipBlock": {"cidr": "192.168.0.0/16"}}]}]})], NS)
    text = render_nginx(plan)
    assert text is not None and "geo $remote_addr $udp_53_np {" in text, text
    geo = text.split("geo $remote_addr $udp_53_np {")[1].split("}")[0]
    reaching = next(line.split()[1].rstrip(";") for line in geo.splitlines() if line.strip().startswith("10.96.2.1/32"))
    assert next(line.split()[1].rstrip(";") for line in geo.splitlines() if "192.168.0.0/16" in line) == reaching
    assert next(line.split()[1].rstrip(";") for line in geo.splitlines() if "10.96.2.2/32" in line) != reaching
    both = text.split(f"upstream {reaching} {{")[1].split("}")[0]
    assert "server 10.96.1.1:8080" in both and "server 10.96.1.2:8080" in both
    assert "proxy_pass $udp_53_np;" in text
