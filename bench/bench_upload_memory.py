"""Peak memory of N concurrent query-image decodes of a small file with a huge pixel count.

Crafts an 8-bit RGB PNG of zeros (10000 x 8800 = 88 megapixels in about 260 KB, the size of the
issue's upload) and one just under the default MAX_QUERY_PIXELS, then runs each case in a fresh
process: N threads decode the same bytes at once, through the upload path's own function
(image_search.inference.vectors.query_image) unless the case says otherwise. Prints, per case,
the process's RSS before, its peak (getrusage), the peak minus before, the RSS after the threads
finished, and what the decodes answered.

    python bench/bench_upload_memory.py [--threads 4] [--dir /work/scratch/h-pixels]

Cases, side by side in one run:
- before: the decode as it was before the budget (full decode, EXIF transpose and RGB copies);
- no budget: today's decode with MAX_QUERY_PIXELS raised to 10^12 (band-wise reduction only);
- default budget: today's decode at the default MAX_QUERY_PIXELS (the 88 MP file is refused);
- at the limit: a PNG just under the default budget, decoded (the most one query may cost).
"""

from __future__ import annotations

import argparse
import json
import resource
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from image_search.settings import Settings

DEFAULT_BUDGET = Settings().max_query_pixels
ROW_CHUNK = 64  # rows handed to zlib at a time while crafting


def crafted_png(path: Path, width: int, height: int) -> Path:
    """An RGB PNG of zeros, compressed as it is written: no image is ever held in memory."""
    if path.exists():
        return path
    squeeze = zlib.compressobj(9)
    row = b"\x00" + bytes(width * 3)
    idat = bytearray()
    for top in range(0, height, ROW_CHUNK):
        idat += squeeze.compress(row * min(ROW_CHUNK, height - top))
    idat += squeeze.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", bytes(idat)) + chunk(b"IEND", b""))
    return path


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def decode_before(data: bytes) -> object:
    """The query decode before the budget (image_search/images.py at 4ca265b), for the side-by-side."""
    import io

    from PIL import Image, ImageOps

    from image_search.images import to_rgb

    with Image.open(io.BytesIO(data)) as img:
        img.seek(0)
        img.load()
        return to_rgb(ImageOps.exif_transpose(img))


def child(path: Path, threads: int, budget: int | None) -> None:
    """One case: `threads` decodes of the file at once; prints a JSON line of figures."""
    from image_search.errors import UserError
    from image_search.inference.vectors import query_image

    data = path.read_bytes()
    before = rss_mb()
    answers: list[str] = []

    def one() -> None:
        try:
            image = decode_before(data) if budget is None else query_image(data, 224, budget)
            answers.append(f"decoded to {image.size[0]}x{image.size[1]}")  # type: ignore[attr-defined]
        except UserError as exc:
            answers.append(f"refused: {exc}")

    started = time.perf_counter()
    workers = [threading.Thread(target=one) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    print(json.dumps({"before": before, "peak": peak, "after": rss_mb(), "seconds": seconds, "answers": answers}))


def run_case(path: Path, threads: int, budget: int | None) -> dict:
    command = [sys.executable, __file__, "--child", str(path), "--threads", str(threads)]
    command += ["--budget", str(budget)] if budget is not None else []
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=4, help="concurrent decodes (request threads)")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench-upload-memory"), help="where the PNGs go")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.threads, args.budget)
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    huge = crafted_png(args.dir / "huge-88mp.png", 10_000, 8_800)
    side = int(DEFAULT_BUDGET**0.5) - 1
    limit = crafted_png(args.dir / f"limit-{side}.png", side, side)
    cases = [
        ("before (no budget, old decode)", huge, None),
        ("no budget (MAX_QUERY_PIXELS=10^12)", huge, 10**12),
        (f"default budget ({DEFAULT_BUDGET / 1e6:g} MP)", huge, DEFAULT_BUDGET),
        (f"at the limit ({side}x{side} PNG)", limit, DEFAULT_BUDGET),
    ]
    print(f"{args.threads} concurrent decodes; files: {huge.name} {huge.stat().st_size / 1024:.0f} KB, ", end="")
    print(f"{limit.name} {limit.stat().st_size / 1024:.0f} KB")
    print(f"{'case':40} {'RSS before':>11} {'peak':>9} {'peak-before':>12} {'after':>9} {'seconds':>8}  answer")
    for name, path, budget in cases:
        r = run_case(path, args.threads, budget)
        figures = f"{r['before']:8.0f} MB {r['peak']:6.0f} MB {r['peak'] - r['before']:9.0f} MB {r['after']:6.0f} MB"
        print(f"{name:40} {figures} {r['seconds']:8.2f}  {r['answers'][0][:90]}")


if __name__ == "__main__":
    main()
