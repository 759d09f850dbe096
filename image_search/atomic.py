"""The one way files are written: whole or not at all, so a reader (another process, the next start) never
sees half a file and a crash never leaves one."""

from __future__ import annotations

import glob
import os
import secrets
from collections.abc import Callable
from pathlib import Path


def atomic_write(
    path: Path, write: Callable[[str], object], *, mode: int = 0o666, durable: bool = False, replace: bool = True
) -> bool:
    """write(tmp_path) to a temporary file beside `path`, then move it into place.

    mode: permission bits of a new file, less the umask, as for open(); 0o600 keeps a secret owner-only
    from its first byte. durable: fsync the file and its folder, so the new file survives a power cut,
    not only a crash. replace=False: only create `path`, never overwrite it (hard link), so of two
    processes writing at once the first one wins and both then read the same file.

    Returns whether `path` now holds what `write` wrote: always, unless replace=False found a file there.
    A temporary file is left behind only when the process dies midway (see `leftovers`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temp(path, mode)
    try:
        write(tmp)
        if durable:
            _fsync(tmp)
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        if durable:
            _fsync(path.parent)  # the rename itself is only durable once the folder is
        return True
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def temp_pattern(path: Path) -> str:
    """Glob (in path's folder) of atomic_write's temporary files for `path`: <name>.<random>.tmp<suffix>.
    The suffix stays last because some writers (ONNX, numpy) go by a file's extension."""
    path = Path(path)
    return f"{glob.escape(path.name)}.*.tmp{glob.escape(path.suffix)}"


def leftovers(path: Path) -> list[Path]:
    """Temporary files of `path` left by a process killed mid-write. Only safe to delete while holding
    whatever lock serialises writers of `path`: otherwise one may be another writer's file in progress."""
    path = Path(path)
    return sorted(path.parent.glob(temp_pattern(path)))


def _new_temp(path: Path, mode: int) -> str:
    # os.open with O_EXCL rather than mkstemp: mkstemp always creates 0600, and widening that to
    # "mode less the umask" would mean reading the umask, which is process-wide and not thread-safe.
    for _ in range(100):
        tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp{path.suffix}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
        except FileExistsError:
            continue
        return str(tmp)
    raise FileExistsError(f"no free temporary name beside {path}")


def _fsync(path: Path | str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        if not os.path.isdir(path):  # some file systems cannot fsync a folder; a file must be synced
            raise
    finally:
        os.close(fd)
