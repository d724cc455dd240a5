"""Where the files shipped with the tool live: the chart, the schemas, the examples.

An installed wheel carries them under ``kubectl_gitops/_data/``; a source checkout
(editable install, tests) has them at the repository root.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


@cache
def data_path(name: str) -> Path:
    """Return the directory ``name`` (``charts``, ``schemas`` or ``examples``).

    Raises:
        FileNotFoundError: the installation is incomplete.
    """
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"kubectl-gitops is missing its {name}/ directory; reinstall the package")


def chart_dir() -> Path:
    """The umbrella chart's directory."""
    return data_path("charts") / "gitops-platform"


def schemas_dir() -> Path:
    """The directory holding the config schema and the CRD schemas."""
    return data_path("schemas")
