"""The Ingress controller's decisions (plan/ingress.py) and config (render/ingress.py) from
literal objects, kubectl's columns, and the API server's Ingress admission (the default class);
NetworkPolicies, stored and defaulted, with a warning of what their enforcement leaves out."""

from __future__ import annotations

import base64

from test_apiserver_harness import run

from emukube.apiserver.printers.networking import ingress_cells, ingress_class_cells, network_policy_cells
from emukube.cli.output import ingress_lines
from emukube.manifests.load import Doc
from emukube.manifests.unemulated import PARTLY_ENFORCED, unemulated_fields
from emukube.plan import ingress
from emukube.render.ingress import certificate_files, render_ingress


def svc(name: str, ip: str = "10.96.1.5", ns: str = "default", ports=({"name": "http", "port": 80},)) -> dict:
    return {"kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"clusterIP": ip, "ports": [dict(p) for p in ports]}}


def backend(name: str, port) -> dict:
    return {"service": {"name": name, "port": {"number": port} if isinstance(port, int) else {"name": port}}}


def ing(name: str, rules: list, created: str = "2026-01-01T00:00:00Z", ns: str = "default", **spec) -> dict:
    return {"kind": "Ingress", "metadata": {"name": name, "namespace": ns, "creationTimestamp": created},
            "spec": {"rules": rules, **spec}}


def rule(host: str, *paths: tuple[str, str, dict]) -> dict:
    out: dict = {"http": {"paths": [{"path": p, "pathType": t, "backend": b} for p, t, b in paths]}}
    return {"host": host, **out} if host else out


def test_routes_are_tried_exact_host_then_wildcard_then_any_longest_path_first():
    plan = ingress.plan([ing("a", [
        rule("", ("/", "Prefix", backend("web", 80))),
        rule("*.shop.example", ("/", "Prefix", backend("web", 80))),
        rule("shop.example", ("/", "Prefix", backend("web", 80)), ("/api", "Prefix", backend("web", "http")),
             ("/api", "Exact", backend("web", 80))),
    ])], [svc("web")])
    assert [(r.host, r.path, r.path_type) for r in plan.routes] == [
        ("shop.example", "/api", "Exact"), ("shop.example", "/api", "Prefix"), ("shop.example", "/", "Prefix"),
        ("*.shop.example", "/", "Prefix"), ("", "/", "Prefix")]
    assert plan.hosts == ("shop.example", "*.shop.example")
    assert {r.target.address for r in plan.routes} == {"10.96.1.5:80"}


def test_the_older_ingress_keeps_a_host_and_path_both_name():
    newer = ing("newer", [rule("x.example", ("/", "Prefix", backend("b", 80)))], created="2026-02-01T00:00:00Z")
    older = ing("older", [rule("x.example", ("/", "Prefix", backend("a", 80)))], created="2026-01-01T00:00:00Z")
    plan = ingress.plan([newer, older], [svc("a", "10.96.1.1"), svc("b", "10.96.1.2")])
    assert [(r.ingress, r.target.address) for r in plan.routes] == [("default/older", "10.96.1.1:80")]
    gone = dict(older, metadata={**older["metadata"], "deletionTimestamp": "2026-03-01T00:00:00Z"})
    assert [r.ingress for r in ingress.plan([newer, gone], [svc("a"), svc("b")]).routes] == ["default/newer"]


def test_backends_that_cannot_be_reached_say_why():
    services = [svc("web"), svc("headless", ip="None"), svc("other", ns="shop")]
    targets = {name: ingress.target_of("default", backend(name, port), {
        (s["metadata"]["namespace"], s["metadata"]["name"]): s for s in services})
        for name, port in (("web", 81), ("headless", 80), ("other", 80), ("web", "http"))}
    assert targets["web"].address == "10.96.1.5:80"  # by its port's name
    assert targets["headless"].why == 'service "headless" has no ClusterIP'
    assert targets["other"].why == 'service "other" not found'  # another namespace's is not this one's
    assert ingress.target_of("default", backend("web", 81), {("default", "web"): svc("web")}).why == \
        'service "web" does not have port 81'
    assert ingress.target_of("default", {"resource": {"kind": "Bucket", "name": "b"}}, {}).why.startswith(
        "a resource backend")


def test_the_config_ends_each_host_and_falls_back_to_the_default_backend():
    plan = ingress.plan([ing("a", [rule("shop.example", ("/api/", "Prefix", backend("web", 80)),
                                        ("/x", "ImplementationSpecific", backend("nope", 80))),
                                   rule("*.shop.example", ("/", "Prefix", backend("web", 80)))])], [svc("web")])
    text = render_ingress(plan)
    lines = [line.strip() for line in text.splitlines()]
    assert "acl host_0 var(txn.host) -m str 'shop.example'" in lines
    assert r"acl host_1 var(txn.host) -m reg '^[^.]+\.shop\.example$'" in lines
    assert "use_backend be_0 if host_0 { path -m str '/api' } or host_0 { path -m beg '/api/' }" in lines
    assert "use_backend be_1 if host_0 { path -m beg '/x' }" in lines
    # shop.example answers only from its own rules: ended before the wildcard's.
    assert lines.index("use_backend default_404 if host_0") < lines.index("use_backend be_0 if host_1")
    assert lines[-1] == "http-request return status 404 content-type text/plain string 'default backend - 404'"
    assert "string '503 Service Temporarily Unavailable: service \"nope\" not found'" in text
    assert "default_backend default_404" in lines
    odd = ingress.plan([ing("o", [rule("", ("/a\nbind :9", "ImplementationSpecific", backend("web", 80)))])],
                       [svc("web")])
    assert "bind :9" not in render_ingress(odd)  # a path no request can have never reaches the config
    with_default = ingress.plan([ing("d", [], defaultBackend=backend("web", 80))], [svc("web")])
    assert "default_backend be_0" in render_ingress(with_default) and "default_404" not in render_ingress(with_default)


def test_kubectls_columns():
    shown = ing("a", [rule(h, ("/", "Prefix", backend("w", 80))) for h in ("a.x", "", "b.x", "c.x", "d.x")],
                ingressClassName="emukube", tls=[{"hosts": ["a.x"]}])
    shown["status"] = ingress.status("127.0.100.254")
    assert ingress_cells(shown, 0)[:5] == ["a", "emukube", "a.x,b.x,c.x + 2 more...", "127.0.100.254", "80, 443"]
    bare = ing("b", [])
    bare["status"] = ingress.status(None)
    assert ingress_cells(bare, 0)[:5] == ["b", "<none>", "*", "", "80"]
    params = {"metadata": {"name": "c"}, "spec": {"controller": "x.io/y",
                                                   "parameters": {"apiGroup": "k.io", "kind": "P", "name": "p"}}}
    assert ingress_class_cells(params, 0)[:3] == ["c", "x.io/y", "P.k.io/p"]
    assert ingress_class_cells(ingress.default_class(), 0)[:3] == ["emukube", "emukube.io/ingress", "<none>"]


def test_an_ingress_without_a_class_gets_the_default_one(tmp_path):
    path = "/apis/networking.k8s.io/v1/namespaces/default/ingresses"
    body = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "a"},
            "spec": {"defaultBackend": backend("web", 80)}}

    async def check(api):
        classes = await api.ok("GET", "/apis/networking.k8s.io/v1/ingressclasses")
        assert [c["metadata"]["name"] for c in classes["items"]] == ["emukube"]
        made = await api.ok("POST", path, body)
        assert made["spec"]["ingressClassName"] == "emukube" and made["status"] == {"loadBalancer": {}}
        assert made["metadata"]["generation"] == 1
        # Written again without a class (as `up` writes a manifest), it keeps the one it was given.
        made.pop("status")
        made["spec"].pop("ingressClassName")
        assert (await api.ok("PUT", f"{path}/a", made))["spec"]["ingressClassName"] == "emukube"
        legacy = {**body, "metadata": {"name": "b", "annotations": {ingress.LEGACY_CLASS_ANNOTATION: "nginx"}}}
        assert "ingressClassName" not in (await api.ok("POST", path, legacy))["spec"]
        status, answer, _ = await api.req("POST", path, {**body, "metadata": {"name": "c"}, "spec": {}})
        assert status == 422 and answer["message"] == (
            'Ingress.networking.k8s.io "c" is invalid: spec: Invalid value: null: either `defaultBackend` or '
            "`rules` must be specified")

    run(tmp_path, check)


