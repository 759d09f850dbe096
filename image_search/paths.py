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
