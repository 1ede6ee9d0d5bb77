"""Kubernetes protobuf request bodies, decoded into the JSON form of the object.

kubectl 1.35's typed clients (`kubectl create deployment|service|secret|configmap|namespace|job|...`,
`create token`) send `application/vnd.kubernetes.protobuf` bodies, so the server must read them.
The wire format: the magic "k8s\\0", then a runtime.Unknown {typeMeta{apiVersion, kind}, raw,
contentEncoding, contentType} whose raw bytes are the object's message.

The schemas are upstream's own: each package's generated.proto (field numbers and types; the
field names are the JSON names) and its types.go, whose struct tags say what proto cannot: Go
writes every non-pointer field, empty or not, and its JSON encoder then drops zero values of
`omitempty` fields, keeps pointer fields that are set (`replicas: 0`), and inlines some structs
(Volume's volumeSource, Probe's handler). Following those tags gives exactly the JSON kubectl would
have sent. scripts/ensure-protos.sh puts both files in a flat tree
(<dir>/k8s.io/api/core/v1/generated.proto, ...). Files are parsed on first use, then cached.

Stdlib only: this runs inside the cluster's API server container."""

from __future__ import annotations

import base64
import json
import os
import re
import struct
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..k8s.times import go_duration

MAGIC = b"k8s\x00"
CONTAINER_DIR = "/opt/emukube/protos"
META = "k8s.io.apimachinery.pkg.apis.meta.v1"
_MAX_DEPTH = 100


class ProtobufError(ValueError):
    """A body that is not a decodable Kubernetes protobuf object (the server answers 400)."""


class MissingProtos(ProtobufError):
    """The .proto files are not where the server looks (scripts/ensure-protos.sh provides them)."""


def default_dir() -> str:
    """Where the .proto tree is: $EMUKUBE_PROTOS, the container's copy, else the host's cache."""
    if os.environ.get("EMUKUBE_PROTOS"):
        return os.environ["EMUKUBE_PROTOS"]
    if os.path.isdir(CONTAINER_DIR):
        return CONTAINER_DIR
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "emukube", "protos")


# ---- the .proto subset upstream's generated.proto files use -----------------------------------------

SCALARS = {"double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64",
           "sfixed32", "sfixed64", "bool", "string", "bytes"}
