"""The bad-input corpus: each case is a manifest and the exact lines `emukube up` prints for it.

Committed cases are bad/NAME.{yaml,json} with bad/NAME.expected next to them. Cases that would
be megabytes are generated at test time (GENERATED below). In .expected files, FILE stands for
the path given on the command line; every line is an `error:` or `warning:` line of stderr.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

BAD = Path(__file__).parent / "bad"
MB = 1024 * 1024


@dataclass(frozen=True)
class Case:
    name: str  # the file name the manifest gets
    expected: tuple[str, ...]
    source: Path | None = None  # a committed manifest
    generate: Callable[[], bytes] | None = None

    def write(self, directory: Path) -> Path:
        """The manifest as a file (generated ones are written into `directory`)."""
        if self.source is not None:
            return self.source
        target = directory / self.name
        target.write_bytes(self.generate())
        return target

    def lines(self, path: Path | str) -> list[str]:
        return [line.replace("FILE", str(path)) for line in self.expected]


def _configmap(name: str, **fields) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **fields.pop("meta", {})}, **fields}


def _json(obj: dict) -> bytes:
    return json.dumps(obj).encode()


def _truncated(text: str) -> str:
    return text[:256] + "...(truncated)"


_BIG_LABEL = "v" * MB
_BIG_NAME = "n" * MB

GENERATED = [
    Case("huge-file.yaml", ("error: FILE: file is larger than 10 MB (11.0 MB or more); refusing to read it",),
         generate=lambda: b"# " + b"x" * (11 * MB - 3) + b"\n"),
    Case("huge-configmap-data.yaml",
         ('error: FILE (document 1): The ConfigMap "big" is invalid: data: Too long: may not be more than 1048576 bytes',),
         generate=lambda: _json(_configmap("big", data={f"k{i}": "x" * (64 * 1024) for i in range(48)}))),
    Case("huge-annotations.yaml",
         ('error: FILE (document 1): The ConfigMap "noted" is invalid: metadata.annotations: Too long: may not be '
          "more than 262144 bytes",),
         generate=lambda: _json(_configmap("noted", meta={"annotations": {"note": "y" * (300 * 1024)}}))),
    Case("huge-label-value.yaml",
         (f'error: FILE (document 1): The ConfigMap "labelled" is invalid: metadata.labels: Invalid value: '
          f'"{_truncated(_BIG_LABEL)}": must be no more than 63 characters',),
         generate=lambda: _json(_configmap("labelled", meta={"labels": {"app": _BIG_LABEL}}))),
    Case("huge-name.yaml",
         (f'error: FILE (document 1): The ConfigMap "{_truncated(_BIG_NAME)}" is invalid: metadata.name: Invalid '
          f'value: "{_truncated(_BIG_NAME)}": must be no more than 253 characters',),
         generate=lambda: _json(_configmap(_BIG_NAME))),
    Case("many-documents.yaml",
         ("error: FILE (document 10001): more than 10000 documents in one file; refusing to read the rest",),
         generate=lambda: b"---\n" * 10_001 + b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: last}\n"),
    Case("deep-nesting.yaml",
         ("error: FILE (document 1): document is nested more than 100 levels deep; refusing to read it",),
         generate=lambda: b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: {a: "
                          + b"[" * 5000 + b"]" * 5000 + b"}\n"),
]


def committed() -> list[Case]:
    cases = []
    for expected in sorted(BAD.glob("*.expected")):
        [source] = [p for p in BAD.glob(expected.stem + ".*") if p.suffix != ".expected"]
        lines = tuple(line for line in expected.read_text(encoding="utf-8").splitlines() if line)
        cases.append(Case(source.name, lines, source=source))
    return cases


def all_cases() -> list[Case]:
    return committed() + GENERATED


def user_lines(problems: list, warnings: list[str], objects: list | None) -> list[str]:
    """What the CLI prints for a load-and-validate outcome (warnings first, then every error)."""
    lines = [f"warning: {w}" for w in warnings]
    lines += [f"error: {p}" for p in problems]
    if not problems and not objects:
        lines.append("error: no objects passed to apply")
    return lines


def stderr_lines(stderr: str) -> list[str]:
    """The error and warning lines of a CLI run's stderr."""
    return [line for line in stderr.splitlines() if line.startswith(("error:", "warning:", "Error"))]
