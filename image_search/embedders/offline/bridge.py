"""The offline model's arithmetic, free of any network: class prompts, the text->class bridge, vector layout.

Kept apart from the nets so tests can check it on hand-made numbers.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from image_search.embedders.base import l2_normalise
from image_search.paths import PACKAGE_DATA

__all__ = ["l2_normalise"]  # re-exported for offline.py

CLASSES_FILE = PACKAGE_DATA / "imagenet-1k-classes.txt"
HYPERNYMS_FILE = CLASSES_FILE.parent / "imagenet-1k-hypernyms.txt"
# weights of a class's WordNet parents' and grandparents' names in its text vector: "ram, tup" should also
# answer "sheep"; measured on the Tux Paint captions (en MRR .198 -> .218, de/fr/ko up too; heavier hurt de/fr)
HYPERNYM_WEIGHTS = (0.5, 0.25)
GLOSSES_FILE = CLASSES_FILE.parent / "imagenet-1k-glosses.txt"
GLOSS_WEIGHT = 0.25  # "name: WordNet definition" added to the class vector: en MRR +.006, de/fr/ko +.002-.005
PROMPT_TEMPLATES = ("a photo of a {}.", "a drawing of a {}.", "a cartoon {}.", "clip art of a {}.", "{}")
# languages with class names of their own (bench/cldr_class_names.py): e5 matches a query against names in
# its own language far better than across languages ("호랑이" is nearer "howler monkey" than "tiger" to it).
# Measured with e5 alone on the tuning split of the Tux Paint stamps (README, Offline model): ko MRR .069 ->
# .176, ja .080 -> .150, de .153 -> .188, fr .135 -> .184, en .222 -> .218.
CLDR_LANGUAGES = ("ko", "ja", "de", "fr")
# more Korean and Japanese names, from bilingual dictionaries (bench/dictionary_class_names.py): a matrix each,
# so a query's cosine is its best over either set of names
DICTIONARY_NAME_SETS = ("ko-krdict", "ja-edict")
FOREIGN_NAME_SETS = CLDR_LANGUAGES + DICTIONARY_NAME_SETS
# name sets that only queries in a CJK script are matched against: a German or French query's best cosine over
# thousands of Hangul and kana names is noise (tuning split, fr MRR .197 -> .194 without this)
CJK_ONLY_NAME_SETS = DICTIONARY_NAME_SETS
# subtracted from a class's cosine through its foreign names: an English query's cosine to a name spelt the
# same in French ("rose") shouldn't outweigh its English class names (0.03-0.12 measured alike; 0: de -.007)
FOREIGN_PENALTY = 0.05
# text_confidence through foreign names: their best (penalised) cosine mapped from this range onto 0..1.
# Stricter than e5's own range: gibberish reaches 0.36 ("asdkjh qwpoeiru") to 0.45 ("ㅁㄴㅇㄹ") through them,
# a named thing ("호랑이") 0.62.
FOREIGN_COSINE_RANGE = (0.35, 0.65)
# What the viewer and a tile's hover show of an image's classes ("why it matched"): the likeliest few, and only
# those the classifier gives at least this probability (below it a class is one guess among hundreds).
CONCEPTS_SHOWN = 3
CONCEPT_MIN_SHARE = 0.05
FEATURE_DIM = 1280  # EfficientNet-Lite0 pooled features
N_CLASSES = 1000


def load_class_names(path: Path = CLASSES_FILE) -> list[list[str]]:
    """One list of synonyms per ImageNet class, in logit order (most common name first)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    classes = [[s.strip() for s in line.split(",") if s.strip()] for line in lines if line.strip()]
    if len(classes) != N_CLASSES:
        raise ValueError(f"{path}: expected {N_CLASSES} classes, found {len(classes)}")
    return classes


def load_hypernyms(path: Path = HYPERNYMS_FILE) -> list[list[list[str]]]:
    """Per class (logit order) the lemmas of its WordNet hypernyms, one list per level: [parents, grandparents]."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(lines) != N_CLASSES:
        raise ValueError(f"{path}: expected {N_CLASSES} lines, found {len(lines)}")
    return [[[w.strip() for w in level.split(",") if w.strip()] for level in line.split("|")] for line in lines]


def load_glosses(path: Path = GLOSSES_FILE) -> list[str]:
    """Per class (logit order) the first sentence of its WordNet definition."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(lines) != N_CLASSES:
        raise ValueError(f"{path}: expected {N_CLASSES} lines, found {len(lines)}")
    return lines


def names_file(name_set: str) -> Path:
    return CLASSES_FILE.parent / f"imagenet-1k-names-{name_set}.txt"


