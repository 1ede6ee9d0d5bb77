"""Kubernetes protobuf request bodies, decoded into the JSON form of the object.

kubectl 1.35's typed clients (`kubectl create deployment|configmap|secret|namespace|...`) send
`application/vnd.kubernetes.protobuf` bodies and have no fallback, so the server must read them.
The wire format: the magic "k8s\\0", then a runtime.Unknown {typeMeta{apiVersion, kind}, raw}
whose raw bytes are the object's message. Field numbers and types come from k8s.io/api's and
apimachinery's generated.proto, compiled into protobuf_fields.json by
`python3 -m emukube.apiserver.protobuf OUT.json FILE.proto...`; proto field names are the JSON names.

Go marshals non-pointer fields even when empty, so zero values are dropped as Go's JSON omitempty
would (a few pointer fields whose zero means something are kept)."""

from __future__ import annotations

import base64
import json
import os
import re
import struct
import sys
from datetime import datetime, timezone

MAGIC = b"k8s\x00"
_TABLE_FILE = os.path.join(os.path.dirname(__file__), "protobuf_fields.json")
_META = "k8s.io.apimachinery.pkg.apis.meta.v1."
_SCALARS = {"string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "double", "float",
            "fixed32", "fixed64", "sfixed32", "sfixed64"}
# Pointer fields whose zero is meaningful (replicas: 0 is not "unset").
_KEEP_ZERO = {"replicas", "revisionHistoryLimit", "terminationGracePeriodSeconds", "progressDeadlineSeconds",
              "defaultMode", "mode", "runAsUser", "runAsGroup", "fsGroup", "minAvailable", "maxUnavailable",
              "gracePeriodSeconds", "activeDeadlineSeconds", "initialDelaySeconds", "weight", "priority"}
_KEEP_EMPTY = {"emptyDir", "podAntiAffinity", "podAffinity", "securityContext", "data", "selector"}

_table: dict | None = None


class ProtobufError(ValueError):
    pass


def table() -> dict:
    global _table
    if _table is None:
        with open(_TABLE_FILE, encoding="utf-8") as f:
            _table = json.load(f)
    return _table


# ---- the wire format --------------------------------------------------------------------------------

