"""Evaluate the offline embedder on a folder without the app: python bench/eval_offline.py FOLDER
[--lang en,de,fr,ko,ja] [--cache DIR] [--threads N] [--json] [--reference] [--float] [--split]. Images are embedded
once for all languages. --split also scores the queries of the tuning split and of the held-out split of the Tux
Paint stamps apart (bench/tuning_split.py), each against all images. (Inside the app: flask --app image_search
eval FOLDER [--lang de] [--json], offline model active.)

--reference also scores, on the same images and English captions, the recipe of the trial whose figures
issue #3 quotes (MRR .27, R@10 39 %, P@5 67 % on its own clip-art set): all-MiniLM-L6-v2, class vectors =
mean over the five prompt templates and the class's synonyms (no WordNet parents or definitions), class
weights = softmax(q.C^T / 0.1) over all 1000 classes, text score = w . logits; image->image = cosine of the
pooled features. Figures depend on the set, so this gives the like-for-like comparison.
"""

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from image_search.embedders.evaluation import collect, evaluate, format_table, image_metrics, load_rgb, text_metrics
from image_search.embedders.offline import bridge as bridge
from image_search.embedders.offline.embedder import OfflineEmbedder
from tuning_split import in_split

parser = argparse.ArgumentParser()
parser.add_argument("folder", type=Path)
parser.add_argument("--lang", default="en")
parser.add_argument("--cache", type=Path, default=Path("instance/models"))
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--float", action="store_true", help="the float image net instead of the int8 one")
parser.add_argument("--json", action="store_true")
parser.add_argument("--reference", action="store_true", help="also score the trial's recipe (see above)")
parser.add_argument("--split", action="store_true", help="also score the tuning and held-out splits apart")
args = parser.parse_args()


def reference_recipe(emb: OfflineEmbedder, items: list[dict], features: np.ndarray, logits: np.ndarray) -> dict:
    captions = defaultdict(set)
    for i, it in enumerate(items):
        if it["caption"]:
            captions[it["caption"]].add(i)
    encode = emb.english.model.encode
    classes = bridge.build_class_matrix(bridge.load_class_names(), encode)
    weights = bridge.class_weights(encode(list(captions)), classes, temperature=0.1)
    unit = bridge.l2_normalise(features)
    return {
        "model": "reference recipe (MiniLM, T=0.1, w.logits)",
        "lang": "first line",
        **text_metrics(weights @ logits.T, list(captions.values())),
        **image_metrics(unit @ unit.T, [it["label"] for it in items]),
    }


emb = OfflineEmbedder(args.cache, threads=args.threads, int8=not args.float)
items = collect(args.folder)
features, logits = emb.image_outputs([load_rgb(it["path"]) for it in items])
vectors = bridge.stored_vectors(features, logits)  # what embed_images stores, from the same outputs
results = {}
for lang in args.lang.split(","):
    results[lang] = evaluate(args.folder, emb, lang=None if lang == "en" else lang, vectors=vectors)


def split_metrics(emb: OfflineEmbedder, lang: str, split: str, vectors: np.ndarray) -> dict:
    items = collect(args.folder, None if lang == "en" else lang)
    captions = defaultdict(set)
    inside_split = in_split(args.folder, [it["path"] for it in items], split)
    for i, (it, inside) in enumerate(zip(items, inside_split, strict=True)):
        if it["caption"] and inside:
            captions[it["caption"]].add(i)
    scores = emb.embed_texts(list(captions)) @ vectors.T
    return {
        "lang": f"{lang}, {split} split queries",
        "text_queries": len(captions),
        **text_metrics(scores, list(captions.values())),
    }


if args.split:
    for split in ("tune", "held"):
        for lang in args.lang.split(","):
            results[f"{lang} {split}"] = split_metrics(emb, lang, split, vectors)
if args.reference:
    results["reference"] = reference_recipe(emb, items, features, logits)
if args.json:
    print(json.dumps(results, indent=2))
else:
    for name, result in results.items():
        print(f"== {name}\n{format_table(result)}", flush=True)
