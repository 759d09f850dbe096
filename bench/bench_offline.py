"""Speed of the offline embedder: image encoding (images/s at batch 32) and text query latency.

Run: python bench/bench_offline.py [--threads N] [--cache DIR] [--float]   (prints figures for the int8
image net the app runs, or the float one; goals: >= 100 images/s on 2 cores, <= 15 ms a text query).
Then the image net's runtimes side by side, round by round (ONNX Runtime int8 and f32, OpenVINO f32 and bf16,
bf16 with its self-check verdict: measured even when it fails, never used then), network only, batch 32.
"""

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

from image_search.embedders.offline import bridge
from image_search.embedders.offline.embedder import OfflineEmbedder
from image_search.embedders.offline.image_net import ImageNet, bf16_self_check, preprocess
from image_search.embedders.offline.text import segment
from image_search.embedders.offline.text.pivot import LEXICON_FILE, Lexicon, is_cjk

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--float", action="store_true", help="the float image net instead of the int8 one")
parser.add_argument("--cache", type=Path, default=Path("instance/models"))
parser.add_argument("--rounds", type=int, default=5)
args = parser.parse_args()

emb = OfflineEmbedder(args.cache, threads=args.threads, int8=not args.float)
rng = np.random.default_rng(0)
# photo-sized inputs as the core's loader hands them over (JPEG draft mode keeps them around this size)
images = [Image.fromarray(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)) for _ in range(32)]
emb.embed_images(images[:2])  # load / export the net


def best_rate(fn):
    """(best, median) images/s by wall clock, and images per CPU-second (less sensitive to other
    processes on a shared machine: with N free cores, wall-clock speed approaches N x that if parallel)."""
    times, cpu = [], 0.0
    for _ in range(args.rounds):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t)
        cpu += time.process_time() - c
    return 32 / min(times), 32 / statistics.median(times), 32 * args.rounds / cpu


pre = best_rate(lambda: [preprocess(im) for im in images])
x = np.stack([preprocess(im) for im in images])
net = best_rate(lambda: emb.images.session().run(None, {"image": x}))
full = best_rate(lambda: emb.embed_images(images))
print(f"{emb.images.loaded}, threads={args.threads}, batch=32  (best / median of {args.rounds} rounds)")
for name, r in (("preprocessing only", pre), ("network only", net), ("embed_images total", full)):
    print(f"  {name:<20} {r[0]:7.1f} / {r[1]:7.1f} images/s   ({r[2]:.1f} images per CPU-second)")

# opening the word splitters (fugashi: MeCab with its dictionary memory-mapped) on first use
for lang in ("ko", "ja"):
    t, c = time.perf_counter(), time.process_time()
    opened = segment.segmenter(lang)
    print(
        f"  {lang} word splitter opened: {1000 * (time.perf_counter() - t):.1f} ms wall, "
        f"{1000 * (time.process_time() - c):.1f} ms CPU" + ("" if opened else " (not installed)")
    )

queries = [
    "a mountain covered in snow",
    "ein schneebedeckter Berg",
    "une montagne couverte de neige",
    "눈 덮인 산",
    "雪に覆われた山",
    "a red bicycle",
    "a cat sleeping on a sofa",
    "fireworks over the city",
    "a cup of coffee",
]
emb.embed_texts(queries[:1])  # load the text model and the class matrix