def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes):
    """(field number, wire type, value) triples; length-delimited values as bytes."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        yield num, wire, value


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


def _scalar(kind: str, wire: int, value):
    if kind == "string":
        return value.decode("utf-8")
    if kind == "bytes":
        return base64.b64encode(value).decode()
    if kind == "bool":
        return bool(value)
    if kind in ("int32", "int64"):
        return _signed(value, 64)
    if kind in ("sint32", "sint64"):
        return (value >> 1) ^ -(value & 1)
    if kind == "double":
        return struct.unpack("<d", value)[0]
    if kind == "float":
        return struct.unpack("<f", value)[0]
    return value


def _special(name: str, msg: dict):
    """Types whose JSON form is not an object."""
    if name in (_META + "Time", _META + "MicroTime"):
        seconds, nanos = msg.get("seconds", 0), msg.get("nanos", 0)
        if not seconds and not nanos:
            return None
        stamp = datetime.fromtimestamp(seconds, timezone.utc)
        if name.endswith("MicroTime"):
            return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{nanos // 1000:06d}Z"
        return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    if name == "k8s.io.apimachinery.pkg.api.resource.Quantity":
        return msg.get("string", "")
    if name == "k8s.io.apimachinery.pkg.util.intstr.IntOrString":
        return msg.get("strVal", "") if msg.get("type") == 1 else msg.get("intVal", 0)
    if name in ("k8s.io.apimachinery.pkg.runtime.RawExtension", _META + "FieldsV1"):
        raw = msg.get("raw") or msg.get("Raw")
        return json.loads(base64.b64decode(raw)) if raw else None
    if name == _META + "Duration":
        return f"{msg.get('duration', 0) / 1e9:g}s"
    return msg


def _empty(value) -> bool:
    return value is None or value == "" or value is False or value == [] or value == {} or value == 0


def decode_message(data: bytes, name: str, raw_bytes: bool = False) -> dict:
    spec = table().get(name)
    if spec is None:
        raise ProtobufError(f"no protobuf schema for {name}")
    out: dict = {}
    for num, wire, value in _fields(data):
        field = spec.get(str(num))
        if field is None:
            continue
        fname, ftype, label = field
        if ftype.startswith("map<"):
            ktype, vtype = ftype[4:-1].split(",")
            entry = {n: v for n, _w, v in _fields(value)}
            key = _scalar(ktype, 2, entry.get(1, b"")) if ktype == "string" else entry.get(1, 0)
            out.setdefault(fname, {})[key] = _value(vtype, 2, entry.get(2, b""))
            continue
        decoded = _value(ftype, wire, value)
        if label == "repeated":
            if wire == 2 and ftype in _SCALARS - {"string", "bytes"}:  # packed
                out.setdefault(fname, []).extend(v for _n, _w, v in _fields_packed(value, ftype))
            else:
                out.setdefault(fname, []).append(decoded)
        else:
            out[fname] = decoded
    if raw_bytes:
        return out
    result = _special(name, out)
    if isinstance(result, dict):
        return {k: v for k, v in result.items() if not _empty(v) or (v == 0 and v is not False and k in _KEEP_ZERO)
                or (v == {} and k in _KEEP_EMPTY)}
    return result


def _fields_packed(data: bytes, kind: str):
    pos = 0
    while pos < len(data):
        value, pos = _varint(data, pos)
        yield 0, 0, _scalar(kind, 0, value)


def _value(ftype: str, wire: int, value):
    if ftype in _SCALARS:
        return _scalar(ftype, wire, value)
    return decode_message(value, ftype)


def decode(body: bytes) -> dict:
    """A whole request body (magic + runtime.Unknown) as a JSON-form object."""
    if not body.startswith(MAGIC):
        raise ProtobufError("the body does not start with the Kubernetes protobuf magic")
    unknown = {num: value for num, _w, value in _fields(body[len(MAGIC):])}
    type_meta = {num: value.decode() for num, _w, value in _fields(unknown.get(1, b""))}
    api_version, kind = type_meta.get(1, ""), type_meta.get(2, "")
    message = _message_name(api_version, kind)
    obj = decode_message(unknown.get(2, b""), message)
    return {"apiVersion": api_version, "kind": kind, **obj}


def _message_name(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    if kind in ("DeleteOptions", "Status"):
        return _META + kind
    package = group.split(".")[0] if group else "core"
    return f"k8s.io.api.{package}.{version}.{kind}"


# ---- compiling generated.proto files into the table ---------------------------------------------

_FIELD = re.compile(r"^\s*(optional|repeated)?\s*(map<\s*\w+\s*,\s*[\w.]+\s*>|[\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;")


def compile_protos(texts: list[str]) -> dict:
    messages: dict[str, dict] = {}
    for text in texts:
        package = re.search(r"^package\s+([\w.]+);", text, re.M).group(1)
        current = None
        for line in text.splitlines():
            line = line.split("//")[0]
            m = re.match(r"^message\s+(\w+)\s*{", line)
            if m:
                current = messages.setdefault(f"{package}.{m.group(1)}", {})
                continue
            if line.startswith("}"):
                current = None
                continue
            m = _FIELD.match(line)
            if current is not None and m:
                label, ftype, fname, num = m.group(1) or "optional", m.group(2), m.group(3), m.group(4)
                current[num] = [fname, _qualify(ftype, package), label]
    return messages


def _qualify(ftype: str, package: str) -> str:
    if ftype.startswith("map<"):
        key, value = (s.strip() for s in ftype[4:-1].split(","))
        return f"map<{key},{_qualify(value, package)}>"
    if ftype in _SCALARS or "." in ftype:
        return ftype.lstrip(".")
    return f"{package}.{ftype}"


def _reachable(messages: dict, roots: list[str]) -> dict:
    keep: dict = {}
    todo = [r for r in roots if r in messages]
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep[name] = messages[name]
        for _fname, ftype, _label in messages[name].values():
            inner = ftype[4:-1].split(",")[1] if ftype.startswith("map<") else ftype
            if inner in messages and inner not in keep:
                todo.append(inner)
    return keep


def main(argv: list[str]) -> None:
    from .resources import RESOURCES  # only when compiling
    out, files = argv[0], argv[1:]
    messages = compile_protos([open(f, encoding="utf-8").read() for f in files])
    roots = [_message_name(r.api_version, r.kind) for r in RESOURCES]
    roots += ["k8s.io.api.autoscaling.v1.Scale", _META + "DeleteOptions", _META + "Status"]
    with open(out, "w", encoding="utf-8") as f:
        json.dump(_reachable(messages, roots), f, separators=(",", ":"), sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
