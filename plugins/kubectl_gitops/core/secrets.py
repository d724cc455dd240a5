"""A string that does not show itself: API tokens, registry credentials, cluster tokens.

``str()``, ``repr()``, f-strings and ``%`` formatting of a :class:`Secret` give ``********``;
only :meth:`Secret.reveal` returns the value, so a secret reaches a file, a header or a
Kubernetes Secret only where code asks for it by name. It is deliberately not a ``str``
subclass: concatenation, ``json.dumps`` and ``in`` tests fail loudly instead of leaking.
"""

from __future__ import annotations

import hmac

REDACTED = "********"


class Secret:
    """Holds one secret string; every rendering of it is redacted."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError("a Secret holds a str")
        self._value = value

    def reveal(self) -> str:
        """The secret value itself: use it only where it belongs (a header, a file mode 0600)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return format(REDACTED, spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return hmac.compare_digest(self._value.encode(), other._value.encode())
        return NotImplemented

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self):
        raise TypeError("a Secret is not pickled")

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the value replaced by ``********``."""
        return text.replace(self._value, REDACTED) if self._value else text
