"""RuntimeClasses (node.k8s.io/v1): validation worded as pkg/apis/node/validation words it, the
RuntimeClass admission plugin's effect on new pods (through the real API server app, and as the
controller's loop asks before it makes a workload's pod), tolerations merged as
tolerations.MergeTolerations merges them, and kubectl's columns."""

from __future__ import annotations

from test_apiserver_harness import run

from emukube.apiserver.printers.node import runtime_class_cells
from emukube.controllers.pod_admission import admitted
from emukube.manifests.fielderrors import FieldErrors
from emukube.manifests.validate_node import validate_runtime_class
from emukube.plan import runtime_classes
from emukube.plan.workloads import PodPlan

CLASSES = "/apis/node.k8s.io/v1/runtimeclasses"
PODS = "/api/v1/namespaces/default/pods"


def rc(name: str, handler: str = "runsc", **more) -> dict:
    return {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": name}, "handler": handler,
            **more}


def pod(name: str, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "emukube/echo:1.0"}], **spec}}


def problems(obj: dict) -> list[str]:
    errs = FieldErrors()
    validate_runtime_class(obj, errs)
    return errs.items


def test_validation_is_worded_as_the_api_servers():
    assert problems(rc("ok", overhead={"podFixed": {"cpu": "250m", "memory": "120Mi"}},
                       scheduling={"nodeSelector": {"rt": "gvisor"},
                                   "tolerations": [{"key": "rt", "operator": "Exists", "effect": "NoSchedule"}]})) == []
    assert problems(rc("x", handler="Run_sc")) == [
        "handler: Invalid value: \"Run_sc\": a lowercase RFC 1123 label must consist of lower case alphanumeric "
        "characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
        "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"]
    assert problems(rc("x", handler="a.b")) == ['handler: Invalid value: "a.b": must not contain dots']
    assert problems(rc("x", overhead={"podFixed": {"cpu": "-1", "memory": "1Gi", "foo": "1",
                                                   "example.com/gpu": "500m", "hugepages-2Mi": "3Mi"}})) == [
        'overhead.limits[cpu]: Invalid value: "-1": must be greater than or equal to 0',
        'overhead.limits[foo]: Invalid value: "foo": must be a standard resource type or fully qualified',
        'overhead.limits[foo]: Invalid value: "foo": must be a standard resource for containers',
        'overhead.limits[example.com/gpu]: Invalid value: "500m": must be an integer',
        'overhead.limits[hugepages-2Mi]: Invalid value: "3Mi": 3Mi is not positive integer multiple of hugepages-2Mi']
    assert problems(rc("x", overhead={"podFixed": {"hugepages-2Mi": "4Mi"}})) == [
        "overhead: Forbidden: HugePages require cpu or memory"]
    assert problems(rc("x", scheduling={"nodeSelector": {"bad key!": "v"}}))[0].startswith(
        'scheduling.nodeSelector: Invalid value: "bad key!": name part must consist of alphanumeric characters')
    tolerations = [{"key": "a", "value": "b", "effect": "NoSchedule"},
                   {"key": "a", "value": "b", "effect": "NoSchedule", "operator": ""},
                   {"operator": "Equal"}, {"key": "k", "operator": "Exists", "value": "v"},
                   {"key": "k", "operator": "Gt", "value": "1"}, {"key": "k", "operator": "Is"},
                   {"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5},
                   {"key": "k", "operator": "Exists", "effect": "Never"}]
    assert problems(rc("x", scheduling={"tolerations": tolerations})) == [
        'scheduling.tolerations[1]: Duplicate value: {"Key":"a","Operator":"","Value":"b","Effect":"NoSchedule",'
        '"TolerationSeconds":null}',
        'scheduling.tolerations[2].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, '
        'which means "match all values and all keys"',
        "scheduling.tolerations[3].operator: Invalid value: \"v\": value must be empty when `operator` is 'Exists'",
        'scheduling.tolerations[4].operator: Unsupported value: "Gt": supported values: "Equal", "Exists", "Lt", "Gt"',
        'scheduling.tolerations[5].operator: Unsupported value: "Is": supported values: "Equal", "Exists"',
        "scheduling.tolerations[6].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when "
        "`tolerationSeconds` is set",
        'scheduling.tolerations[7].effect: Unsupported value: "Never": supported values: "NoSchedule", '
        '"PreferNoSchedule", "NoExecute"']


def test_tolerations_merge_as_merge_tolerations_does():
    def t(key="", op="Exists", value="", effect="", seconds=None) -> dict:
        out = {"key": key, "operator": op, "value": value, "effect": effect}
        return out if seconds is None else {**out, "tolerationSeconds": seconds}
    foo_bar, foo_baz = t("foo", "Equal", "bar", "NoSchedule"), t("foo", "Equal", "baz", "NoSchedule")
    faz_baz, foo_noexec_10 = t("faz", "Equal", "baz", "NoSchedule"), t("foo", effect="NoExecute", seconds=10)
    foo_pref = t("foo", effect="PreferNoSchedule")
    merge = runtime_classes.merge_tolerations
    assert merge([foo_bar, faz_baz, foo_noexec_10], [foo_pref, foo_baz]) == \
        [foo_bar, faz_baz, foo_noexec_10, foo_pref, foo_baz]  # disjoint
    assert merge([foo_bar, faz_baz, foo_noexec_10], [foo_bar, faz_baz, foo_noexec_10]) == \
        [foo_bar, faz_baz, foo_noexec_10]  # duplicate
    assert merge([foo_bar, foo_baz], [t("foo", effect="NoSchedule"), faz_baz]) == \
        [t("foo", effect="NoSchedule"), faz_baz]  # redundant ones go
    assert merge([foo_bar, foo_baz, foo_noexec_10], [t()]) == [t()]
    assert merge([t()], [foo_bar, foo_baz, foo_noexec_10]) == [t()]


def test_the_plugin_on_a_pod_spec():
    gvisor = rc("gvisor", overhead={"podFixed": {"cpu": "250m", "memory": "120Mi"}},
                scheduling={"nodeSelector": {"rt": "gvisor"}, "tolerations": [{"key": "rt", "operator": "Exists"}]})
    spec, why = runtime_classes.admit({"runtimeClassName": "gvisor", "nodeSelector": {"disk": "ssd"}}, gvisor)
    assert why == "" and spec["overhead"] == {"cpu": "250m", "memory": "120Mi"}
    assert spec["nodeSelector"] == {"disk": "ssd", "rt": "gvisor"}
    assert spec["tolerations"] == [{"key": "rt", "operator": "Exists"}]
    # The same overhead written otherwise is the same; another one is refused.
    assert runtime_classes.admit({"runtimeClassName": "gvisor", "overhead": {"cpu": "0.25", "memory": "120Mi"}},
                                 gvisor)[1] == ""
    assert runtime_classes.admit({"runtimeClassName": "gvisor", "overhead": {"cpu": "1"}}, gvisor)[1] == \
        "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"
    assert runtime_classes.admit({"overhead": {"cpu": "1"}}, None)[1] == \
        "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead"
    assert runtime_classes.admit({"runtimeClassName": "gvisor", "nodeSelector": {"rt": "kata"}}, gvisor)[1] == \
        "conflict: runtimeClass.scheduling.nodeSelector[rt] = gvisor; pod.spec.nodeSelector[rt] = kata"
    assert runtime_classes.admit({"runtimeClassName": "kata"}, None)[1] == 'pod rejected: RuntimeClass "kata" not found'
    assert runtime_classes.admit({"containers": []}, None) == ({"containers": []}, "")


def test_pods_get_their_classs_overhead_and_a_missing_class_is_refused(tmp_path):
    async def body(api):
        await api.ok("POST", CLASSES, rc("gvisor", overhead={"podFixed": {"cpu": "250m", "memory": "120Mi"}},
                                         scheduling={"nodeSelector": {"rt": "gvisor"}, "tolerations": [
                                             {"key": "rt", "operator": "Equal", "value": "gvisor",
                                              "effect": "NoSchedule"}]}))
        made = await api.ok("POST", PODS, pod("p", runtimeClassName="gvisor"))
        assert made["spec"]["overhead"] == {"cpu": "250m", "memory": "120Mi"}
        assert made["spec"]["nodeSelector"] == {"rt": "gvisor"}
        assert made["spec"]["tolerations"][-1] == {"key": "rt", "operator": "Equal", "value": "gvisor",
                                                   "effect": "NoSchedule"}
        # A later write of the pod without it keeps what the plugin set (up writes whole objects).
        made["spec"].pop("overhead")
        assert (await api.ok("PUT", f"{PODS}/p", made))["spec"]["overhead"] == {"cpu": "250m", "memory": "120Mi"}
        status, answer, _ = await api.req("POST", PODS, pod("q", runtimeClassName="kata"))
        assert (status, answer["reason"], answer["message"]) == (
            403, "Forbidden", 'pods "q" is forbidden: pod rejected: RuntimeClass "kata" not found')
        assert answer["details"] == {"name": "q", "kind": "pods"}
        status, answer, _ = await api.req("POST", PODS, pod("r", runtimeClassName="gvisor",
                                                            nodeSelector={"rt": "runc"}))
        assert status == 403 and answer["message"] == (
            'pods "r" is forbidden: conflict: runtimeClass.scheduling.nodeSelector[rt] = gvisor; '
            "pod.spec.nodeSelector[rt] = runc")
        status, answer, _ = await api.req("POST", PODS, pod("s", overhead={"cpu": "1"}))
        assert status == 403 and answer["message"] == ('pods "s" is forbidden: pod rejected: Pod Overhead set '
                                                       "without corresponding RuntimeClass defined Overhead")
        plain = await api.ok("POST", PODS, pod("t"))
        assert "overhead" not in plain["spec"] and "nodeSelector" not in plain["spec"]
    run(tmp_path, body)


def test_a_class_keeps_its_handler_and_warns_of_deprecated_node_labels(tmp_path):
    async def body(api):
        status, answer, resp = await api.req("POST", CLASSES, rc(
            "old", scheduling={"nodeSelector": {"beta.kubernetes.io/arch": "amd64"}}))
        assert status == 201
        assert 'scheduling.nodeSelector: deprecated since v1.14; use \\"kubernetes.io/arch\\" instead' in \
            resp.headers.get("Warning", "")
        answer["handler"] = "kata"
        status, answer, _ = await api.req("PUT", f"{CLASSES}/old", answer)
        assert status == 422 and answer["message"] == \
            'RuntimeClass.node.k8s.io "old" is invalid: handler: Invalid value: "kata": field is immutable'
        status, answer, _ = await api.req("POST", CLASSES, rc("bad", handler=""))
        assert status == 422 and answer["details"]["causes"][0]["field"] == "handler"
        listed = await api.ok("GET", "/apis/node.k8s.io/v1")
        assert listed["resources"] == [{"name": "runtimeclasses", "singularName": "runtimeclass", "namespaced": False,
                                        "kind": "RuntimeClass", "verbs": ["create", "delete", "deletecollection",
                                                                          "get", "list", "patch", "update", "watch"]}]
    run(tmp_path, body)


def test_the_loop_holds_a_pod_of_a_missing_class_back_and_gives_the_others_their_overhead():
    plan = PodPlan(namespace="default", name="web-7d9f-x2x4q", labels={"app": "web"},
                   spec={"runtimeClassName": "gvisor", "containers": [{"name": "c", "image": "i"}]},
                   owner_kind="Deployment", owner_name="web", template_hash="7d9f")
    accounts = [{"kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "default"}}]
    _, why = admitted(plan, accounts, [], {})
    assert why == 'Error creating: pods "web-7d9f-" is forbidden: pod rejected: RuntimeClass "gvisor" not found'
    found = rc("gvisor", overhead={"podFixed": {"memory": "64Mi"}})
    made, why = admitted(plan, accounts, [], {"gvisor": found})
    assert why == "" and made.spec["overhead"] == {"memory": "64Mi"}
    assert admitted(plan, accounts, [], None) == (plan, "")  # the API could not say: left to the pod's write


def test_columns_are_kubectls():
    obj = rc("gvisor")
    obj["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    assert runtime_class_cells(obj, 1767225602.0) == ["gvisor", "runsc", "2s"]
