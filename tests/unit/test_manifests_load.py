"""Loading manifests: files, directories, stdin, multi-document YAML, and hostile input."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emukube.manifests import Doc, ManifestError, Problem, load_and_validate, load_paths
from emukube.manifests.load import MAX_FILE_BYTES, load_with_problems
from emukube.manifests.parse import MAX_ALIAS_NODES, MAX_DEPTH, MAX_DOCUMENTS

CORPUS = Path(__file__).parent.parent / "corpus" / "manifests"


def problems_of(paths, stdin=None) -> list[str]:
    with pytest.raises(ManifestError) as exc:
        load_paths(paths, stdin)
    return [str(p) for p in exc.value.problems]


def stdin_of(text: str | bytes) -> io.TextIOWrapper:
    raw = text.encode() if isinstance(text, str) else text
    return io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8")


# -- data types -------------------------------------------------------------------------

def test_problem_str_names_source_and_document_number():
    assert str(Problem("a.yaml", 0, "boom")) == "a.yaml (document 1): boom"
    assert str(Problem("a.yaml", 4, "boom")) == "a.yaml (document 5): boom"
    assert str(Problem("a.yaml", None, "cannot read")) == "a.yaml: cannot read"


def test_manifest_error_carries_all_problems():
    err = ManifestError([Problem("a", 0, "x"), Problem("b", 1, "y")])
    assert len(err.problems) == 2
    assert str(err) == "a (document 1): x\nb (document 2): y"


def test_doc_is_frozen():
    doc = Doc("a", 0, {})
    with pytest.raises(AttributeError):
        doc.index = 1  # type: ignore[misc]


# -- files, documents, directories, stdin -----------------------------------------------

def test_multi_document_file_skips_empty_documents_and_keeps_their_numbers(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text("kind: A\n---\n---\n# only a comment\n---\nkind: B\n...\n---\nkind: C\n")
    docs = load_paths([str(f)])
    assert [(d.index, d.obj["kind"]) for d in docs] == [(0, "A"), (3, "B"), (4, "C")]
    assert all(d.source == str(f) for d in docs)


def test_kind_list_is_expanded(tmp_path):
    f = tmp_path / "list.yaml"
    f.write_text("apiVersion: v1\nkind: List\nitems:\n- {kind: A}\n- {kind: B}\n---\nkind: ServiceList\n"
                 "items: [{kind: C}]\n")
    docs = load_paths([str(f)])
    assert [(d.index, d.obj["kind"]) for d in docs] == [(0, "A"), (0, "B"), (1, "C")]


def test_list_items_that_are_not_mappings_are_problems(tmp_path):
    f = tmp_path / "list.yaml"
    f.write_text("kind: List\nitems: [{kind: A}, 3]\n")
    assert problems_of([str(f)]) == [f"{f} (document 1): List: items[1]: is a number, not a mapping"]


def test_directory_is_read_recursively_in_sorted_order_and_skips_other_files():
    docs = load_paths([str(CORPUS / "app")])
    rel = [(os.path.relpath(d.source, CORPUS / "app"), d.index, d.obj["kind"]) for d in docs]
    assert rel == [
        ("db/db.yml", 0, "Service"),
        ("db/db.yml", 1, "StatefulSet"),
        ("db/secret.json", 0, "Secret"),
        ("web.yaml", 0, "Service"),
        ("web.yaml", 2, "Deployment"),
    ]


def test_directory_without_manifests_is_a_problem(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    assert problems_of([str(tmp_path)]) == [f"{tmp_path}: no *.yaml, *.yml or *.json files in this directory"]


def test_missing_file_is_a_problem(tmp_path):
    missing = tmp_path / "nope.yaml"
    assert problems_of([str(missing)]) == [f"{missing}: cannot read: No such file or directory"]


def test_stdin_is_read_for_dash():
    docs = load_paths(["-"], stdin_of("kind: A\n---\nkind: B\n"))
    assert [(d.source, d.index, d.obj) for d in docs] == [("<stdin>", 0, {"kind": "A"}), ("<stdin>", 1, {"kind": "B"})]


def test_stdin_may_be_a_plain_string_stream():
    assert load_paths(["-"], io.StringIO("kind: A\n"))[0].obj == {"kind": "A"}


def test_stdin_json_and_json_streams():
    docs = load_paths(["-"], stdin_of('{"kind": "A"}\n{"kind": "B"}'))
    assert [d.obj["kind"] for d in docs] == ["A", "B"]


def test_stdin_twice_is_a_problem():
    assert problems_of(["-", "-"], stdin_of("kind: A\n")) == ["<stdin>: stdin ('-') was given more than once"]


def test_files_and_stdin_mix_in_argument_order(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_text("kind: A\n")
    docs = load_paths([str(f), "-"], stdin_of("kind: B\n"))
    assert [(d.source, d.obj["kind"]) for d in docs] == [(str(f), "A"), ("<stdin>", "B")]


def test_json_file(tmp_path):
    f = tmp_path / "a.json"
    f.write_text(json.dumps({"kind": "A", "spec": {"tab\tkey": [1, 2]}}, indent="\t"))
    assert load_paths([str(f)])[0].obj == {"kind": "A", "spec": {"tab\tkey": [1, 2]}}


def test_malformed_json_is_a_problem(tmp_path):
    f = tmp_path / "a.json"
    f.write_text('{"kind": "A",\n "x": }')
    assert problems_of([str(f)]) == [f"{f} (document 1): invalid JSON: Expecting value at line 2, column 7"]


def test_utf8_bom_is_accepted(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_bytes(b"\xef\xbb\xbfkind: A\n")
    assert load_paths([str(f)])[0].obj == {"kind": "A"}


def test_timestamps_stay_strings_and_keys_become_strings(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_text("kind: ConfigMap\ndata:\n  since: 2024-01-02\n  8080: port\n  null: x\n")
    assert load_paths([str(f)])[0].obj["data"] == {"since": "2024-01-02", "8080": "port", "null": "x"}


def test_anchors_and_merge_keys_work_and_the_result_shares_nothing(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_text("base: &b {image: nginx, ports: [1]}\nx: {<<: *b, name: x}\ny: *b\n")
    obj = load_paths([str(f)])[0].obj
    assert obj["x"] == {"image": "nginx", "ports": [1], "name": "x"}
    assert obj["y"] == obj["base"] and obj["y"] is not obj["base"]


# -- bad input becomes problems ---------------------------------------------------------

def test_non_utf8_is_a_problem(tmp_path):
    f = tmp_path / "latin1.yaml"
    f.write_bytes(b"kind: A\nname: caf\xe9\n")
    assert problems_of([str(f)]) == [
        f"{f}: not valid UTF-8: byte 0xe9 at offset 17 (line 2); manifests must be UTF-8 text"]


def test_non_utf8_on_stdin_is_a_problem():
    assert problems_of(["-"], stdin_of(b"\xff\xfe")) == [
        "<stdin>: not valid UTF-8: byte 0xff at offset 0 (line 1); manifests must be UTF-8 text"]


def test_malformed_yaml_keeps_earlier_documents_and_names_the_broken_one(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_text("kind: A\n---\nkind: B\n  bad: [\n")
    docs, problems = load_with_problems([str(f)])
    assert [d.obj for d in docs] == [{"kind": "A"}]
    assert len(problems) == 1 and problems[0].index == 1
    assert str(problems[0]).startswith(f"{f} (document 2): invalid YAML: ")
    assert "line 4" in str(problems[0])


def test_document_that_is_not_a_mapping_is_a_problem(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_text("kind: A\n---\n- a\n- b\n---\njust text\n")
    hint = "(a Kubernetes object starts with apiVersion: and kind:)"
    assert problems_of([str(f)]) == [f"{f} (document 2): document is a list, not a mapping {hint}",
                                     f"{f} (document 3): document is a string, not a mapping {hint}"]


def test_unknown_tags_and_unhashable_keys_are_problems(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_text("a: !!python/object:os.system x\n---\n? [1, 2]\n: x\n---\nkind: C\n")
    docs, problems = load_with_problems([str(f)])
    assert [d.obj for d in docs] == [{"kind": "C"}]
    assert [p.index for p in problems] == [0, 1]
    assert all(p.message.startswith("invalid YAML: ") for p in problems)


def test_undefined_alias_is_a_problem():
    assert problems_of(["-"], stdin_of("a: *nowhere\n")) == [
        "<stdin> (document 1): invalid YAML: found undefined alias 'nowhere'"]


def test_recursive_alias_is_a_problem():
    assert problems_of(["-"], stdin_of("a: &x [1, *x]\n")) == [
        "<stdin> (document 1): alias *x refers to a node that contains it; recursive YAML is not allowed"]


def test_alias_bomb_is_refused_quickly():
    start = time.monotonic()
    problems = problems_of([str(CORPUS / "invalid" / "alias-bomb.yaml")])
    assert time.monotonic() - start < 2
    assert len(problems) == 1 and "alias bomb" in problems[0] and "(document 1)" in problems[0]


def test_anchors_may_not_add_too_many_nodes():
    text = "a: &a [" + ",".join(["x"] * 1000) + "]\nb: [" + ",".join(["*a"] * (MAX_ALIAS_NODES // 1000 + 1)) + "]\n"
    problems = problems_of(["-"], stdin_of(text))
    assert problems == [f"<stdin> (document 1): YAML aliases expand this document by more than {MAX_ALIAS_NODES} "
                        "nodes (an alias bomb?); refusing to read it"]


def test_big_documents_without_aliases_are_fine():
    text = "items: [" + ",".join(["1"] * (MAX_ALIAS_NODES + 10)) + "]\n"
    assert len(load_paths(["-"], stdin_of(text))[0].obj["items"]) == MAX_ALIAS_NODES + 10


def test_too_many_documents_in_one_file_are_refused():
    start = time.monotonic()
    docs, problems = load_with_problems(["-"], stdin_of("kind: A\n---\n" * (MAX_DOCUMENTS + 5)))
    assert time.monotonic() - start < 30
    assert len(docs) == MAX_DOCUMENTS
    assert [str(p) for p in problems] == [f"<stdin> (document {MAX_DOCUMENTS + 1}): more than {MAX_DOCUMENTS} "
                                          "documents in one file; refusing to read the rest"]


def test_unreadable_subdirectory_is_a_problem(tmp_path, monkeypatch):
    (tmp_path / "ok.yaml").write_text("kind: A\n")
    real_walk = os.walk

    def walk(top, onerror=None, **kwargs):  # the tests run as root, who can read any directory
        onerror(PermissionError(13, "Permission denied", str(tmp_path / "locked")))
        yield from real_walk(top, onerror=onerror, **kwargs)

    monkeypatch.setattr(os, "walk", walk)
    docs, problems = load_with_problems([str(tmp_path)])
    assert [d.obj for d in docs] == [{"kind": "A"}]
    assert [str(p) for p in problems] == [f"{tmp_path / 'locked'}: cannot read: Permission denied"]


def test_alias_bomb_in_a_later_document_keeps_the_earlier_ones():
    bomb = (CORPUS / "invalid" / "alias-bomb.yaml").read_text()
    docs, problems = load_with_problems(["-"], stdin_of("kind: A\n---\n" + bomb))
    assert [d.obj for d in docs] == [{"kind": "A"}]
    assert [p.index for p in problems] == [1]


@pytest.mark.parametrize("text", ["[" * 3_000_000, "- " * 1_000_000 + "x\n", "a:\n" + "".join(
    " " * i + "b:\n" for i in range(1, 300))])
def test_deep_nesting_is_refused_quickly_without_crashing(text):
    start = time.monotonic()
    problems = problems_of(["-"], stdin_of(text))
    assert time.monotonic() - start < 5
    assert problems == [f"<stdin> (document 1): document is nested more than {MAX_DEPTH} levels deep; "
                        "refusing to read it"]


def test_deep_json_is_refused():
    problems = problems_of(["-"], stdin_of("[" * 200 + "]" * 200))
    assert problems == [f"<stdin> (document 1): document is nested more than {MAX_DEPTH} levels deep; "
                        "refusing to read it"]


def test_huge_file_is_refused_before_reading(tmp_path):
    f = tmp_path / "huge.yaml"
    with open(f, "wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)  # sparse: big on paper, nothing to read
    start = time.monotonic()
    assert problems_of([str(f)]) == [f"{f}: file is larger than 10 MB (10.0 MB or more); refusing to read it"]
    assert time.monotonic() - start < 1


def test_huge_stdin_is_refused():
    assert problems_of(["-"], stdin_of(b"#" * (MAX_FILE_BYTES + 1))) == [
        "<stdin>: input is larger than 10 MB; refusing to read it"]


def test_huge_integer_is_a_problem_not_an_exception():
    problems = problems_of(["-"], stdin_of("port: " + "9" * 5000 + "\n"))
    assert len(problems) == 1 and problems[0].startswith("<stdin> (document 1): cannot read this document")


def test_all_problems_of_all_files_are_reported_at_once(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_bytes(b"kind: A\n---\n- 1\n---\nx: [\n")
    b.write_bytes(b"\xff")
    problems = problems_of([str(a), str(tmp_path / "missing.yaml"), str(b)])
    assert [p.split(":")[0] for p in problems] == [f"{a} (document 2)", f"{a} (document 3)",
                                                   f"{tmp_path / 'missing.yaml'}", f"{b}"]


def test_load_and_validate_reports_load_and_validation_problems_together(tmp_path):
    good = tmp_path / "svc.yaml"
    good.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 0}]}\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: [\n")
    with pytest.raises(ManifestError) as exc:
        load_and_validate([str(broken), str(good)])
    messages = [str(p) for p in exc.value.problems]
    assert messages[0].startswith(f"{broken} (document 1): invalid YAML")
    assert messages[1] == (f'{good} (document 1): The Service "web" is invalid: spec.ports[0].port: '
                           "Invalid value: 0: must be between 1 and 65535, inclusive")


# -- property tests: nothing escapes but ManifestError ----------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=30,
)


def _only_manifest_errors(text_or_bytes, path=None):
    try:
        objects, warnings = load_and_validate([path or "-"], stdin_of(text_or_bytes) if path is None else None)
    except ManifestError as e:
        assert e.problems
        for p in e.problems:
            assert isinstance(p, Problem)
            str(p).encode("utf-8")  # printable: no lone surrogates from JSON "\ud800" escapes
    else:
        assert all(isinstance(o, dict) for o in objects)
        for w in warnings:
            w.encode("utf-8")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_property_arbitrary_text_raises_only_manifest_error(text):
    _only_manifest_errors(text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_property_arbitrary_bytes_raise_only_manifest_error(data):
    _only_manifest_errors(data)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_property_arbitrary_nested_values_raise_only_manifest_error(value):
    _only_manifest_errors(json.dumps(value))
    _only_manifest_errors(yaml.safe_dump(value, allow_unicode=True))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_property_arbitrary_files_raise_only_manifest_error(tmp_path, data):
    f = tmp_path / "fuzz.yaml"
    f.write_bytes(data)
    _only_manifest_errors(None, path=str(f))
