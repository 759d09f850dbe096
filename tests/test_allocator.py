"""The indexer keeps glibc from handing large decode buffers back to the kernel (image_search/allocator.py): decoding
one more large progressive JPEG reuses the memory the last one freed instead of faulting it in again."""

import io
import resource
import sys

import numpy as np
import pytest
from PIL import Image, ImageFile

from image_search.allocator import keep_large_blocks
from image_search.images import decode


def large_progressive_jpeg() -> bytes:
    """3200 x 2400, no chroma subsampling: libjpeg-turbo holds about 15 MB of coefficients per component."""
    rng = np.random.default_rng(3)
    small = Image.fromarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8))
    out = io.BytesIO()
    previous, ImageFile.MAXBLOCK = ImageFile.MAXBLOCK, 1 << 26
    try:
        small.resize((3200, 2400), Image.Resampling.BICUBIC).save(out, "JPEG", progressive=True, subsampling=0)
    finally:
        ImageFile.MAXBLOCK = previous
    return out.getvalue()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_second_large_decode_reuses_the_memory_of_the_first():
    assert keep_large_blocks()
    data = large_progressive_jpeg()
    decode(data)  # the heap grows to hold one decode's buffers, and keeps them
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    decode(data)
    faulted = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    full_decode_pages = 3 * 3200 * 2400 * 2 // 4096  # 3 components' coefficients (2 bytes each) in 4 KiB pages
    assert faulted < full_decode_pages // 4, f"{faulted} pages faulted in again"