def load_foreign_names(name_set: str) -> list[list[list[str]]]:
    """Per class (logit order) its names in `name_set` (a language, or a language and a source: FOREIGN_NAME_SETS),
    one list per level: [own, parents', grandparents']; lists are empty where the class has none."""
    path = names_file(name_set)
    lines = path.read_text(encoding="utf-8").splitlines()
    if len(lines) != N_CLASSES:
        raise ValueError(f"{path}: expected {N_CLASSES} lines, found {len(lines)}")
    return [[[w.strip() for w in level.split(",") if w.strip()] for level in line.split("|")] for line in lines]


def class_prompts(synonyms: list[str]) -> list[str]:
    """Every template filled with every distinct synonym (case-insensitively distinct)."""
    seen: dict[str, str] = {}
    for name in synonyms:
        seen.setdefault(name.lower(), name)
    return [t.format(name) for name in seen.values() for t in PROMPT_TEMPLATES]


def classes_fingerprint(
    classes: list[list[str]], hypernyms: list[list[list[str]]] | None = None, glosses: list[str] | None = None
) -> str:
    """Changes whenever the class names, hypernyms, glosses, weights or templates change, so a stale cached
    matrix is not reused."""
    text = "\n".join(PROMPT_TEMPLATES) + "\n" + "\n".join(",".join(c) for c in classes)
    if hypernyms:
        text += f"\n{HYPERNYM_WEIGHTS}\n" + levels_text(hypernyms)
    if glosses:
        text += f"\n{GLOSS_WEIGHT}\n" + "\n".join(glosses)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def names_fingerprint(foreign: dict[str, list[list[list[str]]]]) -> str:
    """As classes_fingerprint, for the foreign-language class names (FOREIGN_PENALTY applies at query time)."""
    text = "\n".join(PROMPT_TEMPLATES) + f"\n{HYPERNYM_WEIGHTS}\n"
    text += "\n".join(f"{lang}\n{levels_text(names)}" for lang, names in foreign.items())
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def levels_text(levels: list[list[list[str]]]) -> str:
    return "\n".join("|".join(",".join(level) for level in class_levels) for class_levels in levels)


def build_class_matrix(
    classes: list[list[str]],
    embed: Callable[[list[str]], np.ndarray],
    hypernyms: list[list[list[str]]] | None = None,
    glosses: list[str] | None = None,
    batch: int = 256,
) -> np.ndarray:
    """1000 x d: per class the unit mean of its prompts' unit embeddings, plus HYPERNYM_WEIGHTS times the
    same for each hypernym level, L2-normalised; then plus GLOSS_WEIGHT times the unit embedding of
    "name: gloss", L2-normalised. Each distinct name is embedded once (hypernyms repeat)."""
    groups = [[synonyms] + list(hypernyms[i] if hypernyms else []) for i, synonyms in enumerate(classes)]
    names: dict[str, str] = {}
    for levels in groups:
        for level in levels:
            for name in level:
                names.setdefault(name.lower(), name)
    prompts = class_prompts(list(names.values()))
    vectors = np.concatenate([l2_normalise(embed(prompts[i : i + batch])) for i in range(0, len(prompts), batch)])
    per_name = dict(
        zip(names, vectors.reshape(len(names), len(PROMPT_TEMPLATES), -1).sum(axis=1, dtype=np.float64), strict=True)
    )
    out = np.zeros((len(classes), vectors.shape[1]), dtype=np.float64)
    for index, levels in enumerate(groups):
        # a class has fewer levels than weights when it has no hypernyms (or none were given)
        for weight, level in zip((1.0,) + HYPERNYM_WEIGHTS, levels, strict=False):
            keys = list(dict.fromkeys(name.lower() for name in level))
            if keys:
                out[index] += weight * l2_normalise(sum(per_name[k] for k in keys)[None])[0]
    out = l2_normalise(out)
    if glosses:
        texts = [f"{synonyms[0]}: {gloss}" for synonyms, gloss in zip(classes, glosses, strict=True)]
        out = out + GLOSS_WEIGHT * np.concatenate(
            [l2_normalise(embed(texts[i : i + batch])) for i in range(0, len(texts), batch)]
        )
    return l2_normalise(out)


