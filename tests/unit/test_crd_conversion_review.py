"""The conversion webhook's review and the checks of its answer (apiserver/crd_conversion.py), from
literal answers, worded as apiextensions-apiserver's webhookConverter words them; and the CRD's
spec.conversion validation."""

from __future__ import annotations

import pytest

from emukube.apiserver import crd_conversion as cc
from emukube.apiserver.errors import ApiError

V1, V2 = "stable.example.com/v1", "stable.example.com/v2"
CONFIG = {"service": {"namespace": "hooks", "name": "conv", "port": 443, "path": "/convert"}}
SERVICE = {"spec": {"clusterIP": "10.96.0.9", "ports": [{"port": 443}]}}


def obj(name: str, version: str = V1, **spec) -> dict:
    return {"apiVersion": version, "kind": "CronTab",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": "7",
                         "labels": {"app": name}},
            "spec": spec}


def conversion(versions=("v1",), service=SERVICE) -> cc.Conversion:
    return cc.Conversion("crontabs.stable.example.com", CONFIG, versions, lambda ns, name: service)


def answering(fn):
    """A webhook standing in for the HTTPS call: fn(request) -> the review it answers."""
    sent = []

    def send(target, ca_bundle, body, timeout):
        import json

        review = json.loads(body)
        sent.append((target, review, timeout))
        return fn(review)
    return send, sent


def success(review, change=lambda o: o):
    req = review["request"]
    return {"apiVersion": review["apiVersion"], "kind": "ConversionReview",
            "response": {"uid": req["uid"], "result": {"status": "Success"},
                         "convertedObjects": [change({**o, "apiVersion": req["desiredAPIVersion"]})
                                              for o in req["objects"]]}}


def test_only_objects_in_another_version_are_sent_in_one_review():
    send, sent = answering(success)
    out = cc.convert(conversion(), [obj("a", V2), obj("b"), obj("c", V2)], V1, "x", listed=True, send=send)
    assert [o["apiVersion"] for o in out] == [V1, V1, V1]
    assert [o["metadata"]["name"] for o in out] == ["a", "b", "c"]
    target, review, timeout = sent[0]
    assert len(sent) == 1 and review["apiVersion"] == "apiextensions.k8s.io/v1"
    assert [o["metadata"]["name"] for o in review["request"]["objects"]] == ["a", "c"]
    assert review["request"]["desiredAPIVersion"] == V1
    assert (target.url, target.address, timeout) == ("https://conv.hooks.svc:443/convert?timeout=30s",
                                                     "10.96.0.9", 30)


def test_nothing_to_convert_asks_nobody():
    send, sent = answering(success)
    objs = [obj("a")]
    assert cc.convert(conversion(), objs, V1, "x", send=send) is objs and not sent


def test_v1beta1_is_sent_to_a_webhook_that_takes_only_it():
    send, sent = answering(success)
    cc.convert(conversion(("v1beta1",)), [obj("a", V2)], V1, "x", send=send)
    assert sent[0][1]["apiVersion"] == "apiextensions.k8s.io/v1beta1"
    with pytest.raises(ApiError) as exc:
        cc.convert(conversion(("v2",)), [obj("a", V2)], V1, "x", send=send)
    assert exc.value.message == "no supported conversion review versions"


def test_metadata_is_the_originals_but_labels_and_annotations():
    def change(o):
        return {**o, "metadata": {**o["metadata"], "resourceVersion": "99", "labels": {"converted": "yes"},
                                  "annotations": {"note": "x"}}}
    send, _ = answering(lambda r: success(r, change))
    out = cc.convert(conversion(), [obj("a", V2)], V1, "x", send=send)[0]
    assert out["metadata"] == {"name": "a", "namespace": "default", "uid": "uid-a", "resourceVersion": "7",
                               "labels": {"converted": "yes"}, "annotations": {"note": "x"}}


def failure(fn, objs=None, listed=False) -> str:
    send, _ = answering(fn)
    with pytest.raises(ApiError) as exc:
        cc.convert(conversion(), objs or [obj("a", V2)], V1, cc.gvk(V2, "CronTab"), listed=listed, send=send)
    assert (exc.value.code, exc.value.reason) == (500, "")
    return exc.value.message


PREFIX = "conversion webhook for stable.example.com/v2, Kind=CronTab "


