"""Reading Kubernetes manifests: YAML or JSON documents from files, directories and stdin.

Every document becomes a :class:`Document` carrying where it came from (file and the
1-based line it starts at), so that problems found later can point at it. A document that
cannot be parsed becomes a :class:`Document` with ``error`` set instead of stopping the
whole run; only a path that does not exist or cannot be read raises.

Parsing uses libyaml (``yaml.CSafeLoader``) on each document separately. Document start
lines come from scanning for ``---`` separators, which in YAML always sit at column 0,
so no node tree has to be composed. Unquoted dates stay strings, as they do when the
Kubernetes API server reads YAML.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import yaml

from kubectl_gitops.core import inputs
from kubectl_gitops.core.errors import ConfigError, InputRejected

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
STDIN_SOURCE = "stdin"


@dataclass(frozen=True)
class Document:
    """One object read from a manifest.

    Attributes:
        source: The file it was read from (as given, or found under a given directory), or
            ``"stdin"``.
        line: The 1-based line the document starts at (its first line that is not blank, a
            comment or a bare ``---``).
        index: The 0-based position of the document in its file. Items expanded from a
            ``List`` share the index of the list.
        obj: The parsed object, or None when ``error`` is set.
        error: Why the document could not be read (YAML syntax error with its line, or not
            a mapping), else None.
        duplicate_keys: Keys given twice in one mapping, with the line of the second one
            (YAML keeps the last; strict validation reports them).
    """

    source: str
    line: int
    index: int
    obj: dict[str, Any] | None
    error: str | None = None
    duplicate_keys: tuple[tuple[str, int], ...] = ()


class _Loader(yaml.CSafeLoader):
    """libyaml's safe loader without the timestamp resolver: dates stay strings."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}


def load_documents(paths: Sequence[str], *, stdin: TextIO | BinaryIO | None = None) -> Iterator[Document]:
    """Yield every object in the given files, directories and stdin, in order.

    Directories are searched recursively for ``*.yaml``, ``*.yml`` and ``*.json`` files,
    in sorted order. ``-`` reads ``stdin``. Multi-document YAML yields one document each;
    empty documents are skipped; ``List`` objects (``kind: List`` or any ``*List`` kind
    with an ``items`` array) are expanded into their items.

    Args:
        paths: Files, directories, or ``-``.
        stdin: The stream ``-`` reads (``sys.stdin`` when None).

    Yields:
        One :class:`Document` per object, or per document that could not be parsed.

    Raises:
        ConfigError: A path does not exist or a file cannot be read.

    Example:
        >>> for doc in load_documents(["deploy/"]):
        ...     print(doc.source, doc.line, doc.obj["kind"] if doc.obj else doc.error)
    """
    for source, text in _read_inputs(paths, stdin=stdin):
        yield from parse_documents(text, source=source)


def parse_documents(text: str, *, source: str) -> Iterator[Document]:
    """Yield every object in ``text`` (YAML, or JSON when ``source`` ends in ``.json``).

    Used for manifests that never were a file, such as helm's rendered output.
    """
    if source.endswith(".json"):
        yield from _json_documents(source, text)
    else:
        yield from _yaml_documents(source, text)


def _read_inputs(paths: Sequence[str], *, stdin: TextIO | BinaryIO | None) -> Iterator[tuple[str, str]]:
    for given in paths:
        if given == "-":
            yield STDIN_SOURCE, read_stdin(stdin if stdin is not None else sys.stdin)
            continue
        path = Path(given)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in MANIFEST_SUFFIXES and p.is_file())
            for file in files:
                yield str(file), _read_file(file)
        elif path.exists():
            yield given, _read_file(path)
        else:
            raise ConfigError(f"{given}: no such file or directory")


def read_stdin(stream: TextIO | BinaryIO) -> str:
    """All of stdin as text under the input policy (bytes are decoded here, not by the locale).

    Raises:
        InputRejected: stdin is empty, binary, not UTF-8 or over the size limit.
    """
    raw = getattr(stream, "buffer", stream)
    if isinstance(raw, io.TextIOBase):  # a text stream without bytes underneath (tests, StringIO)
        text = raw.read(inputs.MAX_BYTES + 1)
        if len(text) > inputs.MAX_BYTES:
            raise InputRejected(f"{STDIN_SOURCE} is larger than the limit for one input")
    else:
        text = inputs.read_stream(raw, source=STDIN_SOURCE, error=InputRejected)
    if all(_is_blank(line) or line.strip() in ("---", "...") for line in text.splitlines()):
        raise InputRejected("stdin is empty: nothing to validate (pipe manifests in, or give paths)")
    return text