def build_language_matrix(
    names: list[list[list[str]]], embed: Callable[[list[str]], np.ndarray], batch: int = 256
) -> np.ndarray:
    """1000 x d for one language's class names (load_foreign_names): as build_class_matrix's name and
    hypernym levels (same templates and weights), a zero row for a class without any name."""
    distinct = list(dict.fromkeys(n for class_levels in names for level in class_levels for n in level))
    prompts = class_prompts(distinct)  # one name per lower-case spelling, as keys below
    keys = list(dict.fromkeys(n.lower() for n in distinct))
    dim = None
    per_name: dict[str, np.ndarray] = {}
    if prompts:
        vectors = np.concatenate([l2_normalise(embed(prompts[i : i + batch])) for i in range(0, len(prompts), batch)])
        dim = vectors.shape[1]
        per_name = dict(zip(keys, vectors.reshape(len(keys), len(PROMPT_TEMPLATES), -1).sum(axis=1), strict=True))
    out = np.zeros((len(names), dim or 1), np.float64)
    for index, class_levels in enumerate(names):
        for weight, level in zip((1.0,) + HYPERNYM_WEIGHTS, class_levels, strict=False):
            level_keys = list(dict.fromkeys(n.lower() for n in level))
            if level_keys:
                out[index] += weight * l2_normalise(np.sum([per_name[k] for k in level_keys], axis=0)[None])[0]
    named = np.any(out != 0, axis=1)
    out[named] = l2_normalise(out[named])
    return out


def centre(vectors: np.ndarray, mean: np.ndarray | None) -> np.ndarray:
    """Unit vectors after subtracting `mean` (the class matrix's mean): e5's embeddings all share a
    large common direction (any two texts have cosine ~0.8), which blurs the softmax and makes a few
    "hub" classes match everything; removing it measurably helped, most for non-English queries."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return l2_normalise(vectors if mean is None else vectors - mean)


def class_weights(
    query_vectors: np.ndarray, class_matrix: np.ndarray, temperature: float, top_k: int | None = None
) -> np.ndarray:
    """Softmax over class cosines: how much each ImageNet class stands for each query (rows sum to 1).
    top_k keeps only the k heaviest classes (renormalised): the long tail of faintly similar classes
    otherwise adds noise to every image's score."""
    return softmax_weights(l2_normalise(query_vectors) @ class_matrix.T, temperature, top_k)


def language_cosines(
    query_vectors: np.ndarray, matrices: list[np.ndarray], usable: np.ndarray | None = None
) -> np.ndarray:
    """Per query and class the best cosine over the class's names in every language: matrices[0] holds
    every class (English names), the others a language's names, with zero rows for classes it doesn't name
    (their cosine stays the English one). Foreign names' cosines count FOREIGN_PENALTY less. usable
    (queries x foreign matrices, bool): which foreign matrices each query is matched against (default all)."""
    queries = l2_normalise(query_vectors)
    best = queries @ matrices[0].T
    for index, matrix in enumerate(matrices[1:]):
        named = np.any(matrix != 0, axis=1)[None]
        if usable is not None:
            named = named & usable[:, index : index + 1]
        best = np.where(named, np.maximum(best, queries @ matrix.T - FOREIGN_PENALTY), best)
    return best


def softmax_weights(cosines: np.ndarray, temperature: float, top_k: int | None = None) -> np.ndarray:
    """class_weights from precomputed query x class cosines."""
    z = np.asarray(cosines, np.float32) / temperature
    z -= z.max(axis=1, keepdims=True)
    w = np.exp(z)
    if top_k is not None and top_k < w.shape[1]:
        np.put_along_axis(w, np.argpartition(-w, top_k, axis=1)[:, top_k:], 0.0, axis=1)
    return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)


def best_class_cosine(query_vectors: np.ndarray, class_matrix: np.ndarray) -> np.ndarray:
    return (l2_normalise(query_vectors) @ class_matrix.T).max(axis=1)


# How much of an English query's class weights come from all-MiniLM-L6-v2 (English only, better at English
# than e5 on the Tux Paint captions: MRR .238 vs .225): up to ENGLISH_MAX_SHARE, ramped up over MiniLM's best
# class cosine in ENGLISH_COSINES. Captions in other languages score low on it (median de/fr .35, ko .31,
# en .55), so they keep mostly e5's weights. Measured: en MRR .225 -> .244, R@10 .341 -> .377; de/fr/ko
# unchanged within .003.
ENGLISH_COSINES = (0.35, 0.5)
ENGLISH_MAX_SHARE = 0.7


def english_share(best_cosines: np.ndarray) -> np.ndarray:
    """Per query, the share of the English model's class weights (0 .. ENGLISH_MAX_SHARE)."""
    return ENGLISH_MAX_SHARE * rescale(np.asarray(best_cosines, np.float32), *ENGLISH_COSINES)


