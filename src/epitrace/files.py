"""Files and folders readable by their owner only (issue 10).

Every file epitrace writes that can hold personal data (the database and its -wal and -shm files, a
lab file's ``FILE.errors.csv``, exposures and presences, the report, the demo's folder) and the feed's
signing key is created through this module: files ``0600``, folders ``0700``, whatever the umask.
The mode is given when the file is created (``os.open``), never set after the data is in it, so no
other account can open it in between; a file that already exists is narrowed to ``0600`` before it
is written again. A folder that already exists is left as it is: it is the user's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: str | os.PathLike[str]) -> Path:
    """``path`` as a folder, created ``0700`` unless it exists already (missing parents are created
    with the umask's mode)."""
    folder = Path(path)
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(PRIVATE_DIR)  # mkdir's mode is narrowed by the umask, and parents=True ignores it
    return folder


def create_private(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` empty and ``0600`` if it does not exist (for writers that open the file by name,
    such as SQLite, which then gives its -wal and -shm files the same mode); an existing file is
    narrowed to ``0600`` and keeps its content."""
    open_private(path, "ab").close()
    return Path(path)


def open_private(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> IO[Any]:
    """``open(path, mode, **kwargs)`` for writing (``"w"``, ``"wb"``, ``"a"``, ``"ab"``), the file
    created ``0600`` (or narrowed to it) before anything is written."""
    if mode.replace("b", "") not in ("w", "a"):
        raise ValueError(f"open_private writes files; mode {mode!r} is not one of w, wb, a, ab")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def write_private_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> None:
    """``Path(path).write_text(text)``, the file ``0600``."""
    with open_private(path, "w", encoding=encoding) as handle:
        handle.write(text)


def write_private_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """``Path(path).write_bytes(data)``, the file ``0600``."""
    with open_private(path, "wb") as handle:
        handle.write(data)
