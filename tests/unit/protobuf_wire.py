"""Protobuf wire bytes by hand, for request bodies kubectl would not send (test helpers)."""

from __future__ import annotations

from emukube.apiserver import protobuf


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def field_bytes(num: int, payload: bytes) -> bytes:
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def field_int(num: int, value: int) -> bytes:
    return varint(num << 3) + varint(value)


def envelope(api_version: str, kind: str, raw: bytes, content_type: bytes = b"") -> bytes:
    type_meta = field_bytes(1, api_version.encode()) + field_bytes(2, kind.encode())
    return (protobuf.MAGIC + field_bytes(1, type_meta) + field_bytes(2, raw) + field_bytes(3, b"")
            + field_bytes(4, content_type))
