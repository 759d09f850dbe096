"""Issue #16 items 2 and 3: the indexing pipeline against the model alone and against the reference design's loop.

Camera photos from Debian packages (bench/fetch_camera_photos.sh: 70 JPEGs, each three times), CLIP ViT-B/32 with
random weights of the real sizes (speed doesn't depend on the weights), 2 threads. Measured in one run, the four
taking turns round by round so the shared machine's noise hits them alike:
  model only  -- this process: the runtime `RUNTIME=auto` picks (OpenVINO bf16 where it passes), the photos
                 decoded and made into model input beforehand; only the model's calls timed
  pipeline    -- this process, the same embedder: run_plan (decode, resize, model, store writes) into a new store
  flask index -- `flask index --rebuild PHOTOS`, the whole process timed (start, model load, run, exit)
  reference   -- the reference design's own loop, the whole process timed: sentence-transformers (torch) loads
                 the image model, then `Image.open(path)` and `model.encode(image)` per file
Images/s by wall clock and per CPU-second (user + system of this process or of the reaped child: the machine is
shared, so wall includes waiting for a core). Ratios are paired per round, medians printed.

    bench/fetch_camera_photos.sh /tmp/camera-photos
    python bench/bench_pipeline.py [--photos /tmp/camera-photos] [--rounds 3] [--workdir /tmp/bench_pipeline]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
THREADS = 2
for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[variable] = str(THREADS)
os.environ["HF_HUB_OFFLINE"] = "1"

from PIL import Image  # noqa: E402

from image_search.allocator import keep_large_blocks  # noqa: E402
from image_search.embedders.clip.embedder import ClipEmbedder  # noqa: E402
from image_search.images import decode  # noqa: E402
from image_search.indexing.plan import plan_run  # noqa: E402
from image_search.indexing.run import run_plan, shrink  # noqa: E402
from image_search.stores.embedded.store import EmbeddedStore  # noqa: E402
from image_search.threads import limit_threads  # noqa: E402

REFERENCE_LOOP = """
import sys, torch
from pathlib import Path
from PIL import Image
from sentence_transformers import SentenceTransformer
torch.set_num_threads(int(sys.argv[2]))
model = SentenceTransformer(sys.argv[1], device="cpu")
vectors = [model.encode(Image.open(path)) for path in sorted(Path(sys.argv[3]).glob("*.jpg"))]
print(len(vectors), "images")
"""


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_process(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall s, CPU s, output) of one whole process."""
    started, cpu = time.perf_counter(), children_cpu()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:5])} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return wall, cpu, done.stdout


