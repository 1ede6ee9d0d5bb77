"""/openapi/v2 in protobuf (gnostic's openapi.v2.Document), what kubectl's client-side validation reads.

The bytes are read back with a reader written here from OpenAPIv2.proto's field numbers, independent of
the encoder's tables. (Checked once by hand against gnostic-models' generated Go decoder, outside CI.)"""

from __future__ import annotations

import asyncio
import json
import struct

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from test_apiserver_harness import TOKEN

from emukube.apiserver import openapi, openapi_proto
from emukube.apiserver.app import make_app
from emukube.apiserver.protobuf import wire_fields
from emukube.store import Store

CLIENT_GO_ACCEPT = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"  # client-go's openAPIV2mimePb


# ---- a reader of the wire bytes, from OpenAPIv2.proto ------------------------------------------------


def fields(data: bytes) -> dict[int, list]:
    out: dict[int, list] = {}
    for number, _, value in wire_fields(data):
        out.setdefault(number, []).append(value)
    return out


def one(data: bytes, number: int):
    values = fields(data).get(number, [])
    assert len(values) == 1, (number, values)
    return values[0]


def named(data: bytes) -> tuple[str, bytes]:
    """A Named<X>{name = 1, value = 2}."""
    f = fields(data)
    return f[1][0].decode(), f.get(2, [b""])[0]


def any_value(data: bytes):
    """An openapi.v2.Any: its yaml (field 2) parsed; field 1 is never set."""
    f = fields(data)
    assert set(f) == {2}, f
    return yaml.safe_load(f[2][0].decode())


_SCHEMA_STRINGS = {1: "$ref", 2: "format", 3: "title", 4: "description", 13: "pattern", 26: "discriminator"}
_SCHEMA_INTS = {11: "maxLength", 12: "minLength", 14: "maxItems", 15: "minItems", 17: "maxProperties",
                18: "minProperties"}
_SCHEMA_BOOLS = {8: "exclusiveMaximum", 10: "exclusiveMinimum", 16: "uniqueItems", 27: "readOnly"}
_SCHEMA_DOUBLES = {6: "multipleOf", 7: "maximum", 9: "minimum"}


def schema(data: bytes) -> dict:
    """openapi.v2.Schema back to its JSON (Swagger 2.0) form; keys in field order, x-... last."""
    out: dict = {}
    for number, wire, value in wire_fields(data):
        if number in _SCHEMA_STRINGS:
            out[_SCHEMA_STRINGS[number]] = value.decode()
        elif number in _SCHEMA_INTS:
            out[_SCHEMA_INTS[number]] = value - (1 << 64) if value >= 1 << 63 else value
        elif number in _SCHEMA_BOOLS:
            out[_SCHEMA_BOOLS[number]] = bool(value)
        elif number in _SCHEMA_DOUBLES:
            assert wire == 1
            out[_SCHEMA_DOUBLES[number]] = struct.unpack("<d", value)[0]
        elif number in (5, 30):
            out["default" if number == 5 else "example"] = any_value(value)
        elif number == 19:
            out.setdefault("required", []).append(value.decode())
        elif number == 20:
            out.setdefault("enum", []).append(any_value(value))
        elif number == 21:  # AdditionalPropertiesItem: oneof schema = 1, boolean = 2
            (member, wire_type, inner), = wire_fields(value)
            out["additionalProperties"] = schema(inner) if member == 1 else bool(inner)
        elif number == 22:  # TypeItem{repeated string value = 1}
            types = [v.decode() for v in fields(value)[1]]
            out["type"] = types[0] if len(types) == 1 else types
        elif number == 23:  # ItemsItem{repeated Schema schema = 1}
            out["items"] = schema(one(value, 1))
        elif number == 24:
            out.setdefault("allOf", []).append(schema(value))
        elif number == 25:  # Properties{repeated NamedSchema additional_properties = 1}
            out["properties"] = {n: schema(v) for n, v in map(named, fields(value).get(1, []))}
        elif number == 31:  # vendor_extension: NamedAny
            name, any_bytes = named(value)
            out[name] = any_value(any_bytes)
        else:
            raise AssertionError(f"Schema field {number} not expected here")
    return out


def document(data: bytes) -> dict:
    f = fields(data)
    assert set(f) <= {1, 2, 8, 9}, set(f)
    info = fields(one(data, 2))
    return {"swagger": one(data, 1).decode(),
            "info": {"title": info[1][0].decode(), "version": info[2][0].decode()},
            "paths": {} if one(data, 8) == b"" else None,
            "definitions": {n: schema(v) for n, v in map(named, fields(one(data, 9)).get(1, []))}}


