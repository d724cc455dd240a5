"""Writing files safely: atomically, with a chosen mode, never over a file by accident."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import GitopsError, UsageError


def write_atomic(path: Path, text: str, *, mode: int = 0o644, overwrite: bool = False) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory.

    Readers see the old file or the whole new one, never half of it. With
    ``overwrite=False`` an existing file is left alone (checked atomically by linking).

    Raises:
        UsageError: the file exists and ``overwrite`` is false.
        GitopsError: the directory is not writable.
    """
    directory = path.parent if str(path.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise GitopsError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise UsageError(f"{path} already exists", hint="pass --force to overwrite it") from None
    except OSError as exc:
        raise GitopsError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
