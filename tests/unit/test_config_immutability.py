"""What an update of a ConfigMap or Secret may not change, through the real API server app: a
Secret's type, an immutable object's data and the flag itself (ValidateConfigMapUpdate,
ValidateSecretUpdate), before the object's own checks."""

from __future__ import annotations

from test_apiserver_harness import run

CMS = "/api/v1/namespaces/default/configmaps"
SECRETS = "/api/v1/namespaces/default/secrets"
SET = "field is immutable when `immutable` is set"


def test_immutable_configs_keep_their_data_and_secrets_their_type(tmp_path):
    async def body(api):
        made = await api.ok("POST", CMS, {"metadata": {"name": "frozen"}, "immutable": True, "data": {"a": "1"}})
        status, answer, _ = await api.req("PUT", f"{CMS}/frozen", {**made, "data": {"a": "2"}, "binaryData": {"b": "AA=="}})
        assert status == 422 and answer["message"] == (f'ConfigMap "frozen" is invalid: [data: Forbidden: {SET}, '
                                                       f"binaryData: Forbidden: {SET}]")
        status, answer, _ = await api.req("PUT", f"{CMS}/frozen", {**made, "immutable": False})
        assert status == 422 and answer["details"]["causes"] == [
            {"reason": "FieldValueForbidden", "message": f"Forbidden: {SET}", "field": "immutable"}]
        labelled = await api.ok("PUT", f"{CMS}/frozen", {**made, "metadata": {**made["metadata"], "labels": {"x": "y"}}})
        assert labelled["metadata"]["labels"] == {"x": "y"}
        plain = await api.ok("POST", SECRETS, {"metadata": {"name": "plain"}, "stringData": {"a": "1"}})
        assert plain["type"] == "Opaque"
        status, answer, _ = await api.req("PUT", f"{SECRETS}/plain", {**plain, "type": "kubernetes.io/tls"})
        assert status == 422 and answer["message"] == (
            'Secret "plain" is invalid: [type: Invalid value: "kubernetes.io/tls": field is immutable, '
            "data[tls.crt]: Required value, data[tls.key]: Required value]")
        await api.ok("PUT", f"{SECRETS}/plain", {**plain, "type": None, "stringData": {"a": "2"}})  # Opaque still
        frozen = await api.ok("POST", SECRETS, {"metadata": {"name": "frozen"}, "immutable": True, "data": {"a": "MQ=="}})
        status, answer, _ = await api.req("PUT", f"{SECRETS}/frozen", {**frozen, "stringData": {"a": "2"}})
        assert status == 422 and answer["message"] == f'Secret "frozen" is invalid: data: Forbidden: {SET}'
    run(tmp_path, body)