# ---- the served document -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served():
    doc = json.loads(openapi.v2())
    return doc, openapi_proto.encode(doc, strict=True)  # strict: any key with no field fails here


def test_the_served_document_reads_back_whole(served):
    doc, data = served
    back = document(data)
    assert back["swagger"] == "2.0"
    assert back["info"] == {"title": "Kubernetes", "version": doc["info"]["version"]}
    assert list(back["definitions"]) == list(doc["definitions"])  # the JSON's key order
    assert back == doc  # every schema of every definition, extensions included


def test_config_map_schema_on_the_wire(served):
    _, data = served
    entries = dict(map(named, fields(one(data, 9))[1]))
    config_map = entries["io.k8s.api.core.v1.ConfigMap"]
    props = dict(map(named, fields(one(config_map, 25))[1]))  # Properties{repeated NamedSchema}
    assert {"apiVersion", "kind", "metadata", "data", "binaryData", "immutable"} <= set(props)
    data_field = props["data"]
    assert fields(one(data_field, 22))[1] == [b"object"]  # TypeItem{value: ["object"]}
    extra = one(data_field, 21)  # AdditionalPropertiesItem, its Schema member (1)
    assert fields(one(one(extra, 1), 22))[1] == [b"string"]
    assert one(props["metadata"], 1) == b"#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"  # _ref
    gvk = dict(map(named, fields(config_map)[31]))["x-kubernetes-group-version-kind"]  # vendor_extension
    assert any_value(gvk) == [{"group": "", "kind": "ConfigMap", "version": "v1"}]


def test_every_kind_keeps_its_group_version_kind(served):
    doc, data = served
    for name, raw in map(named, fields(one(data, 9))[1]):
        extensions = dict(map(named, fields(raw).get(31, [])))
        want = doc["definitions"][name].get("x-kubernetes-group-version-kind")
        if want is not None:
            assert any_value(extensions["x-kubernetes-group-version-kind"]) == want, name


def test_encoded_once_and_cached():
    first = openapi_proto.v2()
    assert openapi_proto.v2() is first
    assert document(first)["definitions"] == json.loads(openapi.v2())["definitions"]


# ---- the rest of the mapping -------------------------------------------------------------------------


SAMPLE = {
    "swagger": "2.0", "info": {"title": "t", "version": "v", "x-info": 1},
    "schemes": ["https"], "consumes": ["application/json"],
    "securityDefinitions": {"BearerToken": {"type": "apiKey", "name": "authorization", "in": "header"}},
    "security": [{"BearerToken": []}],
    "paths": {
        "/api/v1/pods": {
            "get": {"operationId": "list", "tags": ["core_v1"], "x-kubernetes-action": "list",
                    "parameters": [{"name": "limit", "in": "query", "type": "integer", "uniqueItems": True},
                                   {"$ref": "#/parameters/body"}],
                    "responses": {"200": {"description": "OK", "schema": {"$ref": "#/definitions/PodList"}},
                                  "401": {"description": "Unauthorized"}}},
            "parameters": [{"name": "body", "in": "body", "required": True, "schema": {"type": "object"}}]},
        "x-paths": {"a": "b"}},
    "definitions": {"Pod": {"type": "object", "additionalProperties": False, "maxLength": -1, "minimum": 0.5,
                            "default": {"a": [1, 2]}, "allOf": [{"$ref": "#/definitions/Base"}],
                            "x-kubernetes-unions": [{"discriminator": "type"}]}},
    "tags": [{"name": "core_v1", "externalDocs": {"url": "https://k8s.io"}}],
    "x-top": "yes",
}


