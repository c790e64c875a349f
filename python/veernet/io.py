"""Atomic output: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once: umask is process-wide, and setting it to read it must not race with threads
# that create files while a write is under way.
_UMASK = _read_umask()


class OutputError(OSError):
    """An output that could not be written; nothing partial is left behind."""


@contextmanager
def atomic_writer(path: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success it replaces ``path`` atomically.

    Any failure (a full disk included) removes the temporary file and raises
    :class:`OutputError` naming ``path``; an existing ``path`` is left untouched.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write here ({exc.strerror or exc})") from None
    try:
        # mkstemp creates the file private (0600); give it the permissions a plain
        # open() would have.
        os.chmod(tmp, 0o666 & ~_UMASK)
        fh: IO[Any] = (
            os.fdopen(fd, "wb")
            if "b" in mode
            else os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        )
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(
            f"{path}: could not be written ({exc.strerror or exc}); nothing was left behind"
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_writer(path) as fh:
        fh.write(text)