# The query pivot (text/pivot.py): a query whose words the lexicons know (the dictionaries', CLDR's) also gets the
# English model's weights of their English names, up to PIVOT_SHARE, less as far as the query already reads as
# English. Measured on the tuning split (README, Offline model) over 0.3 / 0.4 / 0.5 / 0.7, through MiniLM alone
# or both models, with or without that gate. With CLDR's words alone 0.3 was kept (0.4 put the demo collection's
# cliff level with its snowy mountain for "눈 덮인 산", tests/test_demo_queries.py); with the dictionaries' names
# and words 0.4. With word splitting and FreeDict's words, 0.5 against 0.4: MRR de .221 -> .223, fr .205 -> .214,
# ko .212 -> .215, ja .208 -> .209, en .234 on the tuning split (0.6 and 0.7 lower on average), and the demo's
# snowy mountain stays first.
PIVOT_SHARE = 0.5


def pivot_share(english_shares: np.ndarray) -> np.ndarray:
    """Per query, the share of the pivot's weights, from its english_share."""
    return PIVOT_SHARE * (1.0 - np.asarray(english_shares, np.float32) / ENGLISH_MAX_SHARE)


def blend(weights: np.ndarray, english: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Row-wise (1 - share) * weights + share * english: still a distribution over the classes."""
    share = np.asarray(share, np.float32)[:, None]
    return ((1.0 - share) * weights + share * english).astype(np.float32)


def rescale(value, low: float, high: float):
    """`value` (a number or an array) mapped linearly from [low, high] onto [0, 1], clipped."""
    return np.clip((value - low) / (high - low), 0.0, 1.0)


def class_part(logits: np.ndarray) -> np.ndarray:
    """sqrt(softmax(logits)): unit length by construction, and inner products of two of them are the
    Bhattacharyya coefficient of the two class distributions."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return np.sqrt(p).astype(np.float32)


def stored_vectors(features: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """[unit features | sqrt class probabilities] / sqrt(2): a unit vector per image."""
    both = np.concatenate([l2_normalise(features), class_part(logits)], axis=1)
    return (both / np.sqrt(2.0)).astype(np.float32)


def image_query(stored: np.ndarray, class_share: float) -> np.ndarray:
    """Query vectors for 'images like these': stored vectors with the class half scaled to `class_share`
    of the score (0 = pooled-feature cosine only, 0.5 = the stored vector itself), re-normalised."""
    stored = np.asarray(stored, dtype=np.float32)
    features, classes = stored[:, :FEATURE_DIM], stored[:, FEATURE_DIM:]
    scale = np.float32(np.sqrt(class_share / max(1.0 - class_share, 1e-6)))
    return l2_normalise(np.concatenate([features, classes * scale], axis=1))


def text_query(weights: np.ndarray) -> np.ndarray:
    """[0 | w] normalised: its inner product with a stored vector ranks images by sum_c w_c sqrt(p_c)."""
    weights = l2_normalise(weights)
    return np.concatenate([np.zeros((len(weights), FEATURE_DIM), np.float32), weights], axis=1)


def class_probabilities(stored: np.ndarray) -> np.ndarray:
    """The classifier's class probabilities p, read back from stored vectors (their second part is
    sqrt(p)/sqrt(2), stored_vectors): no model run. Rows sum to 1."""
    part = np.asarray(stored, dtype=np.float64).reshape(len(stored), -1)[:, FEATURE_DIM:]
    p = 2.0 * part * part
    return p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)


@functools.cache
def concept_names(lang: str) -> tuple[tuple[str, str], ...]:
    """(name, its language) per class, in logit order: the class's own first name in `lang` (one of
    CLDR_LANGUAGES; 215 classes have a Korean one), else its first English name. Not the names borrowed
    from its WordNet parents, which serve the search well but read wrongly as the class's own ("book jacket"
    would be "lab coat", "toyshop" "small bottle")."""
    english = [(synonyms[0], "en") for synonyms in load_class_names()]
    if lang not in CLDR_LANGUAGES:
        return tuple(english)
    own = load_foreign_names(lang)
    return tuple(
        (levels[0][0], lang) if levels and levels[0] else name for name, levels in zip(english, own, strict=True)
    )


def top_concepts(
    stored: np.ndarray,
    names: tuple[tuple[str, str], ...],
    k: int = CONCEPTS_SHOWN,
    min_share: float = CONCEPT_MIN_SHARE,
) -> list[list[tuple[str, str, float]]]:
    """Per stored vector, up to k (name, lang, probability) of its likeliest classes with at least `min_share`."""
    p = class_probabilities(stored)
    k = min(k, p.shape[1])
    # the k likeliest by a partial sort (a full sort of the 1000 cost 5x more), then those k in order
    top = np.argpartition(-p, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(top, np.argsort(-np.take_along_axis(p, top, axis=1), axis=1, kind="stable"), axis=1)
    shares = np.take_along_axis(p, top, axis=1).tolist()
    return [
        [(*names[c], share) for c, share in zip(classes, row, strict=True) if share >= min_share]
        for classes, row in zip(top.tolist(), shares, strict=True)
    ]
