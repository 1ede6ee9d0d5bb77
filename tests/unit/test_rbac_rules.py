"""RBAC: rule matching and bindings from literal objects (rbac.py), request attributes as
kube-apiserver reads them (request_info.py), and the API server enforcing them for a
ServiceAccount token over a real store (403 wording, reviews, roleRef immutability)."""

from __future__ import annotations

from test_apiserver_harness import run

from emukube.apiserver import rbac
from emukube.apiserver.rbac import Attributes, Policy, User, authorize, rule_allows
from emukube.apiserver.request_info import attributes

SHOP = rbac.service_account_user("shop", "default")
G = "rbac.authorization.k8s.io"


def res(verb, resource, group="", namespace="shop", name="", sub=""):
    return Attributes(verb, group=group, resource=resource, namespace=namespace, name=name, subresource=sub)


def rule(verbs, resources, groups=("",), names=None):
    r = {"verbs": list(verbs), "apiGroups": list(groups), "resources": list(resources)}
    if names:
        r["resourceNames"] = list(names)
    return r


def test_verbs_groups_and_resources_match_exactly_or_by_star():
    r = rule(["get", "list"], ["pods"])
    assert rule_allows(res("list", "pods"), r)
    assert not rule_allows(res("delete", "pods"), r)
    assert not rule_allows(res("list", "pods", group="apps"), r)
    assert not rule_allows(res("list", "deployments"), r)
    assert rule_allows(res("delete", "deployments", group="apps"), rule(["*"], ["*"], ["*"]))


def test_subresources_need_their_own_grant_or_a_star_prefix():
    assert not rule_allows(res("get", "pods", name="w", sub="log"), rule(["get"], ["pods"]))
    assert rule_allows(res("get", "pods", name="w", sub="log"), rule(["get"], ["pods/log"]))
    assert not rule_allows(res("get", "pods", name="w"), rule(["get"], ["pods/log"]))
    scale = res("update", "deployments", group="apps", name="web", sub="scale")
    assert rule_allows(scale, rule(["update"], ["*/scale"], ["apps"]))
    assert not rule_allows(res("update", "deployments", group="apps", name="web", sub="status"),
                           rule(["update"], ["*/scale"], ["apps"]))


def test_resource_names_limit_named_requests_only():
    r = rule(["get", "list"], ["configmaps"], names=["settings"])
    assert rule_allows(res("get", "configmaps", name="settings"), r)
    assert not rule_allows(res("get", "configmaps", name="other"), r)
    assert not rule_allows(res("list", "configmaps"), r)  # a list names nothing


