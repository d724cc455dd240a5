"""One policy for everything the tool reads from the user: files, stdin and the YAML in them.

- Size: one input (a file or stdin) holds at most :data:`MAX_BYTES`; a larger one is refused
  before it is read into memory (files by their size, streams by reading one byte past the limit).
- Decoding: UTF-8, with or without a byte-order mark. UTF-16/32, other encodings (Latin-1) and
  binary files are refused with a message that says what the file is and what to do.
- YAML: a document is composed into nodes first (aliases share nodes, so that is cheap), then
  measured before any Python object is built: aliases may add at most :data:`MAX_ALIAS_NODES`
  nodes to what the text spells out, nesting goes at most :data:`MAX_DEPTH` levels deep, and an
  alias may not contain itself. A "billion laughs" file is refused in milliseconds.
- Operating-system failures (missing, a directory, permission) become words, never an
  exception's class name (:func:`os_problem`).

Every refusal is one line naming the input and the limit, raised as the error class the caller
gives (``ConfigError`` for gitops.yaml, exit 2; ``InputRejected`` for manifests, exit 1).
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from .errors import GitopsError

MAX_BYTES = 32 * 1024 * 1024
MAX_ALIAS_NODES = 100_000
MAX_DEPTH = 200

ErrorType = type[GitopsError]


def os_problem(exc: OSError) -> str:
    """What went wrong, in words: ``not found``, ``is a directory, not a file``, ``permission denied``..."""
    if isinstance(exc, FileNotFoundError):
        return "not found"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not a file"
    if isinstance(exc, NotADirectoryError):
        return "a part of the path is not a directory"
    if isinstance(exc, PermissionError):
        return "permission denied (check the file's owner and mode)"
    return (exc.strerror or "cannot be read").lower() if exc.strerror else "cannot be read"


def _mib(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB"


def decode(data: bytes, *, source: str, error: ErrorType) -> str:
    """``data`` as text under the policy (UTF-8, an optional BOM dropped)."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise error(f"{source} is UTF-32 text; save it as UTF-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise error(f"{source} is UTF-16 text; save it as UTF-8")
    if b"\x00" in data[:8192]:
        raise error(f"{source} is a binary file, not text (YAML or JSON expected)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise error(f"{source} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
                    "save it as UTF-8") from None


def read_text(path: str | os.PathLike[str], *, source: str | None = None, error: ErrorType,
              what: str = "") -> str:
    """The text of the file at ``path``, under the policy (size, decoding, OS failures in words).

    ``what`` names the file in messages (``config file``, ``kubeconfig``...).
    """
    p = Path(path)
    name = source or str(path)
    label = f"{what} {name}" if what else name
    try:
        with open(p, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_BYTES:
                raise error(f"{label} is larger than {_mib(MAX_BYTES)} (the limit for one input)")
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise error(f"cannot read {label}: {os_problem(exc)}") from None
    if len(data) > MAX_BYTES:
        raise error(f"{label} is larger than {_mib(MAX_BYTES)} (the limit for one input)")
    return decode(data, source=label, error=error)


def read_stream(stream: BinaryIO, *, source: str, error: ErrorType) -> str:
    """All of a byte stream (stdin), under the policy."""
    try:
        data = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        raise error(f"cannot read {source}: {os_problem(exc)}") from None
    if len(data) > MAX_BYTES:
        raise error(f"{source} is larger than {_mib(MAX_BYTES)} (the limit for one input)")
    return decode(data, source=source, error=error)


def check_nodes(root: Any, *, source: str, error: ErrorType) -> None:
    """Refuse a composed YAML node graph that aliases blow up, that nests too deep, or that contains itself.

    Counts each node as often as the document would be expanded (every alias counted in full),
    with one memoised pass over the distinct nodes.
    """
    import yaml

    sizes: dict[int, int] = {}
    distinct = 0
    # iterative post-order walk: (node, depth, children visited?)
    stack: list[tuple[Any, int, bool]] = [(root, 1, False)]
    on_path: set[int] = set()
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            total = 1 + sum(sizes[id(child)] for child in _children(node, yaml))
            sizes[key] = total
            if total - distinct > MAX_ALIAS_NODES:
                raise error(f"{source}: YAML aliases expand to more than {MAX_ALIAS_NODES} extra nodes "
                            "(the limit); write the repeated parts out or shorten them")
            continue
        if key in on_path:
            raise error(f"{source}: a YAML alias refers to a node that contains it (recursive data is not allowed)")
        if key in sizes:
            continue
        if depth > MAX_DEPTH:
            raise error(f"{source}: nested deeper than {MAX_DEPTH} levels (the limit)")
        distinct += 1
        on_path.add(key)
        stack.append((node, depth, True))
        for child in _children(node, yaml):
            if id(child) not in sizes:
                stack.append((child, depth + 1, False))


def check_depth(data: Any, *, source: str, error: ErrorType) -> None:
    """Refuse parsed data (JSON) nested deeper than :data:`MAX_DEPTH`."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise error(f"{source}: nested deeper than {MAX_DEPTH} levels (the limit)")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, (dict, list)))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))


def duplicate_keys(root: Any) -> list[tuple[str, int]]:
    """Scalar keys given twice in one mapping of a composed (and checked) node graph: (key, 1-based line)."""
    import yaml

    if root is None:
        return []
    found: list[tuple[str, int]] = []
    seen_nodes: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in keys:
                        found.append((key.value, key.start_mark.line + 1))
                    keys.add(key.value)
        stack.extend(_children(node, yaml))
    return sorted(found, key=lambda item: item[1])


def _children(node: Any, yaml: Any) -> Iterator[Any]:
    if isinstance(node, yaml.SequenceNode):
        yield from node.value
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value


def compose(text: str, *, loader: Any, source: str, error: ErrorType) -> tuple[Any, Any]:
    """Compose one YAML document with ``loader`` and check it: (node or None, the loader to construct with).

    YAML syntax errors propagate as ``yaml.YAMLError``; limits raise ``error``. Call
    ``construct(loader, node)`` for the Python data.
    """
    instance = loader(text)
    try:
        node = instance.get_single_node()
    except RecursionError:
        instance.dispose()
        raise error(f"{source}: nested deeper than {MAX_DEPTH} levels (the limit)") from None
    except BaseException:
        instance.dispose()
        raise
    if node is not None:
        try:
            check_nodes(node, source=source, error=error)
        except BaseException:
            instance.dispose()
            raise
    return node, instance


def construct(instance: Any, node: Any) -> Any:
    """The Python data of a node :func:`compose` returned (None for an empty document)."""
    try:
        return instance.construct_document(node) if node is not None else None
    finally:
        instance.dispose()


def load_yaml(text: str, *, loader: Any = None, source: str, error: ErrorType) -> Any:
    """One YAML document as Python data, checked under the policy (``yaml.YAMLError`` on bad syntax)."""
    import yaml

    node, instance = compose(text, loader=loader or getattr(yaml, "CSafeLoader", yaml.SafeLoader),
                             source=source, error=error)
    return construct(instance, node)