_TOKEN = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:[^"\\\n]|\\.)*"|[A-Za-z_.][\w.]*|-?\d+|\S', re.S)


@dataclass
class Field:
    name: str
    number: int
    type: str  # a scalar name, or a message's full name once resolved
    repeated: bool = False
    key_type: str | None = None  # set for map<K, V> fields (type is V)


@dataclass
class Message:
    name: str  # full name, package included
    fields: dict[int, Field] = field(default_factory=dict)


@dataclass
class ProtoFile:
    package: str = ""
    imports: list[str] = field(default_factory=list)
    messages: dict[str, Message] = field(default_factory=dict)
    enums: set[str] = field(default_factory=set)
    scopes: dict[str, str] = field(default_factory=dict)  # message -> scope its type names resolve in


class _Tokens:
    def __init__(self, text: str, path: str):
        self.items = [t for t in _TOKEN.findall(text) if not t.startswith(("//", "/*"))]
        self.pos, self.path = 0, path

    def peek(self) -> str | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def next(self) -> str:
        if self.pos >= len(self.items):
            raise ProtobufError(f"{self.path}: unexpected end of file")
        self.pos += 1
        return self.items[self.pos - 1]

    def expect(self, token: str) -> None:
        got = self.next()
        if got != token:
            raise ProtobufError(f"{self.path}: expected {token!r}, found {got!r}")

    def skip_statement(self) -> None:
        """Up to and including the next ';' (option, reserved, syntax, extensions)."""
        while self.next() != ";":
            pass

    def skip_block(self) -> None:
        depth = 0
        while True:
            token = self.next()
            depth += token == "{"
            depth -= token == "}"
            if token == "}" and depth == 0:
                return


def parse_proto(text: str, path: str = "<proto>") -> ProtoFile:
    """package, import, option, message (nested too), enum names; field types stay unresolved."""
    tokens, out = _Tokens(text, path), ProtoFile()
    while tokens.peek() is not None:
        word = tokens.next()
        if word == "package":
            out.package = tokens.next()
            tokens.expect(";")
        elif word == "import":
            target = tokens.next()
            if target in ("public", "weak"):
                target = tokens.next()
            out.imports.append(target.strip('"'))
            tokens.expect(";")
        elif word in ("syntax", "option"):
            tokens.skip_statement()
        elif word == "message":
            _parse_message(tokens, out, out.package)
        elif word == "enum":
            out.enums.add(f"{out.package}.{tokens.next()}")
            tokens.skip_block()
        elif word != ";":
            raise ProtobufError(f"{path}: unexpected {word!r}")
    return out


def _parse_message(tokens: _Tokens, out: ProtoFile, scope: str) -> None:
    name = f"{scope}.{tokens.next()}"
    message = out.messages[name] = Message(name)
    out.scopes[name] = name
    tokens.expect("{")
    while (word := tokens.next()) != "}":
        if word == "message":
            _parse_message(tokens, out, name)
        elif word == "enum":
            out.enums.add(f"{name}.{tokens.next()}")
            tokens.skip_block()
        elif word in ("option", "reserved", "extensions"):
            tokens.skip_statement()
        elif word == "oneof":
            tokens.next()
            tokens.expect("{")
            while tokens.peek() != "}":
                _parse_field(tokens, message, tokens.next())
            tokens.next()
        elif word != ";":
            _parse_field(tokens, message, word)


def _parse_field(tokens: _Tokens, message: Message, word: str) -> None:
    repeated, key_type = False, None
    if word in ("optional", "required", "repeated"):
        repeated = word == "repeated"
        word = tokens.next()
    if word == "map":
        tokens.expect("<")
        key_type = tokens.next()
        tokens.expect(",")
        word = tokens.next()
        tokens.expect(">")
    name = tokens.next()
    tokens.expect("=")
    number = tokens.next()
    if not number.isdigit():
        raise ProtobufError(f"{tokens.path}: bad field number {number!r} for {message.name}.{name}")
    if tokens.next() == "[":  # field options, e.g. [packed = true]
        while tokens.next() != "]":
            pass
        tokens.expect(";")
    elif tokens.items[tokens.pos - 1] != ";":
        raise ProtobufError(f"{tokens.path}: expected ';' after {message.name}.{name}")
    message.fields[int(number)] = Field(name, int(number), word, repeated, key_type)


# ---- Go struct tags from types.go -----------------------------------------------------------------------

@dataclass
class GoField:
    json: str  # "" when the struct is inlined into its parent
    order: int
    pointer: bool
    omitempty: bool
    omitzero: bool


_GO_STRUCT = re.compile(r"^type (\w+) struct \{\n(.*?)^\}", re.M | re.S)
_GO_FIELD = re.compile(r'^\s*(?:\w+\s+)?([^\s`/]\S*)\s+`([^`]*)`\s*$', re.M)
_GO_SLICE = re.compile(r"^type (\w+) \[\]\w+$", re.M)


def parse_go_types(text: str) -> tuple[dict[str, dict[int, GoField]], set[str]]:
    """{struct: {proto field number: GoField}} and the names of slice types (`type Verbs []string`)."""
    structs: dict[str, dict[int, GoField]] = {}
    for match in _GO_STRUCT.finditer(text):
        fields = structs[match.group(1)] = {}
        for order, line in enumerate(_GO_FIELD.finditer(match.group(2))):
            go_type, tag = line.groups()
            proto = re.search(r'protobuf:"[a-z0-9]+,(\d+),', tag)
            if proto is None:
                continue
            js = re.search(r'json:"([^"]*)"', tag)
            options = js.group(1).split(",") if js else [""]
            fields[int(proto.group(1))] = GoField(options[0], order, go_type.startswith("*"),
                                                  "omitempty" in options[1:], "omitzero" in options[1:])
    return structs, set(_GO_SLICE.findall(text))


# ---- a directory of schemas ----------------------------------------------------------------------------

def _package_path(package: str) -> str:
    """k8s.io.api.apps.v1 -> k8s.io/api/apps/v1/generated.proto (the domain keeps its dot)."""
    if package.startswith("k8s.io."):
        return "k8s.io/" + package[len("k8s.io."):].replace(".", "/") + "/generated.proto"
    return package.replace(".", "/") + "/generated.proto"


class Schemas:
    """The messages of one proto tree, loaded file by file as kinds need them."""

    def __init__(self, root: str):
        self.root = root
        self.files: dict[str, ProtoFile | None] = {}
        self.messages: dict[str, Message] = {}
        self.enums: set[str] = set()
        self.go: dict[str, tuple[dict[str, dict[int, GoField]], set[str]]] = {}
        self.lock = threading.RLock()

    def message(self, full_name: str) -> Message | None:
        with self.lock:
            if full_name not in self.messages:
                self.load(_package_path(full_name.rsplit(".", 1)[0]), required=False)
            return self.messages.get(full_name)

    def load(self, path: str, required: bool = True) -> ProtoFile | None:
        if path in self.files:
            return self.files[path]
        if not os.path.isdir(self.root):
            raise MissingProtos(f"no Kubernetes .proto files at {self.root} (scripts/ensure-protos.sh fetches them)")
        try:
            with open(os.path.join(self.root, path), encoding="utf-8") as source:
                text = source.read()
        except FileNotFoundError:
            if required:
                raise MissingProtos(f"{path} is missing under {self.root} "
                                    "(scripts/ensure-protos.sh fetches it)") from None
            self.files[path] = None
            return None
        parsed = self.files[path] = parse_proto(text, path)
        for imported in parsed.imports:
            self.load(imported)
        self.messages.update(parsed.messages)
        self.enums |= parsed.enums
        for message in parsed.messages.values():
            for f in message.fields.values():
                f.type = self._resolve(f.type, parsed.scopes[message.name], path)
        return parsed

    def _resolve(self, name: str, scope: str, path: str) -> str:
        if name in SCALARS:
            return name
        if name.startswith("."):
            candidates = [name[1:]]
        else:  # innermost scope first, as protoc looks names up
            parts = scope.split(".")
            candidates = [".".join(parts[:i] + [name]) for i in range(len(parts), -1, -1)]
        for candidate in candidates:
            if candidate in self.messages or candidate in self.enums:
                return candidate if candidate in self.messages else "int32"
        raise ProtobufError(f"{path}: unknown type {name} in {scope}")

    def go_facts(self, message: str) -> tuple[dict[int, GoField] | None, bool]:
        """The Go struct tags of a message (None when unknown) and whether Go makes it a slice."""
        package, _, simple = message.rpartition(".")
        with self.lock:
            if package not in self.go:
                go_file = os.path.join(self.root, os.path.dirname(_package_path(package)), "types.go")
                try:
                    with open(go_file, encoding="utf-8") as f:
                        self.go[package] = parse_go_types(f.read())
                except FileNotFoundError:
                    self.go[package] = ({}, set())
        structs, slices = self.go[package]
        return structs.get(simple), simple in slices


_schemas: dict[str, Schemas] = {}
_schemas_lock = threading.Lock()


def schemas(proto_dir: str | None = None) -> Schemas:
    root = os.path.abspath(proto_dir or default_dir())
    with _schemas_lock:
        if root not in _schemas:
            _schemas[root] = Schemas(root)
        return _schemas[root]


# ---- the wire format -----------------------------------------------------------------------------------

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
        if shift >= 70:
            raise ProtobufError("varint too long")


def wire_fields(data: bytes):
    """(field number, wire type, value) for each field; length-delimited values as bytes."""
    pos, end = 0, len(data)
    value: int | bytes
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("field number 0")
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire in (1, 5):
            length = 8 if wire == 1 else 4
            value, pos = data[pos:pos + length], pos + length
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        if pos > end:
            raise ProtobufError("truncated field")
        yield number, wire, value


_VARINT_TYPES = {"int32", "int64", "uint32", "uint64", "sint32", "sint64", "bool"}
_ZEROS = {"string": "", "bytes": "", "bool": False, "double": 0.0, "float": 0.0}
_FIXED = {"double": "<d", "float": "<f", "fixed32": "<I", "fixed64": "<Q", "sfixed32": "<i", "sfixed64": "<q"}


def _scalar(kind: str, wire: int, value, where: str):
    expected = 0 if kind in _VARINT_TYPES else 2 if kind in ("string", "bytes") else 1 if kind in (
        "double", "fixed64", "sfixed64") else 5
    if wire != expected:
        raise ProtobufError(f"{where}: wire type {wire} for a {kind}")
    if kind == "string":
        return value.decode("utf-8", "replace")  # Go's JSON encoder also replaces invalid UTF-8
    if kind == "bytes":
        return base64.b64encode(value).decode("ascii")
    if kind == "bool":
        return value != 0
    if kind in ("int32", "int64"):
        value = value - (1 << 64) if value >= 1 << 63 else value
        return ((value + (1 << 31)) % (1 << 32)) - (1 << 31) if kind == "int32" else value
    if kind in ("sint32", "sint64"):
        return (value >> 1) ^ -(value & 1)
    if kind == "uint32":
        return value & 0xFFFFFFFF
    if kind in _FIXED:
        return struct.unpack(_FIXED[kind], value)[0]
    return value


def _packed(kind: str, data: bytes, where: str) -> list:
    out, pos = [], 0
    if kind in _FIXED:
        size = struct.calcsize(_FIXED[kind])
        if len(data) % size:
            raise ProtobufError(f"{where}: truncated packed field")
        return [struct.unpack_from(_FIXED[kind], data, i)[0] for i in range(0, len(data), size)]
    while pos < len(data):
        value, pos = _varint(data, pos)
        out.append(_scalar(kind, 0, value, where))
    return out


# ---- messages to JSON ----------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _timestamp(fields: dict, micro: bool):
    """meta/v1 Time (whole seconds, as the API keeps them) or MicroTime; the zero time is null."""
    seconds, nanos = fields.get(1, 0), fields.get(2, 0)
    if not seconds and not nanos:
        return None  # Go sends the zero time as an empty message; it is JSON null
    stamp = _EPOCH + timedelta(seconds=seconds)
    if micro:
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{nanos // 1000:06d}Z"
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _raw_json(data: bytes, where: str):
    """RawExtension / FieldsV1 hold JSON (or a nested protobuf object)."""
    if not data:
        return None
    if data.startswith(MAGIC):
        return decode(data)
    try:
        return json.loads(data)
    except ValueError:
        raise ProtobufError(f"{where}: raw bytes are not JSON") from None


def _special(name: str, data: bytes, where: str):
    """The JSON of types whose Go MarshalJSON is not a plain object; NotImplemented for the rest."""
    if name in (f"{META}.Time", f"{META}.MicroTime"):
        fields = {n: _scalar("int64", w, v, where) for n, w, v in wire_fields(data) if n in (1, 2)}
        return _timestamp(fields, name.endswith("MicroTime"))
    if name == f"{META}.Duration":
        return go_duration(next((_scalar("int64", w, v, where) for n, w, v in wire_fields(data) if n == 1), 0))
    if name == "k8s.io.apimachinery.pkg.api.resource.Quantity":
        return next((_scalar("string", w, v, where) for n, w, v in wire_fields(data) if n == 1), "")
    if name == "k8s.io.apimachinery.pkg.util.intstr.IntOrString":
        kind, number, text = 0, 0, ""
        for n, w, v in wire_fields(data):
            if n == 1:
                kind = _scalar("int64", w, v, where)
            elif n == 2:
                number = _scalar("int32", w, v, where)
            elif n == 3:
                text = _scalar("string", w, v, where)
        return text if kind == 1 else number
    if name in ("k8s.io.apimachinery.pkg.runtime.RawExtension", f"{META}.FieldsV1"):
        raw = next((v for n, w, v in wire_fields(data) if n == 1 and w == 2), b"")
        return _raw_json(raw, where)
    return NotImplemented


def _is_zero(value) -> bool:
    return value is None or value is False or value == 0 or value == "" or value == [] or value == {}


class _Decoder:
    def __init__(self, schemas: Schemas):
        self.schemas = schemas

    def message(self, data: bytes, name: str, depth: int = 0):
        if depth > _MAX_DEPTH:
            raise ProtobufError("objects nested too deeply")
        special = _special(name, data, name)
        if special is not NotImplemented:
            return special
        message = self.schemas.message(name)
        if message is None:
            raise ProtobufError(f"no protobuf message {name}")
        present: dict[int, Any] = {}
        for number, wire, value in wire_fields(data):
            f = message.fields.get(number)
            if f is None:
                continue  # a field this version does not know: Go skips it as well
            where = f"{name}.{f.name}"
            if f.key_type is not None:
                key, item = self.map_entry(f, value, depth, where)
                present.setdefault(number, {})[key] = item
            elif f.repeated and wire == 2 and f.type in SCALARS - {"string", "bytes"}:
                present.setdefault(number, []).extend(_packed(f.type, value, where))
            elif f.repeated:
                present.setdefault(number, []).append(self.value(f.type, wire, value, depth, where))
            else:
                present[number] = self.value(f.type, wire, value, depth, where)
        return self.go_json(message, present)

    def value(self, kind: str, wire: int, value, depth: int, where: str):
        if kind in SCALARS:
            return _scalar(kind, wire, value, where)
        if wire != 2:
            raise ProtobufError(f"{where}: wire type {wire} for a message")
        return self.message(value, kind, depth + 1)

    def map_entry(self, f: Field, data: bytes, depth: int, where: str):
        assert f.key_type is not None  # message() calls this for map fields only
        key, item = None, None
        for number, wire, value in wire_fields(data):
            if number == 1:
                key = _scalar(f.key_type, wire, value, where)
            elif number == 2:
                item = self.value(f.type, wire, value, depth, where)
        # An absent key or value is the zero value, in maps as anywhere; JSON keys are strings.
        if key is None:
            key = "" if f.key_type == "string" else 0
        if item is None:
            item = self.message(b"", f.type, depth + 1) if f.type not in SCALARS else _ZEROS.get(f.type, 0)
        return str(key) if not isinstance(key, str) else key, item

    def go_json(self, message: Message, present: dict):
        """What Go's JSON encoder writes for the struct those fields fill (see the module doc)."""
        facts, is_slice = self.schemas.go_facts(message.name)
        if is_slice:  # `type Verbs []string`: proto wraps the list as {items}
            return present.get(1, [])
        if facts is None:  # no Go struct known: what is on the wire is what there is
            return {message.fields[n].name: v for n, v in present.items()}
        out: list[tuple[int, str, object]] = []
        for number, value in present.items():
            f, go = message.fields[number], facts.get(number)
            if go is None:
                out.append((1 << 30, f.name, value))
                continue
            if go.json == "-":
                continue
            if not go.pointer and f.key_type is None and not f.repeated:
                if go.omitzero and _is_zero(value):
                    continue
                if go.omitempty and f.type in SCALARS and _is_zero(value):
                    continue  # omitempty never drops a struct, only scalars
            if go.json == "" and isinstance(value, dict):
                out.extend((go.order, k, v) for k, v in value.items())  # an inlined struct
            else:
                out.append((go.order, go.json or f.name, value))
        out.sort(key=lambda item: item[0])  # Go writes fields in struct order
        return {k: v for _order, k, v in out}


# ---- request bodies ------------------------------------------------------------------------------------

_GROUP_PACKAGES = {"": "core", "internal.apiserver.k8s.io": "apiserverinternal"}


def message_name(api_version: str, kind: str) -> str:
    """apps/v1 Deployment -> k8s.io.api.apps.v1.Deployment (v1 -> core, x.k8s.io -> x)."""
    group, _, version = api_version.rpartition("/")
    package = _GROUP_PACKAGES.get(group) or group.split(".")[0]
    return f"k8s.io.api.{package}.{version}.{kind}"


def decode(body: bytes, proto_dir: str | None = None) -> dict:
    """A whole request body (magic + runtime.Unknown) as the JSON-form object."""
    body = bytes(body)
    if not body.startswith(MAGIC):
        raise ProtobufError("the body does not start with the Kubernetes protobuf magic k8s\\x00")
    try:
        envelope = {n: v for n, w, v in wire_fields(body[len(MAGIC):]) if w == 2}
        type_meta = {n: v.decode("utf-8") for n, w, v in wire_fields(envelope.get(1, b"")) if w == 2}
        encoding = envelope.get(3, b"").decode("utf-8")
        content_type = envelope.get(4, b"").decode("utf-8")
    except UnicodeDecodeError:
        raise ProtobufError("the envelope's strings are not UTF-8") from None
    api_version, kind = type_meta.get(1, ""), type_meta.get(2, "")
    if not kind or not api_version:
        raise ProtobufError("the body has no apiVersion/kind")
    if encoding:
        raise ProtobufError(f"unsupported content encoding {encoding!r}")
    raw = envelope.get(2, b"")
    if content_type not in ("", "application/vnd.kubernetes.protobuf"):
        obj = _raw_json(raw, "raw")
        if not isinstance(obj, dict):
            raise ProtobufError(f"the raw {content_type} object is not an object")
        return {"kind": kind, "apiVersion": api_version, **obj}
    s = schemas(proto_dir)
    name = message_name(api_version, kind)
    if s.message(name) is None:  # DeleteOptions, Status, ... are meta/v1's, in every group
        name = f"{META}.{kind}"
        if s.message(name) is None:
            raise ProtobufError(f"no protobuf schema for {api_version} {kind}")
    try:
        obj = _Decoder(s).message(raw, name)
    except RecursionError:
        raise ProtobufError("objects nested too deeply") from None
    if not isinstance(obj, dict):
        raise ProtobufError(f"{api_version} {kind} is not an object")
    return {"kind": kind, "apiVersion": api_version, **obj}
