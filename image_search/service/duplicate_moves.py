"""Acting on near-duplicates without ever deleting a file: choose the one to keep in each group, export the
others' paths, or move them into a folder of the user's choosing (`flask duplicates --move-to DIR`).

Each group keeps at least one image, whatever is asked. A file is moved only while it is still the file
that was indexed (same size and modification time), never over an existing file, and into a folder
outside the indexed ones (else the next `flask index` would find the copies again).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import gettext

from image_search.errors import QueryError, UserError
from image_search.paths import is_within_root
from image_search.service.duplicates import DuplicateGroup
from image_search.stores import ImageRecord


@dataclass
class MoveReport:
    moved: list[tuple[ImageRecord, Path]] = field(default_factory=list)  # (record, where it went)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)


def others_than_kept(groups: list[DuplicateGroup], keep: Mapping[str, str]) -> list[ImageRecord]:
    """All but the kept image of each group: `keep` maps a group's key to the id chosen, else the group's
    suggested keeper stays. A choice naming no image of its group is refused (the groups changed since the
    page was drawn, or the link was edited)."""
    by_key = {g.key: g for g in groups}
    for key, image_id in keep.items():
        if key not in by_key or image_id not in {r.id for r in by_key[key].records}:
            raise QueryError(
                gettext(
                    "A choice names an image that is not in that group (the groups may have changed): reload the page."
                )
            )
    leaving = []
    for g in groups:
        kept = keep.get(g.key, g.suggested_keeper.id)
        leaving += [r for r in g.records if r.id != kept]
    return leaving


def listed(groups: list[DuplicateGroup], paths: Iterable[str]) -> list[ImageRecord]:
    """The grouped images at `paths` (an export from the page), refusing paths in no group and a list
    that would leave a group with no image."""
    wanted = {p.strip() for p in paths if p.strip()}
    chosen = [r for g in groups for r in g.records if r.path in wanted]
    unknown = wanted - {r.path for r in chosen}
    if unknown:
        raise UserError(f"{len(unknown)} listed path(s) are in no near-duplicate group, e.g. {min(unknown)!r}.")
    emptied = [g for g in groups if all(r.path in wanted for r in g.records)]
    if emptied:
        raise UserError(f"The list would move every image of a group, e.g. {emptied[0].records[0].path!r}: keep one.")
    return chosen


def check_destination(dest: Path, roots: Iterable[str]) -> Path:
    dest = Path(dest).expanduser().absolute()
    for root in roots:
        if is_within_root(str(dest), root):
            raise UserError(f"{dest} is inside the indexed folder {root}: move duplicates outside the collection.")
    if dest.exists() and not dest.is_dir():
        raise UserError(f"{dest} exists and is not a folder.")
    return dest


def move(records: list[ImageRecord], dest: Path) -> MoveReport:
    """Each file to DEST/<its indexed folder's name>/<its path below that folder>, keeping the tree."""
    report = MoveReport()
    for record in records:
        source = Path(record.path)
        target = dest / Path(record.root).name / source.relative_to(record.root)
        try:
            st = os.stat(source, follow_symlinks=False)
            if st.st_size != record.size or st.st_mtime_ns != record.mtime_ns:
                report.skipped.append((record.path, "changed since it was indexed; run flask index first"))
                continue
            if os.path.lexists(target):
                report.skipped.append((record.path, f"{target} already exists"))
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, target)
        except FileNotFoundError:
            report.skipped.append((record.path, "no longer there"))
        except OSError as exc:
            report.skipped.append((record.path, exc.strerror or str(exc)))
        else:
            report.moved.append((record, target))
    return report