def test_non_resource_urls_match_exactly_or_by_trailing_star():
    r = {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/apis/*"]}
    get = lambda path: Attributes("get", resource_request=False, path=path)  # noqa: E731
    assert rule_allows(get("/healthz"), r) and rule_allows(get("/apis/apps/v1"), r)
    assert not rule_allows(get("/healthz/etcd"), r) and not rule_allows(get("/api"), r)
    assert not rule_allows(Attributes("post", resource_request=False, path="/healthz"), r)
    assert not rule_allows(res("get", "pods"), r)  # a non-resource rule grants no resource


def _policy(**kw) -> Policy:
    return Policy(**kw)


def _binding(kind, name, ref_kind, ref_name, subjects, namespace=None):
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"kind": kind, "metadata": meta, "roleRef": {"apiGroup": G, "kind": ref_kind, "name": ref_name},
            "subjects": subjects}


SA = {"kind": "ServiceAccount", "name": "default"}


def test_a_role_binding_grants_in_its_namespace_only():
    role = {"metadata": {"name": "reader", "namespace": "shop"}, "rules": [rule(["list"], ["pods"])]}
    binding = _binding("RoleBinding", "read", "Role", "reader", [SA], "shop")
    policy = _policy(roles=[role], role_bindings=[binding])
    assert authorize(policy, SHOP, res("list", "pods")) == \
        (True, 'RBAC: allowed by RoleBinding "read/shop" of Role "reader" to ServiceAccount "default/shop"')
    assert authorize(policy, SHOP, res("list", "pods", namespace="other")) == (False, "")
    assert authorize(policy, SHOP, res("list", "pods", namespace="")) == (False, "")
    other = rbac.service_account_user("other", "default")
    assert authorize(policy, other, res("list", "pods")) == (False, "")  # subject namespace: the binding's


def test_cluster_roles_through_either_binding_and_groups():
    view = {"metadata": {"name": "viewer"}, "rules": [rule(["get"], ["pods"])]}
    local = _binding("RoleBinding", "v", "ClusterRole", "viewer", [SA], "shop")
    everyone = _binding("ClusterRoleBinding", "all", "ClusterRole", "viewer",
                        [{"kind": "Group", "name": "system:serviceaccounts:shop", "apiGroup": G}])
    assert authorize(_policy(cluster_roles=[view], role_bindings=[local]), SHOP, res("get", "pods"))[0]
    assert not authorize(_policy(cluster_roles=[view], role_bindings=[local]), SHOP,
                         res("get", "pods", namespace="x"))[0]
    allowed, reason = authorize(_policy(cluster_roles=[view], cluster_role_bindings=[everyone]), SHOP,
                                res("get", "pods", namespace="x"))
    assert allowed and reason == ('RBAC: allowed by ClusterRoleBinding "all" of ClusterRole "viewer" to '
                                  'Group "system:serviceaccounts:shop"')
    user = {"kind": "User", "name": "jane", "apiGroup": G}
    policy = _policy(cluster_roles=[view], cluster_role_bindings=[
        _binding("ClusterRoleBinding", "jane", "ClusterRole", "viewer", [user])])
    assert authorize(policy, User("jane"), res("get", "pods"))[0]
    assert not authorize(policy, User("john"), res("get", "pods"))[0]


def test_a_missing_role_is_the_reason_of_a_denial():
    binding = _binding("RoleBinding", "read", "Role", "gone", [SA], "shop")
    assert authorize(_policy(role_bindings=[binding]), SHOP, res("list", "pods")) == \
        (False, 'RBAC: role.rbac.authorization.k8s.io "gone" not found')


def test_masters_may_do_anything_and_aggregated_roles_collect_labelled_ones():
    assert authorize(Policy(), User("admin", ("system:masters",)), res("delete", "nodes", namespace=""))[0]
    extra = {"metadata": {"name": "extra", "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
             "rules": [rule(["get"], ["widgets"], ["example.com"])]}
    view = {"metadata": {"name": "view"}, "rules": [],
            "aggregationRule": {"clusterRoleSelectors": [
                {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}}]}}
    binding = _binding("RoleBinding", "v", "ClusterRole", "view", [SA], "shop")
    policy = _policy(cluster_roles=[view, extra], role_bindings=[binding])
    assert authorize(policy, SHOP, res("get", "widgets", group="example.com"))[0]
    # an empty selector picks every other ClusterRole (LabelSelectorAsSelector's Everything), an invalid one none
    everything = {"metadata": {"name": "everything"}, "aggregationRule": {"clusterRoleSelectors": [{}]}}
    broken = {"metadata": {"name": "broken"}, "aggregationRule": {"clusterRoleSelectors": [
        {"matchExpressions": [{"key": "a", "operator": "Near"}]}]}}
    roles = {r["metadata"]["name"]: r for r in (view, extra, everything, broken)}
    assert rbac.cluster_role_rules(everything, roles) == [rule(["get"], ["widgets"], ["example.com"])]
    assert rbac.cluster_role_rules(broken, roles) == []


def test_the_forbidden_message_is_the_api_servers():
    assert rbac.forbidden_message(SHOP, res("list", "pods")) == (
        'pods is forbidden: User "system:serviceaccount:shop:default" cannot list resource "pods" in API group "" '
        'in the namespace "shop"')
    assert rbac.forbidden_message(SHOP, res("get", "deployments", group="apps", namespace="", name="web",
                                            sub="scale")) == (
        'deployments.apps "web" is forbidden: User "system:serviceaccount:shop:default" cannot get resource '
        '"deployments/scale" in API group "apps" at the cluster scope')
    assert rbac.forbidden_message(SHOP, Attributes("get", resource_request=False, path="/metrics")) == \
        'forbidden: User "system:serviceaccount:shop:default" cannot get path "/metrics"'


def test_request_attributes_as_the_request_info_factory_reads_them():
    assert attributes("GET", "/api/v1/namespaces/shop/pods", {}) == \
        Attributes("list", version="v1", resource="pods", namespace="shop", path="/api/v1/namespaces/shop/pods")
    a = attributes("GET", "/api/v1/pods", {"watch": "true", "fieldSelector": "metadata.name=web"})
    assert (a.verb, a.name, a.namespace) == ("watch", "web", "")
    a = attributes("POST", "/api/v1/namespaces/shop/pods/web/exec", {})
    assert (a.verb, a.resource, a.name, a.subresource) == ("create", "pods", "web", "exec")
    a = attributes("GET", "/api/v1/namespaces/shop", {})
    assert (a.verb, a.resource, a.name, a.namespace) == ("get", "namespaces", "shop", "shop")
    a = attributes("PUT", "/api/v1/namespaces/shop/finalize", {})
    assert (a.resource, a.name, a.subresource) == ("namespaces", "shop", "finalize")
    a = attributes("DELETE", "/apis/apps/v1/namespaces/shop/deployments", {})
    assert (a.verb, a.group) == ("deletecollection", "apps")
    for path in ("/api", "/api/v1", "/apis/apps/v1", "/version", "/openapi/v3/apis/apps/v1"):
        assert not attributes("GET", path, {}).resource_request and attributes("GET", path, {}).verb == "get"


def test_the_api_server_enforces_rbac_for_service_account_tokens(tmp_path):
    async def body(api):
        token = api.sa_token("shop", "default")
        await api.ok("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                     "metadata": {"name": "shop"}})
        status, payload, _ = await api.req("GET", "/api/v1/namespaces/shop/pods", token=token)
        assert (status, payload["reason"], payload["details"]) == (403, "Forbidden", {"kind": "pods"})
        assert payload["message"] == ('pods is forbidden: User "system:serviceaccount:shop:default" cannot list '
                                      'resource "pods" in API group "" in the namespace "shop"')
        for path in ("/api", "/apis", "/api/v1", "/apis/apps/v1", "/openapi/v2"):  # system:discovery
            status, _, _ = await api.req("GET", path, token=token)
            assert status == 200, path
        await api.ok("POST", f"/apis/{G}/v1/namespaces/shop/rolebindings", _binding(
            "RoleBinding", "view", "ClusterRole", "view", [SA], "shop") | {"apiVersion": f"{G}/v1"})
        listed = await api.ok("GET", "/api/v1/namespaces/shop/pods", token=token)
        assert listed["items"] == []
        status, payload, _ = await api.req("DELETE", "/api/v1/namespaces/shop/pods/x", token=token)
        assert status == 403 and payload["details"] == {"name": "x", "kind": "pods"}

        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                  "spec": {"resourceAttributes": {"namespace": "shop", "verb": "watch", "resource": "pods"}}}
        answer = await api.ok("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review, token=token)
        assert answer["status"]["allowed"] is True
        review["spec"]["resourceAttributes"]["verb"] = "create"
        answer = await api.ok("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review, token=token)
        assert answer["status"] == {"allowed": False}
        # The admin impersonating the account gets the account's answer.
        answer = await api.ok("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review,
                              headers={"Impersonate-User": SHOP.name})
        assert answer["status"] == {"allowed": False}
        # The account may not impersonate.
        status, payload, _ = await api.req("GET", "/api/v1/namespaces/shop/pods", token=token,
                                           headers={"Impersonate-User": "jane"})
        assert status == 403 and payload["message"] == (
            'users "jane" is forbidden: User "system:serviceaccount:shop:default" cannot impersonate resource '
            '"users" in API group "" at the cluster scope')
        who = await api.ok("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                           {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}, token=token)
        info = who["status"]["userInfo"]
        assert info["username"] == SHOP.name and info["uid"]  # the default ServiceAccount's uid
        assert info["groups"] == ["system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated"]

        binding = await api.ok("GET", f"/apis/{G}/v1/namespaces/shop/rolebindings/view")
        binding["roleRef"]["name"] = "edit"
        status, payload, _ = await api.req("PUT", f"/apis/{G}/v1/namespaces/shop/rolebindings/view", binding)
        assert status == 422 and payload["message"] == (
            'RoleBinding.rbac.authorization.k8s.io "view" is invalid: roleRef: Invalid value: rbac.RoleRef{'
            'APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"edit"}: cannot change roleRef')
        bad = {"apiVersion": f"{G}/v1", "kind": "Role", "metadata": {"name": "r"},
               "rules": [{"verbs": [], "nonResourceURLs": ["/x"]}]}
        status, payload, _ = await api.req("POST", f"/apis/{G}/v1/namespaces/shop/roles", bad)
        assert status == 422 and payload["message"] == (
            'Role.rbac.authorization.k8s.io "r" is invalid: [rules[0].verbs: Required value: verbs must contain at '
            'least one value, rules[0].nonResourceURLs: Invalid value: []string{"/x"}: namespaced rules cannot '
            "apply to non-resource URLs]")
    run(tmp_path, body)


def test_subject_access_and_token_reviews(tmp_path):
    authz = "/apis/authorization.k8s.io/v1"

    async def body(api):
        token = api.sa_token("default", "default")
        spec = {"user": "system:serviceaccount:default:default",
                "resourceAttributes": {"verb": "get", "resource": "pods", "namespace": "default"}}
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
        assert (await api.ok("POST", f"{authz}/subjectaccessreviews", review))["status"] == {"allowed": False}
        spec["groups"] = ["system:masters"]
        assert (await api.ok("POST", f"{authz}/subjectaccessreviews", review))["status"]["allowed"] is True
        spec["nonResourceAttributes"] = {"path": "/api", "verb": "get"}
        status, payload, _ = await api.req("POST", f"{authz}/subjectaccessreviews", review)
        assert status == 422 and payload["message"].startswith(
            'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.nonResourceAttributes: Invalid value: ')
        local = {"apiVersion": "authorization.k8s.io/v1", "kind": "LocalSubjectAccessReview",
                 "spec": {"user": "jane", "nonResourceAttributes": {"path": "/version", "verb": "get"}}}
        answer = await api.ok("POST", f"{authz}/namespaces/default/localsubjectaccessreviews", local)
        assert answer["status"] == {"allowed": False}  # jane is in no group: not even system:authenticated
        status, payload, _ = await api.req("POST", f"{authz}/selfsubjectaccessreviews",
                                           {"kind": "SelfSubjectAccessReview", "spec": {}}, token=token)
        assert status == 422 and payload["message"] == (
            'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: '
            '"null": exactly one of nonResourceAttributes or resourceAttributes must be specified')
        rules = await api.ok("POST", f"{authz}/selfsubjectrulesreviews",
                             {"kind": "SelfSubjectRulesReview", "spec": {"namespace": "default"}}, token=token)
        assert {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"]} \
            in rules["status"]["nonResourceRules"] and rules["status"]["incomplete"] is False

        authn = "/apis/authentication.k8s.io/v1/tokenreviews"
        seen = await api.ok("POST", authn, {"kind": "TokenReview", "spec": {"token": token}})
        assert seen["status"]["authenticated"] is True
        assert seen["status"]["user"]["username"] == "system:serviceaccount:default:default"
        seen = await api.ok("POST", authn, {"kind": "TokenReview", "spec": {"token": "nonsense"}})
        assert "authenticated" not in seen["status"] and seen["status"]["error"]
        # Reviews are not stored: nothing to list.
        status, _, _ = await api.req("GET", f"{authz}/subjectaccessreviews")
        assert status == 405
    run(tmp_path, body)
