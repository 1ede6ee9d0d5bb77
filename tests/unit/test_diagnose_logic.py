"""`emukube explain`: what each broken link of client -> Service -> endpoints -> pod port reads."""

from diag_fixtures import WEB_PODS, pod, service

from emukube.diagnose.explain import LIMIT, OPEN, PROBLEM, WARNING, explain, listen_targets, nearest_pods
from emukube.runtime.report import Report, ServiceReport

OPEN_8080 = {("10.96.130.1", 8080): OPEN, ("10.96.130.2", 8080): OPEN}


def text(result) -> str:
    return "\n".join(result.lines())


def test_a_healthy_service_is_one_ok_chain():
    svc = service("web", {"app": "web"}, [{"port": 80, "targetPort": "http"}])
    result = explain(svc, WEB_PODS, None, OPEN_8080)
    assert result.ok and not [f for f in result.findings if f.severity != LIMIT]
    out = text(result)
    assert "OK: client -> web:80/TCP (10.96.1.3) -> 2 ready endpoint(s) -> pod port 8080" in out
    assert "2 of 2 selected pod(s) ready (app=web)" in out
    assert "8080/TCP: open on 2 of 2 pod(s)" in out
    assert "source IP" in out  # the emulation's limit that applies to every proxied Service


def test_selector_mismatch_names_the_nearest_labels_and_the_key_that_differs():
    svc = service("typo", {"app": "wbe", "tier": "front"}, [{"port": 80, "targetPort": 8080}])
    pods = WEB_PODS + [pod("db-0", "10.96.130.9", {"app": "db"}, owner="StatefulSet/db")]
    result = explain(svc, pods, None, {})
    assert not result.ok
    problem = result.problems[0]
    assert problem.text.startswith("the selector app=wbe,tier=front matches no pod in namespace default")
    # the closest pods first, replicas folded together, the differing key spelled out
    assert problem.details[0] == ('nearest: pod web-a and 1 more like it (app=web,tier=front): '
                                  'app is "web", the Service wants "wbe"')
    assert "db-0" in problem.details[1] and 'no label "tier"' in problem.details[1]
    assert "OK:" not in text(result)


def test_selector_key_typo_points_at_the_similar_label():
    diffs = nearest_pods({"ap": "web"}, WEB_PODS)[0][1]
    assert diffs == ['no label "ap" (it has "app=web"), the Service wants ap=web']


def test_pods_of_another_namespace_are_named():
    svc = service("web", {"app": "web"}, [{"port": 80}], ns="shop")
    result = explain(svc, WEB_PODS, None, {})
    assert any("pods in namespace default match" in d for d in result.problems[0].details)
    assert any("no pod at all in namespace shop" in d for d in result.problems[0].details)


def test_wrong_target_port_is_tried_from_inside_and_the_declared_port_suggested():
    svc = service("wrongport", {"app": "web"}, [{"port": 80, "targetPort": 9376}])
    assert listen_targets(svc, WEB_PODS) == [("10.96.130.1", 9376), ("10.96.130.2", 9376)]
    checks = {("10.96.130.1", 9376): "refused", ("10.96.130.2", 9376): "refused"}
    result = explain(svc, WEB_PODS, None, checks)
    problem = result.problems[0]
    assert problem.text == ("nothing listens on targetPort 9376 of port 80/TCP in 2 pod(s): "
                            "connections that reach them fail")
    assert "web-a 10.96.130.1:9376: refused; it declares http 8080/TCP" in problem.details
    assert problem.details[-1] == "did you mean targetPort: 8080?"


def test_a_named_target_port_no_container_declares_leaves_pods_out():
    svc = service("web", {"app": "web"}, [{"port": 80, "targetPort": "htpp"}])
    result = explain(svc, WEB_PODS, None, {})
    assert "names no TCP container port of 2 pod(s)" in result.problems[0].text
    assert result.problems[0].details[0] == "web-a declares: http 8080/TCP"


def test_unready_pods_show_the_probe_failure():
    pods = [pod("sick-1", "10.96.131.1", {"app": "sick"}, ready=False,
                reason="HTTP probe failed with statuscode: 503")]
    svc = service("sick", {"app": "sick"}, [{"port": 80, "targetPort": 8080}])
    result = explain(svc, pods, None, {("10.96.131.1", 8080): OPEN})
    assert result.problems[0].text.startswith("no selected pod is ready")
    assert result.problems[0].details == ["sick-1 (10.96.131.1, Running): HTTP probe failed with statuscode: 503"]


def test_some_unready_pods_are_a_warning_not_a_problem():
    pods = WEB_PODS[:1] + [pod("web-c", "10.96.130.3", {"app": "web"}, ready=False)]
    svc = service("web", {"app": "web"}, [{"port": 80, "targetPort": 8080}])
    result = explain(svc, pods, None, {("10.96.130.1", 8080): OPEN, ("10.96.130.3", 8080): OPEN})
    assert result.ok
    assert [f.severity for f in result.findings if f.severity != LIMIT] == [WARNING]


