#!/usr/bin/env python3
"""kubectl-gitops as unpacked from a release archive (krew, or any directory).

The archive holds this launcher next to ``lib/``: ``lib/any`` has the pure-Python
packages (and abi3 wheels), ``lib/cp3XX`` the compiled ones for each supported
CPython. The launcher follows its own symlink (krew links ``~/.krew/bin/kubectl-gitops``
to it), picks the directory for the running Python, and starts the command its
name asks for: ``kubectl-gitops`` and ``argocd-gitops`` run the CLI,
``kubectl_complete-gitops`` answers kubectl's shell completion. On Windows the same
file is the ``__main__.py`` inside ``kubectl-gitops.exe``.

Kept to syntax that old Python 3 versions can parse, so that they print the one
line below instead of a SyntaxError.
"""

import os
import sys

SUPPORTED = ("3.11", "3.12", "3.13", "3.14")


def _root():
    here = os.path.realpath(sys.argv[0] if sys.argv[0] else __file__)
    return here if os.path.isdir(here) else os.path.dirname(here)


def _paths(root):
    version = "%d.%d" % sys.version_info[:2]  # noqa: UP031 (no f-strings before 3.6)
    compiled = os.path.join(root, "lib", "cp%d%d" % sys.version_info[:2])  # noqa: UP031
    if version not in SUPPORTED or not os.path.isdir(compiled):
        message = "error: kubectl-gitops needs Python %s to %s as python3 on PATH; found %s at %s\n"
        sys.stderr.write(message % (SUPPORTED[0], SUPPORTED[-1], version, sys.executable))  # noqa: UP031
        sys.exit(1)
    return [compiled, os.path.join(root, "lib", "any")]


def main():
    root = _root()
    paths = _paths(root)
    # Only the archive's own packages: drop the script's directory, user site-packages and PYTHONPATH.
    sys.path[:] = paths + [p for p in sys.path[1:] if p and "-packages" not in p
                           and p not in os.environ.get("PYTHONPATH", "").split(os.pathsep)]
    name = os.path.basename(sys.argv[0]).lower()
    if name.endswith(".exe"):
        name = name[:-4]
    from kubectl_gitops.cli import main as cli

    if name.startswith("kubectl_complete-"):
        cli.main_complete()
    else:
        cli.main()


if __name__ == "__main__":
    main()
