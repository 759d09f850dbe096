"""How the offline model's settings were chosen, on the Tux Paint stamps (bench/fetch_eval_set.sh).

For each text model (e5 with centring, minilm) and query language (en = first line, de, fr, ko), text->image MRR and
recall@10 over a sweep of temperatures and image-side class scores; then image->image precision@5 over
the class share of image queries. Run: python bench/tune_offline.py [FOLDER] [CACHE_DIR]
"""

import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from image_search.embedders.evaluation import collect, image_metrics, load_rgb, text_metrics
from image_search.embedders.offline import bridge as bridge
from image_search.embedders.offline.embedder import OfflineEmbedder

folder = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/data/tuxpaint-stamps")
cache = Path(sys.argv[2] if len(sys.argv) > 2 else "instance/models")
raw = cache / "tune-raw.npz"
emb = OfflineEmbedder(cache, threads=2)
items = collect(folder)
if raw.exists():
    z = np.load(raw)
    features, logits = z["f"], z["l"]
else:
    features, logits = emb.image_outputs([load_rgb(it["path"]) for it in items])
    np.savez(raw, f=features, l=logits)
stored = bridge.stored_vectors(features, logits)
z = logits - logits.max(1, keepdims=True)
p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
image_sides = {
    "sqrt(p)": np.sqrt(p),
    "p": p,
    "logits": logits,
    "centred logits": logits - logits.mean(1, keepdims=True),
}

for model in ("e5", "minilm"):
    e = OfflineEmbedder(cache, threads=2, text_model=model)
    C = e.text.class_matrix()
    for lang in ("en", "de", "fr", "ko"):
        its = collect(folder, None if lang == "en" else lang)
        by = defaultdict(set)
        for i, it in enumerate(its):
            if it["caption"]:
                by[it["caption"]].add(i)
        caps = list(by)
        Q = e.text.vectors(caps)  # centred for e5, as the embedder uses them
        rel = [by[c] for c in caps]
        line = []
        for T in (0.005, 0.01, 0.02, 0.05, 0.1):
            W = bridge.class_weights(Q, C, T)
            for name, side in image_sides.items():
                if name != "sqrt(p)" and T not in (0.005, 0.05):
                    continue
                m = text_metrics(W @ side.T, rel)
                line.append(f"T={T} {name}: MRR {m['mrr']:.3f} R@10 {m['recall@10']:.3f}")
        print(f"{model} {lang} ({len(caps)} queries)\n  " + "\n  ".join(line), flush=True)

labels = [it["label"] for it in items]
for share in (0.0, 0.25, 0.5, 0.75, 1.0):
    m = image_metrics(bridge.image_query(stored, share) @ stored.T, labels)
    print(f"image query class share {share}: P@5 {m['precision@5']:.3f} P@10 {m['precision@10']:.3f}")