def test_affinity_with_external_traffic_policy_cluster_is_the_seeds_pitfall():
    svc = service("np", {"app": "web"}, [{"port": 80, "targetPort": 8080, "nodePort": 30080}],
                  type="NodePort", sessionAffinity="ClientIP", externalTrafficPolicy="Cluster")
    result = explain(svc, WEB_PODS, None, OPEN_8080, node_addresses=["127.0.0.1"], gateway="10.96.0.1")
    warning = next(f for f in result.findings if f.severity == WARNING)
    assert warning.text.startswith("sessionAffinity: ClientIP with externalTrafficPolicy: Cluster")
    assert "10.96.0.1" in warning.details[0]
    limits = [f.text for f in result.findings if f.severity == LIMIT]
    assert any(t.startswith("one node: the NodePort listens on the host only (127.0.0.1)") for t in limits)
    assert any("stick table" in t for t in limits)
    assert "host: 127.0.0.1:30080 (NodePort)" in text(result)
    local = service("np", {"app": "web"}, [{"port": 80, "targetPort": 8080, "nodePort": 30080}],
                    type="NodePort", sessionAffinity="ClientIP", externalTrafficPolicy="Local")
    assert not [f for f in explain(local, WEB_PODS, None, OPEN_8080).findings if f.severity == WARNING]


def test_udp_affinity_has_no_timeout_and_is_not_port_checked():
    svc = service("dns", {"app": "web"}, [{"port": 53, "targetPort": 8080, "protocol": "UDP"}],
                  sessionAffinity="ClientIP")
    result = explain(svc, WEB_PODS, None, {})
    assert result.ok
    assert any("UDP affinity has no timeout" in f.text for f in result.findings)
    assert "not checked: only TCP ports can be tried" in text(result)
    assert listen_targets(svc, WEB_PODS) == []


def test_a_proxy_that_does_not_answer_is_a_problem():
    svc = service("web", {"app": "web"}, [{"port": 80, "targetPort": 8080}])
    result = explain(svc, WEB_PODS, Report(services={"default/web": ServiceReport(answering=False)}), OPEN_8080)
    assert "does not accept connections" in result.problems[0].text


def test_no_selector_headless_and_external_name():
    bare = explain(service("manual", None, [{"port": 80}]), WEB_PODS)
    assert "has no selector" in bare.findings[0].text and bare.findings[0].severity == "WARNING"
    headless = explain(service("web", {"app": "web"}, [{"port": 8080}], clusterIP="None"), WEB_PODS, None, OPEN_8080)
    assert headless.ok and headless.summary.startswith("web (headless) -> DNS A records for 2 ready pod(s)")
    assert not [f for f in headless.findings if f.severity == LIMIT]  # no proxy, no source IP rewrite
    alias = explain({"kind": "Service", "metadata": {"name": "alias"},
                     "spec": {"type": "ExternalName", "externalName": "db.example.com"}}, [])
    assert alias.ok and alias.summary == "alias is a CNAME to db.example.com (no proxy, no endpoints)"


def test_problems_are_listed_before_ok_and_severities_are_words():
    result = explain(service("typo", {"app": "x"}, [{"port": 80}]), WEB_PODS)
    lines = result.lines()
    assert lines[0] == "Service default/typo"
    assert any(line.startswith(f"{PROBLEM}: ") for line in lines)


def test_a_service_left_to_another_proxy_is_a_problem():
    svc = service("web", {"app": "web"}, [{"port": 80, "targetPort": 8080}])
    svc["metadata"]["labels"] = {"service.kubernetes.io/service-proxy-name": "other"}
    result = explain(svc, WEB_PODS, None, OPEN_8080)
    assert "kube-proxy does not program it" in result.problems[0].text


def test_a_network_policy_on_the_endpoints_is_named_with_what_it_does_not_filter():
    svc = service("web", {"app": "web"}, [{"port": 80, "targetPort": "http"}])
    policy = {"kind": "NetworkPolicy", "metadata": {"name": "front-only", "namespace": "default"},
              "spec": {"podSelector": {"matchLabels": {"app": "web"}},
                       "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "frontend"}}}]}]}}
    result = explain(svc, WEB_PODS, None, OPEN_8080, policies=[policy])
    assert result.ok  # a policy is a choice, not a fault
    warning = next(f for f in result.findings if f.severity == WARNING)
    assert warning.text.startswith("NetworkPolicy front-only selects 2 of its 2 endpoint(s)")
    assert "kubectl describe networkpolicy front-only -n default" in warning.details
    assert any("enforced by this Service's proxy" in f.text for f in result.findings if f.severity == LIMIT)
    other = dict(policy, metadata={"name": "db", "namespace": "default"},
                 spec={"podSelector": {"matchLabels": {"app": "db"}}})
    assert not [f for f in explain(svc, WEB_PODS, None, OPEN_8080, policies=[other]).findings
                if "NetworkPolicy" in f.text]
