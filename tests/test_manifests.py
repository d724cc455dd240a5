"""Reading manifests: documents, their lines, Lists, stdin, syntax errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from kubectl_gitops.core.errors import ConfigError
from kubectl_gitops.core.manifests import load_documents

MULTI = """\
# leading comment
apiVersion: v1
kind: ConfigMap
metadata: {name: one}
---
---

# only a comment
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: two
data:
  text: |
    --- not a separator, indented
---  # comment after the separator
apiVersion: v1
kind: ConfigMap
metadata: {name: three}
--- {apiVersion: v1, kind: ConfigMap, metadata: {name: four}}
"""


def _write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_multi_document_lines_and_empty_documents(tmp_path: Path) -> None:
    source = _write(tmp_path / "multi.yaml", MULTI)
    docs = list(load_documents([source]))
    assert [(d.obj["metadata"]["name"], d.line) for d in docs] == [
        ("one", 2),
        ("two", 10),
        ("three", 18),
        ("four", 21),
    ]
    assert [d.index for d in docs] == [0, 1, 2, 3]
    assert all(d.source == source and d.error is None for d in docs)
    assert docs[1].obj["data"]["text"] == "--- not a separator, indented\n"


def test_leading_separator_and_document_end_marker(tmp_path: Path) -> None:
    source = _write(tmp_path / "a.yml", "---\napiVersion: v1\nkind: A\n...\n---\napiVersion: v1\nkind: B\n")
    assert [(d.obj["kind"], d.line) for d in load_documents([source])] == [("A", 2), ("B", 6)]


def test_syntax_error_reports_line_and_other_documents_still_load(tmp_path: Path) -> None:
    bad = _write(
        tmp_path / "bad.yaml",
        "apiVersion: v1\nkind: A\n---\napiVersion: v1\nkind: B\nmetadata: {name: x\n---\napiVersion: v1\nkind: C\n",
    )
    good = _write(tmp_path / "good.yaml", "apiVersion: v1\nkind: D\n")
    docs = list(load_documents([bad, good]))
    assert [d.obj["kind"] if d.obj else None for d in docs] == ["A", None, "C", "D"]
    error = docs[1]
    assert error.error is not None and "line 6" in error.error and error.line == 6
    assert error.source == bad and docs[2].line == 8


def test_list_kinds_are_expanded(tmp_path: Path) -> None:
    text = """\
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
  - {apiVersion: v1, kind: Service, metadata: {name: b}}
---
apiVersion: v1
kind: ConfigMapList
items:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}
  - 42
"""
    docs = list(load_documents([_write(tmp_path / "l.yaml", text)]))
    assert [d.obj["metadata"]["name"] if d.obj else d.error for d in docs][:3] == ["a", "b", "c"]
    assert docs[0].line == docs[1].line == 1 and docs[2].line == 7
    assert docs[3].obj is None and "not an object" in docs[3].error


def test_stdin_is_read_for_dash() -> None:
    stdin = io.StringIO("apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: Secret\n")
    docs = list(load_documents(["-"], stdin=stdin))
    assert [(d.source, d.line, d.obj["kind"]) for d in docs] == [("stdin", 1, "ConfigMap"), ("stdin", 4, "Secret")]


def test_directories_are_searched_recursively_in_sorted_order(tmp_path: Path) -> None:
    _write(tmp_path / "b" / "x.yaml", "kind: B\n")
    _write(tmp_path / "a.yml", "kind: A\n")
    _write(tmp_path / "c" / "d" / "y.json", '{"kind": "C"}')
    _write(tmp_path / "notes.txt", "kind: Ignored\n")
    _write(tmp_path / "z.YAML", "kind: Z\n")
    docs = list(load_documents([str(tmp_path)]))
    assert [d.obj["kind"] for d in docs] == ["A", "B", "C", "Z"]
    assert docs[2].source.endswith("y.json") and docs[2].line == 1


def test_json_files_and_json_errors(tmp_path: Path) -> None:
    good = _write(tmp_path / "ok.json", '\n{"apiVersion": "v1", "kind": "List", "items": [{"kind": "A"}]}')
    bad = _write(tmp_path / "bad.json", '{\n  "kind": "A",\n  oops\n}')
    docs = list(load_documents([good, bad]))
    assert docs[0].obj == {"kind": "A"} and docs[0].line == 2
    assert docs[1].obj is None and docs[1].line == 3 and "line 3" in docs[1].error


def test_missing_path_raises_config_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="nope.yaml"):
        list(load_documents([missing]))
    assert ConfigError.exit_code == 2


def test_values_keep_kubernetes_types(tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  date: 2024-01-02\n  n: '3'\n"
    (doc,) = load_documents([_write(tmp_path / "t.yaml", text)])
    assert doc.obj["data"] == {"date": "2024-01-02", "n": "3"}


def test_non_mapping_document_is_an_error(tmp_path: Path) -> None:
    (doc,) = load_documents([_write(tmp_path / "s.yaml", "- a\n- b\n")])
    assert doc.obj is None and "mapping" in doc.error and doc.line == 1
