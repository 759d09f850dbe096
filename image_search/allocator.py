"""glibc's allocator told to keep large freed blocks for reuse, in the indexer, so decodes don't fault memory in anew.

libjpeg-turbo holds a progressive JPEG's coefficients for the whole image while it decodes it (30 MB per component of
a 15 MP photo, even at 1/8 scale) and frees them after each file. By default glibc hands blocks that large back to the
kernel (mmap above a threshold that only grows when such a block is freed, and the heap's top trimmed above twice
that), so the next large file page-faults the same memory in again: on the camera photos that was about half of a
large progressive JPEG's decode, as system time (bench/bench_decode_steps.py, with and without GLIBC_TUNABLES).
Elsewhere (no glibc) this does nothing.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
MMAP_THRESHOLD = 32 << 20  # the largest glibc accepts on 64-bit: blocks up to it come from the heap
TRIM_THRESHOLD = 256 << 20  # free memory a heap keeps at its top: a few large decodes' worth


def keep_large_blocks() -> bool:
    """Set glibc's mmap and trim thresholds for this process; whether it took them (False without glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
