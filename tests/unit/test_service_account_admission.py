"""The ServiceAccount admission plugin: a pod's account must exist (the API server refuses the pod,
the loop's pre-admission makes its owner say FailedCreate), and an account that opts out of
automounting gives its pods no kube-api-access volume; the `default` account and the
`kube-root-ca.crt` ConfigMap come back when deleted, as their publishers put them back."""

from __future__ import annotations

from test_apiserver_harness import pod, run

from emukube.controllers.pod_admission import admitted
from emukube.plan.api_access import automounts, has_api_access, missing_account, with_api_access
from emukube.plan.workloads import PodPlan

PODS = "/api/v1/namespaces/default/pods"
SA = "/api/v1/namespaces/default/serviceaccounts"
QUIET = {"metadata": {"name": "quiet"}, "automountServiceAccountToken": False}


def test_the_pods_word_wins_then_the_accounts_then_true():
    assert automounts({}, None) and automounts({}, {"metadata": {"name": "a"}})
    assert not automounts({}, QUIET)
    assert automounts({"automountServiceAccountToken": True}, QUIET)
    assert not automounts({"automountServiceAccountToken": False}, {"automountServiceAccountToken": True})
    spec = {"containers": [{"name": "c"}]}
    assert with_api_access(spec, "d", "p", QUIET) is spec
    assert has_api_access(with_api_access(spec, "d", "p", {"metadata": {"name": "a"}}))


def test_a_missing_account_in_the_plugins_words():
    assert missing_account({"serviceAccountName": "robot"}, "shop", {"default", "robot"}) == ""
    assert missing_account({}, "shop", {"default"}) == ""
    assert missing_account({"serviceAccountName": "ghost"}, "shop", {"default"}) == \
        'error looking up service account shop/ghost: serviceaccount "ghost" not found'
    assert missing_account({}, "shop", set()) == \
        'error looking up service account shop/default: serviceaccount "default" not found'


def test_the_loop_holds_back_a_pod_whose_account_is_missing():
    plan = PodPlan(namespace="shop", name="web-7d9f-x2x4q", labels={"app": "web"},
                   spec={"serviceAccountName": "web", "containers": [{"name": "c", "image": "i"}]},
                   owner_kind="Deployment", owner_name="web", template_hash="7d9f")
    elsewhere = {"kind": "ServiceAccount", "metadata": {"name": "web", "namespace": "default"}}
    assert admitted(plan, [elsewhere], [])[1] == ('Error creating: pods "web-7d9f-" is forbidden: error looking up '
                                                  'service account shop/web: serviceaccount "web" not found')
    here = {"kind": "ServiceAccount", "metadata": {"name": "web", "namespace": "shop"}}
    assert admitted(plan, [elsewhere, here], []) == (plan, "")


def test_the_api_server_refuses_a_pod_of_a_missing_account_and_honours_an_account_that_opts_out(tmp_path):
    async def body(api):
        status, answer, _ = await api.req("POST", PODS, pod("p", serviceAccountName="ghost"))
        assert status == 403 and answer["reason"] == "Forbidden"
        assert answer["message"] == ('pods "p" is forbidden: error looking up service account default/ghost: '
                                     'serviceaccount "ghost" not found')
        assert answer["details"] == {"name": "p", "kind": "pods"}
        await api.ok("POST", SA, QUIET)
        quiet = await api.ok("POST", PODS, pod("q", serviceAccountName="quiet"))
        assert not has_api_access(quiet["spec"]) and "volumeMounts" not in quiet["spec"]["containers"][0]
        wanted = await api.ok("POST", PODS, pod("w", serviceAccountName="quiet", automountServiceAccountToken=True))
        assert has_api_access(wanted["spec"])
        # An update keeps what the create gave: the volume stays on w, none comes to q.
        quiet["metadata"]["labels"] = {"seen": "yes"}
        assert not has_api_access((await api.ok("PUT", f"{PODS}/q", quiet))["spec"])
        plain = {**wanted, "spec": {**wanted["spec"], "volumes": []}}
        plain["spec"]["containers"] = [{**c, "volumeMounts": []} for c in wanted["spec"]["containers"]]
        assert has_api_access((await api.ok("PUT", f"{PODS}/w", plain))["spec"])
    run(tmp_path, body)


def test_the_default_account_comes_back_when_deleted(tmp_path):
    async def body(api):
        before = await api.ok("GET", f"{SA}/default")
        await api.ok("DELETE", f"{SA}/default")
        after = await api.ok("GET", f"{SA}/default")
        assert after["metadata"]["uid"] != before["metadata"]["uid"]
        await api.ok("POST", PODS, pod("p"))  # its account is there again
        await api.ok("POST", SA, {"metadata": {"name": "robot"}})
        await api.ok("DELETE", f"{SA}/robot")
        assert (await api.req("GET", f"{SA}/robot"))[0] == 404  # only the publishers' own come back
    run(tmp_path, body)


def test_pods_get_their_accounts_pull_secrets_unless_they_name_their_own(tmp_path):
    """The docs' "Add ImagePullSecrets to a service account": a new pod then shows them."""
    async def body(api):
        await api.ok("POST", SA, {"metadata": {"name": "puller"}, "imagePullSecrets": [{"name": "regcred"}]})
        made = await api.ok("POST", PODS, pod("p", serviceAccountName="puller"))
        assert made["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
        own = await api.ok("POST", PODS, pod("q", serviceAccountName="puller", imagePullSecrets=[{"name": "mine"}]))
        assert own["spec"]["imagePullSecrets"] == [{"name": "mine"}]
        plain = await api.ok("POST", PODS, pod("r"))
        assert "imagePullSecrets" not in plain["spec"]
    run(tmp_path, body)


def test_the_controllers_writes_keep_what_the_plugin_gave():
    from emukube.controllers.publish_pods import PodFacts, pod_object

    facts = PodFacts(namespace="default", name="web-1", labels={}, spec={"containers": [{"name": "c", "image": "i"}]},
                     owner="Deployment/web", template_hash="h", ip="10.3.0.7", node="node-1", host_ip="127.0.0.1",
                     created="2026-01-10T10:00:00Z")
    first = pod_object(facts, {"containers": []}, "2026-01-10T10:00:00Z")
    assert "imagePullSecrets" not in first["spec"] and not has_api_access(first["spec"])  # admission adds them
    stored = {**first, "spec": {**with_api_access(first["spec"], "default", "web-1"),
                                "imagePullSecrets": [{"name": "regcred"}]}}
    again = pod_object(facts, {"containers": []}, "2026-01-10T10:00:01Z", previous=stored)
    assert again["spec"]["imagePullSecrets"] == [{"name": "regcred"}] and has_api_access(again["spec"])
