"""Generate the chart README from the `# --` comments of values.yaml (helm-docs style).

``python tests/chartdocs.py --write`` regenerates ``charts/gitops-platform/README.md`` from
``README.md.gotmpl`` (the hand-written text: phases, CRD ordering, scenarios) and the values
table; ``--check`` exits 1 when the README differs. Comment conventions:

- ``# -- text`` starts the description of the key on the next non-comment line; following
  ``#`` lines continue it;
- ``# -- (type) text`` sets the type; a map documented this way (annotations, for example) is one
  value, its keys are data and need no comment of their own;
- ``# @default -- text`` replaces the shown default (for values computed in templates);
- keys under a list value are not parsed: document the list as a whole.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parent.parent / "charts" / "gitops-platform"
_KEY = re.compile(r"^(?P<indent>\s*)(?P<key>[^\s#\-][^:]*?|\"[^\"]+\"):(?:\s+(?P<value>.*))?$")
_BLOCK = re.compile(r"^[|>][-+]?\s*$")
_TYPE_HINT = re.compile(r"^\((?P<type>[a-z]+)\)\s*")


@dataclass(frozen=True)
class Value:
    path: tuple[str, ...]
    type: str
    default: str
    description: str

    @property
    def key(self) -> str:
        return ".".join(f'"{p}"' if "." in p else p for p in self.path)


def _lookup(data: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return False, None
        data = data[part]
    return True, data


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def parse(text: str) -> list[Value]:
    """Every documented key of a values.yaml text, in file order."""
    data = yaml.safe_load(text) or {}
    stack: list[tuple[int, str]] = []
    values: list[Value] = []
    doc: list[str] | None = None
    default: str | None = None
    skip_deeper_than: int | None = None
    for line in text.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if skip_deeper_than is not None:
            if not stripped or indent > skip_deeper_than:
                continue
            skip_deeper_than = None
        if stripped.startswith("# @default --"):
            default = stripped.removeprefix("# @default --").strip()
            continue
        if stripped.startswith("# --"):
            doc = [stripped.removeprefix("# --").strip()]
            continue
        if stripped.startswith("#"):
            if doc is not None and default is None:
                doc.append(stripped.lstrip("#").strip())
            continue
        if not stripped or stripped.startswith("-"):
            continue
        match = _KEY.match(line)
        if not match:
            continue
        key = match["key"].strip('"')
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = tuple(k for _, k in stack) + (key,)
        stack.append((indent, key))
        found, value = _lookup(data, path)
        inline = match["value"] or ""
        if _BLOCK.match(inline) or isinstance(value, list):
            skip_deeper_than = indent
        if found and doc is not None:
            description = " ".join(d for d in doc if d)
            hint = _TYPE_HINT.match(description)
            if hint:
                description = description[hint.end():]
            if default is not None:
                shown = default
            elif isinstance(value, dict) and value and not hint:
                shown = ""  # a section: its keys have rows of their own
            else:
                shown = f"`{json.dumps(value, separators=(',', ':'))}`"
            values.append(Value(path, hint["type"] if hint else _type(value), shown, description))
        doc, default = None, None
    return values


def leaves(data: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Paths of every value a user can set: scalars, lists and empty maps."""
    if isinstance(data, dict) and data:
        return [p for k, v in data.items() for p in leaves(v, prefix + (str(k),))]
    return [prefix]


def undocumented(text: str) -> list[str]:
    """Leaf paths of values.yaml without a `# --` comment (a typed map covers its keys)."""
    parsed = parse(text)
    documented = {v.path for v in parsed}
    whole = [v.path for v in parsed if v.type == "object" and v.default != ""]
    return [".".join(p) for p in leaves(yaml.safe_load(text) or {})
            if p not in documented and not any(p[:len(w)] == w for w in whole)]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def values_table(text: str) -> str:
    rows = ["| Key | Type | Default | Description |", "|-----|------|---------|-------------|"]
    rows += [f"| {_cell(v.key)} | {v.type} | {_cell(v.default)} | {_cell(v.description)} |"
             for v in parse(text)]
    return "\n".join(rows)


def dependencies_table(chart_yaml: dict[str, Any]) -> str:
    rows = ["| Repository | Name | Version | Condition |", "|------------|------|---------|-----------|"]
    rows += [f"| {d['repository']} | {d['name']} | {d['version']} | `{d.get('condition', '')}` |"
             for d in chart_yaml.get("dependencies") or []]
    return "\n".join(rows)


def generate(chart: Path = CHART) -> str:
    """The README text the chart's current files produce."""
    meta = yaml.safe_load((chart / "Chart.yaml").read_text(encoding="utf-8"))
    template = (chart / "README.md.gotmpl").read_text(encoding="utf-8")
    values_text = (chart / "values.yaml").read_text(encoding="utf-8")
    replacements = {
        "{{ name }}": meta["name"],
        "{{ version }}": str(meta["version"]),
        "{{ appVersion }}": str(meta["appVersion"]),
        "{{ description }}": " ".join(str(meta["description"]).split()),
        "{{ dependencies }}": dependencies_table(meta),
        "{{ values }}": values_table(values_text),
    }
    for placeholder, text in replacements.items():
        template = template.replace(placeholder, text)
    return template.rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help="rewrite charts/gitops-platform/README.md")
    group.add_argument("--check", action="store_true", help="exit 1 when README.md is out of date")
    args = parser.parse_args(argv)
    readme = CHART / "README.md"
    text = generate()
    if args.write:
        readme.write_text(text, encoding="utf-8")
        return 0
    if readme.is_file() and readme.read_text(encoding="utf-8") == text:
        return 0
    sys.stderr.write("charts/gitops-platform/README.md is out of date: "
                     "run python tests/chartdocs.py --write\n")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