def test_paths_parameters_and_oneofs_on_the_wire():
    data = openapi_proto.encode(SAMPLE, strict=True)
    f = fields(data)
    assert f[5] == [b"https"] and f[6] == [b"application/json"]
    x_info, x_top = named(one(f[2][0], 7)), named(one(data, 16))  # Info's and Document's vendor_extension
    assert (x_info[0], any_value(x_info[1]), x_top[0], any_value(x_top[1])) == ("x-info", 1, "x-top", "yes")
    paths = fields(f[8][0])
    assert [named(p)[0] for p in paths[1]] == ["x-paths"] and [named(p)[0] for p in paths[2]] == ["/api/v1/pods"]
    item = named(paths[2][0])[1]
    get = one(item, 2)
    assert one(get, 5) == b"list" and fields(get)[1] == [b"core_v1"]
    limit, ref = fields(get)[8]  # ParametersItem: Parameter (1) | JsonReference (2)
    query = one(one(one(limit, 1), 2), 3)  # Parameter.non_body_parameter -> query_parameter_sub_schema
    assert one(query, 4) == b"limit" and one(query, 2) == b"query" and one(query, 6) == b"integer"
    assert one(query, 20) == 1  # unique_items
    assert one(one(ref, 2), 1) == b"#/parameters/body"
    body = one(one(one(item, 9), 1), 1)  # PathItem.parameters -> Parameter.body_parameter
    assert one(body, 4) == 1 and schema(one(body, 5)) == {"type": "object"}
    codes = [named(r) for r in fields(one(get, 9))[1]]  # Responses.response_code: NamedResponseValue
    assert [c for c, _ in codes] == ["200", "401"]
    ok = one(codes[0][1], 1)  # ResponseValue.response
    assert one(ok, 1) == b"OK" and schema(one(one(ok, 2), 1)) == {"$ref": "#/definitions/PodList"}
    security = fields(f[12][0])[1]
    assert named(security[0]) == ("BearerToken", b"")  # StringArray with no scopes
    api_key = one(named(fields(f[13][0])[1][0])[1], 2)  # SecurityDefinitionsItem.api_key_security
    assert (one(api_key, 1), one(api_key, 2), one(api_key, 3)) == (b"apiKey", b"authorization", b"header")
    tag = f[14][0]
    assert one(tag, 1) == b"core_v1" and one(one(tag, 3), 2) == b"https://k8s.io"
    pod = schema(named(fields(f[9][0])[1][0])[1])
    assert pod == {"maxLength": -1, "minimum": 0.5, "default": {"a": [1, 2]}, "additionalProperties": False,
                   "type": "object", "allOf": [{"$ref": "#/definitions/Base"}],
                   "x-kubernetes-unions": [{"discriminator": "type"}]}


def test_fields_come_in_number_order_and_zero_scalars_stay_out():
    data = openapi_proto.encode({"definitions": {"S": {"type": "string", "description": "d", "$ref": "#/r",
                                                       "uniqueItems": False, "maxLength": 0, "format": ""}}})
    entry = named(one(one(data, 9), 1))[1]
    assert [n for n, _, _ in wire_fields(entry)] == [1, 4, 22]


def test_a_key_with_no_field_is_reported(caplog):
    bad = {"swagger": "2.0", "definitions": {"S": {"type": "string", "oneOf": [{"type": "string"}]}}}
    with pytest.raises(openapi_proto.UnhandledKey, match="Schema has no field for 'oneOf'"):
        openapi_proto.encode(bad, strict=True)
    with pytest.raises(openapi_proto.UnhandledKey, match="wants a string"):
        openapi_proto.encode({"swagger": 2}, strict=True)
    data = openapi_proto.encode(bad)  # the server: logged, left out, the rest kept
    assert "oneOf" in caplog.text
    assert {n: schema(v) for n, v in map(named, fields(one(data, 9))[1])} == {"S": {"type": "string"}}


def test_any_yaml_reads_back_for_awkward_text():
    for value in ["line\u2028break", "del\x7f", "\U0001f600 emoji", "tab\tand \"quotes\"", "yes", "1.0", None,
                  {"on": "off", "k": [True, 1.5, -3]}]:
        assert yaml.safe_load(openapi_proto._yaml_text(value)) == value, value


@pytest.mark.parametrize(("accept", "proto"), [
    (CLIENT_GO_ACCEPT, True),
    ("application/com.github.proto-openapi.spec.v2.v1.0+protobuf", True),
    ("application/json;q=0.5, " + CLIENT_GO_ACCEPT, True),
    (None, False), ("", False), ("application/json", False), ("*/*", False),
    ("application/json, " + CLIENT_GO_ACCEPT, False),
    (CLIENT_GO_ACCEPT + ";q=0, application/json", False),
])
def test_accept_header(accept, proto):
    assert openapi_proto.wants_protobuf(accept) is proto


def test_the_server_answers_client_go_in_protobuf(tmp_path):
    async def main():
        store = Store(str(tmp_path / "store.db"))
        app = make_app(store, [TOKEN])
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with TestClient(TestServer(app)) as client:
            async with client.get("/openapi/v2", headers={**auth, "Accept": CLIENT_GO_ACCEPT}) as resp:
                assert resp.status == 200
                # the spelling kube-apiserver answers: client-go's mime.ParseMediaType rejects the "@" one
                assert resp.headers["Content-Type"] == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
                assert await resp.read() == openapi_proto.v2()
            async with client.get("/openapi/v2", headers=auth) as resp:
                assert resp.headers["Content-Type"] == "application/json"
                assert json.loads(await resp.read())["swagger"] == "2.0"
        store.close()
    asyncio.run(main())
