"""Path checks shared by the indexer and the file routes."""
from __future__ import annotations

import os


def is_within_root(path: str, root: str) -> bool:
    """Whether the file really lies under its indexed folder (a symlink may point elsewhere)."""
    real_root = os.path.realpath(root)
    return os.path.commonpath([os.path.realpath(path), real_root]) == real_root