def tls_secret(name: str, crt: str = "CERT", key: str = "KEY") -> dict:
    return {"kind": "Secret", "metadata": {"name": name, "namespace": "default"}, "type": "kubernetes.io/tls",
            "data": {"tls.crt": base64.b64encode(crt.encode()).decode(),
                     "tls.key": base64.b64encode(key.encode()).decode()}}


def test_tls_secrets_give_certificates_by_sni_and_a_redirect_to_https():
    shop = ing("a", [rule("shop.example", ("/", "Prefix", backend("web", 80)))],
               tls=[{"hosts": ["shop.example", "*.shop.example"], "secretName": "shop-tls"},
                    {"hosts": ["gone.example"], "secretName": "missing"}])
    plan = ingress.plan([shop], [svc("web")], [tls_secret("shop-tls"), tls_secret("empty", crt="")])
    assert [(c.secret, c.hosts, c.pem) for c in plan.certificates] == [
        ("default/shop-tls", ("shop.example", "*.shop.example"), "CERT\nKEY\n")]
    files = certificate_files(plan)
    name = f"tls-{plan.certificates[0].digest}.pem"
    assert files[name] == "CERT\nKEY\n"
    # The fake certificate first: HAProxy's default for names no Secret covers.
    assert files["crt-list"] == f"/tmp/emukube/default.pem\n/tmp/emukube/{name} shop.example *.shop.example\n"
    text = render_ingress(plan)
    assert text.startswith(f"# certificate default/shop-tls: {name}\n")  # a new Secret: a new config, a reload
    assert ("http-request redirect scheme https code 308 if !{ ssl_fc } { var(txn.host) -m reg "
            r"'^[^.]+\.shop\.example$' } or !{ ssl_fc } { var(txn.host) -m str 'shop.example' }") in text
    assert "redirect" not in render_ingress(ingress.plan([shop], [svc("web")]))


