"""The split of the Tux Paint stamps that the multilingual class names were tuned on, and the one held out.

The stamps' sub-category folders (top/sub, e.g. animals/birds, symbols/alphabets; a stamp directly in a top
folder is a group of its own), sorted by name: every other one from the first is the tuning split (485 images),
the rest held out (300). Queries come from one split; they rank all 785 images.
"""

from pathlib import Path


def groups(folder: Path, paths: list[Path]) -> list[str]:
    return ["/".join(p.relative_to(folder).parts[:2]) for p in paths]


def in_split(folder: Path, paths: list[Path], split: str) -> list[bool]:
    """Per path, whether it belongs to `split` ("tune" or "held")."""
    names = groups(folder, paths)
    tuning = set(sorted(set(names))[0::2])
    return [(name in tuning) == (split == "tune") for name in names]