@pytest.mark.parametrize("answer, words", [
    (lambda r: {"apiVersion": "v1", "kind": "Status"},
     "failed: expected webhook response of apiextensions.k8s.io/v1, Kind=ConversionReview, got /v1, Kind=Status"),
    (lambda r: {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview"}, "failed: no response provided"),
    (lambda r: {**success(r), "response": {**success(r)["response"], "uid": "other"}},
     'failed: expected response.uid="{uid}", got "other"'),
    (lambda r: {**success(r), "response": {"uid": r["request"]["uid"], "result": {"status": "Failure",
                                                                                  "message": "bad spec"}}},
     "failed: bad spec"),
    (lambda r: {**success(r), "response": {"uid": r["request"]["uid"], "result": {}}},
     "failed: response.result.status was '', not 'Success'"),
    (lambda r: {**success(r), "response": {**success(r)["response"], "convertedObjects": []}},
     "returned 0 objects, expected 1"),
    (lambda r: success(r, lambda o: {**o, "apiVersion": V2}),
     f"returned invalid object at index 0: invalid groupVersion (expected {V1}, received {V2})"),
    (lambda r: success(r, lambda o: {**o, "kind": "Other"}),
     "returned invalid object at index 0: invalid kind (expected CronTab, received Other)"),
    (lambda r: success(r, lambda o: {**o, "metadata": {**o["metadata"], "name": "b"}}),
     "returned invalid object: must have the same name: a != b"),
    (lambda r: success(r, lambda o: {**o, "metadata": {**o["metadata"], "uid": "u"}}),
     "returned invalid object: must have the same UID: uid-a != u"),
    (lambda r: success(r, lambda o: {**o, "metadata": {**o["metadata"], "labels": {"a": 1}}}),
     "returned invalid metadata: metadata.labels[a] must be a string, but is int in converted object"),
])
def test_an_answer_that_cannot_be_used(answer, words):
    uid = []

    def fn(review):
        uid.append(review["request"]["uid"])
        return answer(review)
    message = failure(fn)
    assert message == PREFIX + words.replace("{uid}", uid[0])


def test_a_lists_items_are_named_by_index():
    message = failure(lambda r: success(r, lambda o: {**o, "metadata": {**o["metadata"], "namespace": "x"}}),
                      [obj("a", V1), obj("b", V2)], listed=True)
    assert message == PREFIX + "returned invalid converted object at index 0: must have the same namespace: default != x"


def test_a_webhook_that_cannot_be_reached():
    send, _ = answering(success)
    conv = conversion(service=None)
    with pytest.raises(ApiError) as exc:
        cc.convert(conv, [obj("a", V2)], V1, cc.gvk(V2, "CronTab"), send=send)
    assert exc.value.message == (PREFIX + 'failed: Post "https://conv.hooks.svc:443/convert?timeout=30s": service '
                                 '"conv" not found')


@pytest.mark.parametrize("conversion_spec, problems", [
    ({"strategy": "None"}, []),
    ({"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"], "clientConfig": CONFIG}}, []),
    ({"strategy": "Webhook"}, [
        "spec.conversion.webhookClientConfig: Required value: required when strategy is set to Webhook",
        "spec.conversion.conversionReviewVersions: Required value"]),
    ({"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v3", "v3"], "clientConfig": {}}}, [
        "spec.conversion.webhookClientConfig: Required value: exactly one of url or service is required",
        'spec.conversion.conversionReviewVersions[1]: Invalid value: "v3": duplicate version',
        'spec.conversion.conversionReviewVersions: Invalid value: []string{"v3", "v3"}: must include at least '
        "one of v1, v1beta1"]),
    ({"strategy": "None", "webhook": {"conversionReviewVersions": ["v1"], "clientConfig": CONFIG}}, [
        "spec.conversion.webhookClientConfig: Forbidden: should not be set when strategy is not set to Webhook",
        "spec.conversion.conversionReviewVersions: Forbidden: should not be set when strategy is not set to "
        "Webhook"]),
    ({"strategy": "Other"}, ['spec.conversion.strategy: Unsupported value: "Other": supported values: "None", '
                             '"Webhook"']),
])
def test_the_crds_conversion_is_validated(conversion_spec, problems):
    assert cc.problems({"conversion": conversion_spec}) == problems
