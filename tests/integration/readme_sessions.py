"""Terminal sessions written in Markdown, and checking real output against them.

The convention (examples/README.md, "How to read the commands"): in a ```console block, a line
starting with `$ ` is a command and the lines after it are what it prints (stdout and stderr).
In the printed part `...` matches any text within a line, a line of only `...` matches any
number of lines, whitespace runs are one space, and a last line `(exit N)` (or `(exit ...)`:
any failure) gives the exit status; without it the command must succeed. Addresses are the
first cluster's (10.96.x.x, LoadBalancers 127.0.100.x, nodes 127.0.2.x): `localize` moves them
to the cluster a test made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

ANY_LINE = "..."
_EXIT = re.compile(r"^\(exit (\d+|\.\.\.)\)$")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


@dataclass
class Step:
    command: str
    expected: list[str] = field(default_factory=list)
    exit_code: int | None = 0  # None: any non-zero

    def exit_ok(self, code: int) -> bool:
        return code != 0 if self.exit_code is None else code == self.exit_code


@dataclass
class Section:
    title: str
    steps: list[Step]


def parse_markdown(text: str) -> list[Section]:
    """The ```console blocks of each `## ` section, as steps."""
    sections: list[Section] = []
    title, in_block = "", False
    for line in text.splitlines():
        if line.startswith("## ") and not in_block:
            title = line[3:].strip()
        elif line.startswith("```"):
            in_block = not in_block and line.strip() == "```console"
        elif in_block:
            if not sections or sections[-1].title != title:
                sections.append(Section(title, []))
            steps = sections[-1].steps
            if line.startswith("$ "):
                steps.append(Step(line[2:].strip()))
            elif steps and (m := _EXIT.match(line.strip())):
                steps[-1].exit_code = None if m.group(1) == "..." else int(m.group(1))
            elif steps and line.strip():
                steps[-1].expected.append(line)
    return sections


def localize(text: str, index: int) -> str:
    """The first cluster's addresses as those of the cluster with this network index."""
    if not index:
        return text
    text = re.sub(r"\b10\.96\.", f"10.{96 + index}.", text)
    text = re.sub(r"\b127\.0\.100\.", f"127.0.{100 + index}.", text)
    return re.sub(r"\b127\.0\.2\.", f"127.0.{2 + index}.", text)


def _squash(line: str) -> str:
    return " ".join(line.split())


def _pattern(line: str) -> re.Pattern:
    # "10.96....:8080" is "10.96." then "...": the wildcard is the last three dots of a run.
    parts = re.split(r"\.\.\.(?!\.)", _squash(line))
    return re.compile(".*".join(re.escape(part) for part in parts))


def printed_lines(output: str) -> list[str]:
    """What a person reads: no colour codes, no empty lines."""
    return [line for line in _ANSI.sub("", output).splitlines() if line.strip()]


def matches(expected: list[str], output: str) -> bool:
    actual = [_squash(line) for line in printed_lines(output)]
    wanted = [None if line.strip() == ANY_LINE else _pattern(line) for line in expected]

    @cache
    def match(i: int, j: int) -> bool:
        if i == len(wanted):
            return j == len(actual)
        if wanted[i] is None:
            return match(i + 1, j) or (j < len(actual) and match(i, j + 1))
        return j < len(actual) and wanted[i].fullmatch(actual[j]) is not None and match(i + 1, j + 1)

    return match(0, 0)