def timed(call) -> tuple[float, float]:
    """(wall s, CPU s of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def model_input(embedder: ClipEmbedder, paths: list[Path], batch: int) -> tuple[list[list], float, float]:
    """The photos as the model takes them, in batches (decoded at the model's size, shrunk and prepared as the
    pipeline's decode threads do), with the CPU seconds that took on this thread, and those of Pillow's own draft
    decode of the whole files (what decode() cost before jpeg_scans.py)."""
    started = time.thread_time()
    size = embedder.input_size or 224
    prepared = [embedder.prepare_image(shrink(decode(str(p), size).image, size)) for p in paths]
    cpu = time.thread_time() - started
    started = time.thread_time()
    for path in paths:
        with Image.open(path) as image:
            image.draft("RGB", (size, size))
            image.convert("RGB")
    whole_files = time.thread_time() - started
    return [prepared[start : start + batch] for start in range(0, len(prepared), batch)], cpu, whole_files


def pipeline(embedder: ClipEmbedder, photos: Path, batch: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-store-") as folder:
        store = EmbeddedStore(Path(folder))
        report = run_plan(store, embedder, plan_run(store, [photos]), batch_size=batch, workers=THREADS)
        store.close()
    if report.skipped or not report.embedded:
        raise SystemExit(f"run_plan skipped {report.skipped[:3]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=Path("/tmp/camera-photos"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32, help="BATCH_SIZE (the app's default)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_pipeline"))
    parser.add_argument("--skip", nargs="*", default=[], choices=["reference"], help="leave these out")
    args = parser.parse_args()
    paths = sorted(args.photos.glob("*.jpg"))
    if not paths:
        raise SystemExit(f"no photos in {args.photos}: run bench/fetch_camera_photos.sh {args.photos}")
    sizes = [Image.open(path).size for path in paths]
    megapixels = sorted(w * h / 1e6 for w, h in sizes)
    print(
        f"{len(paths)} JPEGs in {args.photos}: median {statistics.median(megapixels):.1f} MP, up to "
        f"{megapixels[-1]:.1f} MP, {sum(p.stat().st_size for p in paths) / 1e6:.0f} MB; {THREADS} threads"
    )
    from tests.doubles.tiny_clip import REAL_SIZES, build_random_clip

    image_model, text_model = args.workdir / "vit-b-32-image", args.workdir / "vit-b-32-text"
    if not (image_model.exists() and text_model.exists()):
        build_random_clip(args.workdir, REAL_SIZES, prefix="vit-b-32")
    data = args.workdir / "data"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "IMAGE_SEARCH_DATA_DIR": str(data),
        "IMAGE_SEARCH_MODEL": "clip",
        "IMAGE_SEARCH_CLIP_IMAGE_MODEL": str(image_model),
        "IMAGE_SEARCH_CLIP_TEXT_MODEL": str(text_model),
        "IMAGE_SEARCH_RUNTIME": "auto",
        "IMAGE_SEARCH_INDEX_THREADS": str(THREADS),
        "IMAGE_SEARCH_BATCH_SIZE": str(args.batch),
    }
    flask_index = [sys.executable, "-m", "flask", "--app", "image_search", "index", "--rebuild", str(args.photos)]
    reference = [sys.executable, "-c", REFERENCE_LOOP, str(image_model), str(THREADS), str(args.photos)]
    for leftover in data.glob("*"):  # a store from an earlier run goes; the exported towers (models/) are kept
        if leftover.name != "models":
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    wall, cpu, _ = run_process(flask_index, env)  # the first: exports, compiles and measures RUNTIME=auto if new
    print(f"first flask index (exports and the runtime choice, unless kept): {wall:.1f} s wall, {cpu:.1f} s CPU")

    limit_threads(THREADS)
    embedder = ClipEmbedder(
        str(image_model), str(text_model), runtime="auto", cache_dir=data / "models", threads=THREADS,
        local_files_only=True, batch_size=args.batch,
    )  # fmt: skip
    print(f"runtime: {embedder.runtime_description}")
    keep_large_blocks()  # as run_plan does, so the decode figure below is the indexer's
    batches, decode_cpu, whole_files_cpu = model_input(embedder, paths, args.batch)
    embedder.embed_prepared(batches[0])  # warm

    def model_only() -> None:
        for batch in batches:
            embedder.embed_prepared(batch)

    measured: dict[str, list[tuple[float, float]]] = {"model only": [], "pipeline": [], "flask index": []}
    if "reference" not in args.skip:
        measured["reference"] = []
    for round_number in range(args.rounds):
        for name in measured:
            if name == "model only":
                result = timed(model_only)
            elif name == "pipeline":
                result = timed(lambda: pipeline(embedder, args.photos, args.batch))
            else:
                result = run_process(flask_index if name == "flask index" else reference, env)[:2]
            measured[name].append(result)
            wall, cpu = result
            print(
                f"round {round_number + 1} {name:<12} {len(paths) / wall:6.2f} images/s wall "
                f"{len(paths) / cpu:6.2f} per CPU-s ({wall:.1f} s wall, {cpu:.1f} s CPU)   "
                f"load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )

    def ratio(name: str, base: str, column: int) -> str:
        paired = [b[column] / a[column] for a, b in zip(measured[name], measured[base], strict=True)]
        return f"{statistics.median(paired):.2f} ({' '.join(f'{x:.2f}' for x in paired)})"

    print(f"\nmedians of {args.rounds} rounds, {len(paths)} images:")
    print("| what | images/s wall | images per CPU-second | wall s | CPU s |")
    print("|---|---|---|---|---|")
    for name, results in measured.items():
        wall, cpu = statistics.median(w for w, _ in results), statistics.median(c for _, c in results)
        print(f"| {name} | {len(paths) / wall:.1f} | {len(paths) / cpu:.1f} | {wall:.1f} | {cpu:.1f} |")
    model_cpu = statistics.median(c for _, c in measured["model only"]) / len(paths)
    print(
        f"\nCPU per image: model {model_cpu * 1000:.1f} ms (2 threads); decode, shrink and prepare "
        f"{decode_cpu / len(paths) * 1000:.1f} ms (one thread; Pillow's draft decode of the whole files alone "
        f"{whole_files_cpu / len(paths) * 1000:.1f} ms). On 2 cores both compete: the pipeline's bound is "
        f"model / (model + decode) = {model_cpu / (model_cpu + decode_cpu / len(paths)):.2f} of the model-only rate"
    )
    print("\npaired ratios (median, then each round), wall / per CPU-second:")
    pairs = [("pipeline", "model only", " (goal >= 0.9)"), ("flask index", "model only", "")]
    if "reference" in measured:
        pairs.append(("flask index", "reference", " (goal >= 5)"))
    for name, base, goal in pairs:
        print(f"{name} vs {base}{goal}: {ratio(name, base, 0)} / {ratio(name, base, 1)}")


if __name__ == "__main__":
    main()
