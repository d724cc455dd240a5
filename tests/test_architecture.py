"""The layering of docs/architecture.md, checked: import contracts, no printing library, light start-up."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "plugins" / "kubectl_gitops"
BIN = Path(sys.executable).parent
HEAVY = {"kubernetes", "pydo", "azure", "jsonschema", "referencing", "yaml", "requests", "urllib3"}


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        yield ".".join(rel.parts), ast.parse(path.read_text(), filename=str(path))


def imported_roots(tree: ast.AST) -> set[str]:
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_import_contracts(repo_root):
    out = subprocess.run([BIN / "lint-imports"], capture_output=True, text=True, cwd=repo_root, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "broken" not in out.stdout.lower().replace("0 broken", "")


@pytest.mark.parametrize(("library", "owner"), [("kubernetes", "adapters.kube"), ("pydo", "adapters.digitalocean"),
                                                ("azure", "adapters.digitalocean"), ("click", "cli")])
def test_client_libraries_stay_in_their_adapter(library, owner):
    offenders = [name for name, tree in modules()
                 if library in imported_roots(tree) and not (name == owner or name.startswith(owner + "."))]
    assert offenders == []


def test_library_never_prints():
    offenders = []
    for name, tree in modules():
        if name.startswith("cli"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offenders.append(f"{name}:{node.lineno} print()")
            if isinstance(node, ast.Attribute) and node.attr in {"stdout", "stderr"} and \
                    isinstance(node.value, ast.Name) and node.value.id == "sys":
                offenders.append(f"{name}:{node.lineno} sys.{node.attr}")
    assert offenders == []


def test_help_imports_no_heavy_library():
    code = (
        "import sys\n"
        "from kubectl_gitops.cli import main\n"
        "try:\n    main.main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {HEAVY!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_ruff_clean(repo_root):
    out = subprocess.run([BIN / "ruff", "check", "plugins", "tests", "bench"], capture_output=True, text=True,
                         cwd=repo_root, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
