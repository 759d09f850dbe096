"""Where the package keeps its data, and path checks shared by the indexer and the file routes."""

from __future__ import annotations

import os
from pathlib import Path

# Data shipped inside the package: ImageNet class texts, class matrices, int8 activation ranges.
PACKAGE_DATA = Path(__file__).resolve().parent / "data"


def is_within_root(path: str, root: str) -> bool:
    """Whether the file really lies under its indexed folder (a symlink may point elsewhere)."""
    real_root = os.path.realpath(root)
    return os.path.commonpath([os.path.realpath(path), real_root]) == real_root


def is_text(name: str) -> bool:
    """Whether a file name from the OS is valid UTF-8: Python hands over other bytes as lone surrogates
    (surrogateescape), which no store, page or JSON answer can hold."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable_path(path: str) -> str:
    """The path as text that can always be shown or saved: bytes that are not UTF-8 as \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
