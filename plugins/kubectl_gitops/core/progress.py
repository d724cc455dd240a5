"""Progress reporting with one small vocabulary, injected into the library.

The library never prints: workflows call a :class:`Reporter`, and the CLI decides
where the lines go (stderr) and how they look (symbols, colour, quiet).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ACTION, CREATE, WAITING, SUCCESS, WARNING, FAILURE, INFO = "►", "✚", "◎", "✔", "⚠", "✗", "•"


@dataclass
class Reporter:
    """Sends progress lines to ``emit(symbol, message)``; the default drops them."""

    emit: Callable[[str, str], None] = lambda symbol, message: None
    verbose: bool = False

    def action(self, message: str) -> None:
        self.emit(ACTION, message)

    def created(self, message: str) -> None:
        self.emit(CREATE, message)

    def waiting(self, message: str) -> None:
        self.emit(WAITING, message)

    def success(self, message: str) -> None:
        self.emit(SUCCESS, message)

    def warning(self, message: str) -> None:
        self.emit(WARNING, message)

    def failure(self, message: str) -> None:
        self.emit(FAILURE, message)

    def detail(self, message: str) -> None:
        """A line shown only with --verbose."""
        if self.verbose:
            self.emit(INFO, message)
