"""Printing: data to stdout, progress and errors to stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..core import progress
from .options import Settings

_COLORS = {
    progress.SUCCESS: "green",
    progress.CREATE: "green",
    progress.WARNING: "yellow",
    progress.FAILURE: "red",
    progress.ACTION: "blue",
    progress.WAITING: "cyan",
    progress.INFO: None,
}


def reporter(s: Settings) -> progress.Reporter:
    """A reporter writing ``<symbol> <message>`` lines to stderr."""

    def emit(symbol: str, message: str) -> None:
        if s.quiet and symbol != progress.FAILURE:
            return
        mark = click.style(symbol, fg=_COLORS.get(symbol)) if s.color and _COLORS.get(symbol) else symbol
        click.echo(f"{mark} {message}", err=True)

    return progress.Reporter(emit=emit, verbose=s.verbose > 0)


def emit_data(data: Any, fmt: str) -> None:
    """Print structured data as json or yaml on stdout."""
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=False))
    else:
        import yaml

        click.echo(yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip("\n"))


def error(message: str, *, color: bool = True) -> None:
    prefix = click.style("error:", fg="red", bold=True) if color and sys.stderr.isatty() else "error:"
    click.echo(f"{prefix} {message}", err=True)


def columns(rows: list[tuple[str, ...]]) -> None:
    """Print rows (the first is the header) as aligned columns on stdout."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
