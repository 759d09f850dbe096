"""`flask eval FOLDER`: retrieval quality of the active model on a captioned or labelled image folder.

Each image's caption is the first line of a sidecar .txt with the same stem (or, with --lang xx, its
"xx.utf8=..." line, as in the Tux Paint stamps); its label is its top-level folder under FOLDER (or its
parent folder with --label parent). Text->image: every distinct caption is a query, a hit is any image
with that caption; recall@1/5/10 and MRR. Image->image: every image with a label shared by another image
is a query, precision@5/10 by label, the query itself excluded. Exact search with numpy.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from image_search.errors import NotAFile, QueryError
from image_search.user_files import read_regular

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff"}


def load_rgb(path: Path) -> Image.Image:
    """RGB with transparency composited onto white (as the app's loader does)."""
    with Image.open(path) as img:
        img.seek(0)
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return Image.alpha_composite(white, rgba).convert("RGB")
        return img.convert("RGB")


def read_caption(txt: Path, lang: str | None) -> str | None:
    try:
        lines = read_regular(txt).decode("utf-8", errors="replace").splitlines()
    except (OSError, NotAFile):  # none, or a named pipe that would block the run
        return None
    if lang:
        prefix = f"{lang}.utf8="
        found = [line[len(prefix) :] for line in lines if line.startswith(prefix)]
        return found[0].strip() or None if found else None
    return lines[0].strip() or None if lines else None


def collect(folder: Path, lang: str | None = None, label: str = "top") -> list[dict]:
    items = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()):
        rel = path.relative_to(folder)
        items.append(
            {
                "path": path,
                "caption": read_caption(path.with_suffix(".txt"), lang),
                "label": (rel.parts[0] if len(rel.parts) > 1 else None) if label == "top" else path.parent.name,
            }
        )
    return items


def text_metrics(scores: np.ndarray, relevant: list[set[int]], ks=(1, 5, 10)) -> dict:
    """scores: queries x images. relevant[i]: indexes of the images that answer query i."""
    order = np.argsort(-scores, axis=1, kind="stable")
    out = {f"recall@{k}": 0.0 for k in ks}
    rr = 0.0
    for q, rel in enumerate(relevant):
        hit = np.isin(order[q], list(rel))
        first = int(np.argmax(hit))
        rr += 1.0 / (first + 1)
        for k in ks:
            out[f"recall@{k}"] += float(first < k)
    n = max(len(relevant), 1)
    return {**{k: v / n for k, v in out.items()}, "mrr": rr / n}


def image_metrics(scores: np.ndarray, labels: list, ks=(5, 10)) -> dict:
    """scores: images x images; precision@k by label over images whose label another image shares."""
    scores = scores.copy()
    np.fill_diagonal(scores, -np.inf)
    by_index = np.asarray(labels, dtype=object)
    counts = Counter(labels)
    queries = [i for i, lab in enumerate(labels) if lab is not None and counts[lab] > 1]
    order = np.argsort(-scores, axis=1, kind="stable")
    out = {
        f"precision@{k}": float(np.mean([np.mean(by_index[order[i, :k]] == by_index[i]) for i in queries]))
        if queries
        else 0.0
        for k in ks
    }
    out["image_queries"] = len(queries)
    return out


def embed_folder(items: list[dict], embedder, batch: int = 32) -> np.ndarray:
    return np.concatenate(
        [
            embedder.embed_images([load_rgb(it["path"]) for it in items[i : i + batch]])
            for i in range(0, len(items), batch)
        ]
    )


def evaluate(
    folder,
    embedder,
    lang: str | None = None,
    label: str = "top",
    k: int = 10,
    batch: int = 32,
    vectors: np.ndarray | None = None,
) -> dict:
    """Embed every image of `folder` and measure text->image and image->image retrieval (see module doc)."""
    items = collect(Path(folder), lang, label)
    if not items:
        raise QueryError(f"No images found under {folder}")
    started = time.perf_counter()
    embedded_here = vectors is None  # a caller may pass the vectors of collect(folder) (same order)
    if vectors is None:
        vectors = embed_folder(items, embedder, batch)
    image_seconds = time.perf_counter() - started
    result = {"model": embedder.model_id, "images": len(items), "lang": lang or "first line"}
    if embedded_here:
        result["images_per_s"] = len(items) / image_seconds

    by_caption: dict[str, set[int]] = defaultdict(set)
    for i, it in enumerate(items):
        if it["caption"]:
            by_caption[it["caption"]].add(i)
    if by_caption:
        captions = list(by_caption)
        started = time.perf_counter()
        queries = embedder.embed_texts(captions)
        result["text_ms_per_query"] = 1000 * (time.perf_counter() - started) / len(captions)
        result["text_queries"] = len(captions)
        result.update(text_metrics(queries @ vectors.T, [by_caption[c] for c in captions], sorted({1, 5, 10, k})))

    image_query = getattr(embedder, "image_query", None)
    qvec = image_query(vectors) if image_query else vectors
    result.update(image_metrics(qvec @ vectors.T, [it["label"] for it in items], sorted({5, 10, k})))
    return result


def format_table(result: dict) -> str:
    rows = [(k, f"{v:.3f}" if isinstance(v, float) else str(v)) for k, v in result.items()]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
