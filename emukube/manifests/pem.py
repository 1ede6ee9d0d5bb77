"""Go's encoding/pem.Decode, for the checks the API server makes of PEM data it stores (a
CertificateSigningRequest's request and certificate). The blocks' DER is not parsed: the API
server's image has no X.509 library (pyproject.toml's import contracts), so what Go's crypto/x509
would refuse inside a well-formed block goes through."""

from __future__ import annotations

from dataclasses import dataclass

from .fielderrors import base64_bytes

_BEGIN, _END, _DASHES = b"-----BEGIN ", b"\n-----END ", b"-----"


@dataclass(frozen=True)
class Block:
    type: str
    has_headers: bool
    data: bytes


def _line(data: bytes) -> tuple[bytes, bytes]:
    """getLine: the first line (one CR before its newline, then trailing blanks dropped) and what follows."""
    line, newline, rest = data.partition(b"\n")
    if newline and line.endswith(b"\r"):
        line = line[:-1]
    return line.rstrip(b" \t"), rest


def decode(data: bytes) -> tuple[Block | None, bytes]:
    """The first block and what follows it, or (None, data) as Go returns (nil, data). A block
    that is malformed (no END line of its type, bad base64) is skipped for the next BEGIN."""
    rest = data
    while True:
        if rest.startswith(_BEGIN):
            rest = rest[len(_BEGIN):]
        elif (at := rest.find(b"\n" + _BEGIN)) >= 0:
            rest = rest[at + 1 + len(_BEGIN):]
        else:
            return None, data
        type_line, rest = _line(rest)
        if not type_line.endswith(_DASHES):
            continue
        kind = type_line[:-len(_DASHES)]
        headers = False
        while True:  # "Key: value" lines until one without a colon
            if not rest:
                return None, data
            line, after = _line(rest)
            if b":" not in line:
                break
            headers, rest = True, after
        if not headers and rest.startswith(_END[1:]):  # an empty body: END at once, no newline before it
            end, trailer = 0, len(_END) - 1
        else:
            end = rest.find(_END)
            trailer = end + len(_END)
        if end < 0:
            continue
        tail = rest[trailer:]
        end_line, after_end = tail[:len(kind) + len(_DASHES)], tail[len(kind) + len(_DASHES):]
        if end_line != kind + _DASHES or _line(after_end)[0]:
            continue
        raw = base64_bytes(rest[:end].replace(b" ", b"").replace(b"\t", b"").decode("latin-1"))
        if raw is None:
            continue
        return Block(kind.decode("latin-1"), headers, raw), _line(rest[end + len(_END) - 1:])[1]