def test_up_prints_a_curl_per_served_ingress():
    served = ing("shop", [rule("*.shop.example", ("/api", "Prefix", backend("web", 80)))])
    served["status"] = ingress.status("127.0.100.254")
    pending = ing("later", [rule("", ("/", "Prefix", backend("web", 80)))])
    anywhere = ing("any", [rule("", ("/", "Prefix", backend("web", 80)))])
    anywhere["status"] = ingress.status("127.0.100.254")
    assert ingress_lines([served, pending, anywhere]) == [
        "ingress/shop     curl -H 'Host: www.shop.example' http://127.0.100.254/api",
        "ingress/any      curl http://127.0.100.254/"]


def test_a_network_policy_is_stored_defaulted_with_the_api_servers_warning(tmp_path):
    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "p"},
              "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "egress": [{"ports": [{"port": 53}]}]}}

    async def check(api):
        status, made, resp = await api.req("POST", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies",
                                           policy)
        assert status == 201 and made["spec"]["policyTypes"] == ["Ingress", "Egress"]
        assert made["spec"]["egress"][0]["ports"] == [{"port": 53, "protocol": "TCP"}]
        assert f"NetworkPolicy p: {PARTLY_ENFORCED}" in resp.headers["Warning"]

    run(tmp_path, check)
    assert network_policy_cells(policy, 0)[:2] == ["p", "app=web"]
    assert unemulated_fields([Doc("m.yaml", 0, policy)]) == [
        f"NetworkPolicy: {PARTLY_ENFORCED} (networkpolicy/p)"]


def test_ingress_nginx_s_rewrite_target_makes_the_path_a_regex_and_rewrites_it():
    rewriting = ing("rw", [rule("rw.example", ("/api(/|$)(.*)", "ImplementationSpecific", backend("web", 80)),
                                ("/plain", "Prefix", backend("web", 80)))])
    rewriting["metadata"]["annotations"] = {"nginx.ingress.kubernetes.io/rewrite-target": "/$2"}
    other = ing("other", [rule("other.example", ("/", "Prefix", backend("web", 80)))], "2026-02-01T00:00:00Z")
    plan = ingress.plan([rewriting, other], [svc("web")])
    api = next(r for r in plan.routes if r.path.startswith("/api"))
    assert api.regex and api.rewrite == "/$2"
    text = render_ingress(plan)
    assert "{ path -m reg -i '^/api(/|$)(.*)' }" in text, text
    assert "    http-request replace-path '(?i)/api(/|$)(.*)' '/\\2'\n" in text
    # Each rewriting route has its own backend; the Ingress without the annotation shares none of it.
    assert text.count("\nbackend be_") == 3 and text.count("http-request replace-path") == 2
    assert "{ path -m beg '/plain/' }" not in text  # every path of a rewriting Ingress is a regex


def test_ssl_redirect_false_force_ssl_redirect_and_app_root():
    secret = tls_secret("t")
    plain = ing("plain", [rule("plain.example", ("/", "Prefix", backend("web", 80)))],
                tls=[{"hosts": ["plain.example"], "secretName": "t"}])
    plain["metadata"]["annotations"] = {"nginx.ingress.kubernetes.io/ssl-redirect": "false"}
    forced = ing("forced", [rule("forced.example", ("/", "Prefix", backend("web", 80)))])
    forced["metadata"]["annotations"] = {"nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
                                         "nginx.ingress.kubernetes.io/app-root": "/app"}
    text = render_ingress(ingress.plan([plain, forced], [svc("web")], [secret]))
    redirect = next(line for line in text.splitlines() if "redirect scheme https" in line)
    assert "forced.example" in redirect and "plain.example" not in redirect
    assert ("    http-request redirect location '/app' code 302 if { path -m str / } "
            "{ var(txn.host) -m str 'forced.example' }") in text
    assert unemulated_fields([Doc("m.yaml", 0, forced)]) == []  # honoured: not warned about