def text_latency() -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of each first-seen query, 6 rounds over the queries."""
    lat, cpu = [], []
    for _ in range(6):
        for q in queries:
            emb.forget_texts()  # time a query seen for the first time, not the remembered one
            t, c = time.perf_counter(), time.process_time()
            emb.embed_texts([q])
            lat.append(1000 * (time.perf_counter() - t))
            cpu.append(1000 * (time.process_time() - c))
    return lat, cpu


lat, cpu = text_latency()
# side by side: the same queries without the foreign class names and the pivot (README, Offline model)
lexicon, languages = emb.lexicon, emb.text._languages
emb.lexicon, emb.text._languages = None, []
plain_lat, plain_cpu = text_latency()
# and without the dictionaries' Korean and Japanese names and words only (CLDR's alone, as before them)
cldr_sets = [i for i, name in enumerate(emb.text.foreign) if name not in bridge.DICTIONARY_NAME_SETS]
emb.lexicon, emb.text._languages = Lexicon(LEXICON_FILE), [languages[i] for i in cldr_sets]
cldr_lat, cldr_cpu = text_latency()
# and with the dictionaries but without word splitting (Korean and Japanese matched as raw text, as before it)
emb.lexicon, emb.text._languages = Lexicon(split_words=False), languages
raw_lat, raw_cpu = text_latency()
emb.lexicon = lexicon
conf = []
for q in queries:
    emb.forget_texts()
    t = time.perf_counter()
    emb.text_confidence(q)
    conf.append(1000 * (time.perf_counter() - t))
print(
    f"  text query (embed_texts, 1 query): median {statistics.median(lat):.1f} ms, "
    f"p90 {sorted(lat)[int(0.9 * len(lat))]:.1f} ms, min {min(lat):.1f} ms, CPU {statistics.median(cpu):.1f} ms"
)
ratio = statistics.median(lat) / statistics.median(plain_lat)
print(
    f"    without foreign class names and pivot: median {statistics.median(plain_lat):.1f} ms, "
    f"CPU {statistics.median(plain_cpu):.1f} ms (with them: x{ratio:.2f})"
)
print(
    f"    without the dictionaries' names and words: median {statistics.median(cldr_lat):.1f} ms, "
    f"CPU {statistics.median(cldr_cpu):.1f} ms (with them: x{statistics.median(lat) / statistics.median(cldr_lat):.2f})"
)
print(
    f"    without word splitting: median {statistics.median(raw_lat):.1f} ms, "
    f"CPU {statistics.median(raw_cpu):.1f} ms (with it: x{statistics.median(lat) / statistics.median(raw_lat):.2f})"
)
cjk = [q for q in queries if is_cjk(q)]
raw_lexicon = Lexicon(split_words=False)
for name, step in (
    ("pivot lookup, word by word", lexicon.translate),
    ("pivot lookup, raw text", raw_lexicon.translate),
    ("Japanese standard spelling", segment.standard_spelling),
):
    step(cjk[0])
    c = time.process_time()
    for _ in range(1000):
        for q in cjk:
            step(q)
    print(f"  {name} alone: {1e6 * (time.process_time() - c) / (1000 * len(cjk)):.0f} us CPU a CJK query")
print(f"  text_confidence:                   median {statistics.median(conf):.1f} ms")


nets = {
    "onnx int8": ImageNet(args.cache, args.threads, int8=True),
    "onnx f32": ImageNet(args.cache, args.threads, int8=False),
    "openvino f32": ImageNet(args.cache, args.threads, runtime="openvino", precision="f32"),
    "openvino bf16": ImageNet(args.cache, args.threads, runtime="openvino", precision="bf16"),
}
_, verdict = bf16_self_check(args.cache, args.threads, bridge.stored_vectors)
rounds: dict[str, list[float]] = {name: [] for name in nets}
for net_ in nets.values():
    net_.session().run(None, {"image": x})  # compile / warm up
for _ in range(args.rounds):
    for name, net_ in nets.items():
        t = time.perf_counter()
        net_.session().run(None, {"image": x})
        rounds[name].append(32 / (time.perf_counter() - t))
print(f"\nimage net runtimes side by side, network only, threads={args.threads}, batch 32 (best / median images/s)")
for name, rates in rounds.items():
    print(f"  {name:<14} {max(rates):7.1f} / {statistics.median(rates):7.1f}   ({nets[name].loaded})")
print(f"  openvino bf16: {verdict}")
