"""Shell completion for kubectl (>= 1.26): ``kubectl_complete-gitops``.

kubectl completes ``kubectl gitops <TAB>`` by running ``kubectl_complete-gitops`` with the
words typed after ``gitops`` (the last one being the word under completion) and expects
cobra's answer: one ``value<TAB>description`` line per candidate, then ``:<directive>``.
Candidates come from click's own completion of the command tree.
"""

from __future__ import annotations

from collections.abc import Sequence

import click
from click.shell_completion import ShellComplete

# cobra's ShellCompDirective values
_DEFAULT = 0  # the shell may also complete file names
_NO_FILE = 4


def answer(command: click.Command, words: Sequence[str]) -> list[str]:
    """Cobra-format completion lines for ``words`` (the last is being completed)."""
    args, incomplete = list(words[:-1]), (words[-1] if words else "")
    completion = ShellComplete(command, {}, "kubectl gitops", "_KUBECTL_GITOPS_COMPLETE")
    items = completion.get_completions(args, incomplete)
    lines = [f"{item.value}\t{item.help}" if item.help else str(item.value)
             for item in items if item.type == "plain"]
    wants_files = any(item.type in ("file", "dir") for item in items)
    lines.append(f":{_DEFAULT if wants_files else _NO_FILE}")
    return lines