def _read_file(path: Path) -> str:
    try:
        path.stat()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {inputs.os_problem(exc)}") from None
    if not os.access(path, os.R_OK):
        raise ConfigError(f"cannot read {path}: {inputs.os_problem(PermissionError())}")
    return inputs.read_text(path, error=InputRejected)


def _json_documents(source: str, text: str) -> Iterator[Document]:
    if not text.strip():
        return
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        yield Document(source, e.lineno, 0, None, f"JSON syntax error at line {e.lineno}: {e.msg}")
        return
    except RecursionError:
        raise InputRejected(f"{source}: nested deeper than {inputs.MAX_DEPTH} levels (the limit)") from None
    inputs.check_depth(obj, source=source, error=InputRejected)
    yield from _expand(source, _first_content_line(text.splitlines(), 0, 1), 0, obj)


def _is_separator(line: str) -> bool:
    return line.startswith("---") and (len(line) == 3 or line[3] in " \t\r")


def _is_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _first_content_line(lines: list[str], start: int, fallback: int) -> int:
    """The 1-based number of the first line from ``start`` that holds content."""
    for number in range(start, len(lines)):
        line = lines[number]
        if _is_separator(line):
            if line[3:].strip() and not line[3:].strip().startswith("#"):
                return number + 1
            continue
        if not _is_blank(line):
            return number + 1
    return fallback


def _split(text: str) -> Iterator[tuple[int, str, list[str], int]]:
    """Split YAML text at ``---`` lines: (0-based first line, chunk text, all lines, index)."""
    lines = text.splitlines()
    starts = [0] + [n for n, line in enumerate(lines) if n and _is_separator(line)]
    index = 0
    carried = ""
    for position, start in enumerate(starts):
        end = starts[position + 1] if position + 1 < len(starts) else len(lines)
        chunk_lines = lines[start:end]
        content = [line for line in chunk_lines if not _is_blank(line) and line.strip() != "..."]
        if content and all(line.startswith("%") for line in content):
            carried = "\n".join(content) + "\n"  # directives belong to the next document
            continue
        if not content or (len(content) == 1 and _is_separator(content[0]) and not content[0][3:].strip()):
            carried = ""
            continue
        yield start - carried.count("\n"), carried + "\n".join(chunk_lines) + "\n", lines, index
        carried = ""
        index += 1


def _yaml_documents(source: str, text: str) -> Iterator[Document]:
    for start, chunk, lines, index in _split(text):
        line = _first_content_line(lines, max(start, 0), max(start, 0) + 1)
        try:
            node, loader = inputs.compose(chunk, loader=_Loader, source=f"{source}:{line}", error=InputRejected)
            duplicates = tuple((key, start + at) for key, at in inputs.duplicate_keys(node))
            obj = inputs.construct(loader, node)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            at = start + mark.line + 1 if mark is not None else line
            last = _last_content_line(chunk)
            if last and at > start + last:  # libyaml points past the end of an unclosed document
                at = start + last
            what = e.problem or e.context or "invalid YAML"
            yield Document(source, at, index, None, f"YAML syntax error at line {at}: {what}")
            continue
        except yaml.YAMLError as e:
            yield Document(source, line, index, None, f"YAML error: {e}")
            continue
        yield from _expand(source, line, index, obj, duplicates)


def _last_content_line(chunk: str) -> int:
    """The 1-based number, within ``chunk``, of its last line that holds content (0 if none)."""
    lines = chunk.splitlines()
    for number in range(len(lines), 0, -1):
        if not _is_blank(lines[number - 1]):
            return number
    return 0


def _expand(source: str, line: int, index: int, obj: Any,
            duplicates: tuple[tuple[str, int], ...] = ()) -> Iterator[Document]:
    if obj is None:
        return
    if not isinstance(obj, dict):
        yield Document(source, line, index, None, f"expected a Kubernetes object (a mapping), got {_kind_of(obj)}")
        return
    kind = obj.get("kind")
    items = obj.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        for item in items:
            if item is None:
                continue
            if isinstance(item, dict):
                yield Document(source, line, index, item, None)
            else:
                yield Document(source, line, index, None, f"{kind} item is not an object: got {_kind_of(item)}")
        return
    yield Document(source, line, index, obj, None, duplicates)


def _kind_of(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return type(value).__name__
