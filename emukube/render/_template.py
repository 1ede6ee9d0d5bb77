"""Finding and filling the config templates in compose-templates/.

Placeholders are ``{{name}}``. A line whose first non-blank characters are ``{{#`` is a template
comment and is dropped. Filling is one pass: inserted text is never scanned for placeholders.
"""

from __future__ import annotations

import logging
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

if TYPE_CHECKING:
    from emukube.plan.types import Backend

log = logging.getLogger("emukube.render")

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_COMMENT_LINE = re.compile(r"^[ \t]*\{\{#.*(?:\n|\Z)", re.MULTILINE)


@cache  # renderers ask on every tick; where the package is does not change
def template_dir() -> Path:
    """The templates: inside the installed package (wheel), else at the top of the repo."""
    package = Path(__file__).resolve().parents[1]  # emukube/
    shipped = package / "compose-templates"
    if shipped.is_dir():
        return shipped
    return package.parent / "compose-templates"


@cache
def _load(directory: str, name: str) -> str:
    text = (Path(directory) / name).read_text(encoding="utf-8")
    return _COMMENT_LINE.sub("", text)


def load_template(name: str) -> str:
    return _load(str(template_dir()), name)


def fill(name: str, **values: object) -> str:
    """The template ``name`` with every ``{{key}}`` replaced by ``str(values[key])``.

    A placeholder without a value is an error (KeyError), never left in the output.
    """
    text = load_template(name)

    def repl(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"template {name}: no value for {{{{{key}}}}}")
        return str(values[key])

    return _PLACEHOLDER.sub(repl, text)


def one_line(text: str) -> str:
    """Text safe inside a one-line config comment."""
    return " ".join(str(text).split())


def tidy(text: str) -> str:
    """No trailing blanks, at most one empty line in a row, exactly one final newline."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


def endpoint_address(ip: str, port: int) -> str | None:
    """ip:port as proxies write it ([ip]:port for IPv6), or None when either is invalid."""
    import ipaddress

    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if not 1 <= port <= 65535:
        return None
    return f"[{addr}]:{port}" if addr.version == 6 else f"{addr}:{port}"


def valid_endpoints(backends: Iterable[Backend], where: str) -> Iterator[tuple[Backend, str]]:
    """(backend, address) for each distinct endpoint in a stable order; an endpoint with an
    invalid address is logged and left out rather than breaking the whole config."""
    for backend in sorted(set(backends), key=lambda b: (b.pod, b.ip, b.port)):
        address = endpoint_address(backend.ip, backend.port)
        if address is None:
            log.warning(
                "%s: skipping endpoint %r with an invalid address", where, backend)
            continue
        yield backend, address
