"""The bad-input corpus (tests/corpus/bad): every case gives exactly its expected lines."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from emukube.errors import EmukubeError
from emukube.manifests import ManifestError, load_and_validate

sys.path.insert(0, str(Path(__file__).parent.parent / "corpus"))
from cases import BAD, all_cases, committed, user_lines  # noqa: E402

CASES = all_cases()


def outcome_lines(path: Path) -> list[str]:
    try:
        objects, warnings = load_and_validate([str(path)])
    except ManifestError as e:
        return user_lines(e.problems, [], None)
    return user_lines([], warnings, objects)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_case_gives_its_expected_lines(case, tmp_path):
    path = case.write(tmp_path)
    lines = outcome_lines(path)
    assert lines == case.lines(path)
    assert all(len(line) < 2000 for line in lines)  # hostile values are shortened when quoted


def test_every_committed_manifest_has_its_expected_file():
    manifests = {p.name for p in BAD.iterdir() if p.suffix in (".yaml", ".yml", ".json")}
    assert manifests == {c.name for c in committed()}
    assert len(manifests) >= 30


def test_corpus_errors_are_emukube_errors():
    # The CLI turns EmukubeError into exit 2 without a traceback.
    assert issubclass(ManifestError, EmukubeError)
