"""The embedded store's faiss index: exact (flat) for small collections, HNSW above a threshold.

Both are wrapped in IndexIDMap so faiss ids are SQLite rowids. The index file holds a one-line JSON
header (which SQLite state the index reflects) followed by the index, written by one atomic
rename, so a reader never pairs an index with another index's state.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np


@dataclass
class AnnParams:
    threshold: int = 200_000  # above this many vectors, HNSW; at or below, exact search
    m: int = 32
    ef_search: int = 128
    ef_construction: int = 80
    rebuild_fraction: float = 0.1  # HNSW is rebuilt when tombstones exceed this share of its vectors
    # float32 | fp16 | int8: how the index stores vectors (SQLite always keeps float32). The
    # smaller codes are scanned faster and take 1/2 or 1/4 of the memory; hits are rescored exactly.
    codec: str = "float32"


CODECS = {"fp16": faiss.ScalarQuantizer.QT_fp16, "int8": faiss.ScalarQuantizer.QT_8bit}
RESCORE_FACTOR = {"float32": 1, "fp16": 2, "int8": 4}  # candidates fetched per hit to rescore


def new_index(dim: int, expected: int, params: AnnParams) -> faiss.Index:
    """An empty index suited to `expected` vectors (int8 needs training before the first add)."""
    if params.codec not in RESCORE_FACTOR:
        raise ValueError(f"VECTOR_CODEC must be float32, fp16 or int8, not {params.codec!r}")
    ip, qtype = faiss.METRIC_INNER_PRODUCT, CODECS.get(params.codec)
    if expected > params.threshold:
        inner = (faiss.IndexHNSWSQ(dim, qtype, params.m, ip) if qtype is not None
                 else faiss.IndexHNSWFlat(dim, params.m, ip))
        inner.hnsw.efConstruction = params.ef_construction
        inner.hnsw.efSearch = params.ef_search
    else:
        inner = faiss.IndexScalarQuantizer(dim, qtype, ip) if qtype is not None else faiss.IndexFlatIP(dim)
    return faiss.IndexIDMap(inner)  # the Python wrapper keeps `inner` alive


def is_hnsw(index: faiss.Index) -> bool:
    return isinstance(faiss.downcast_index(index.index), faiss.IndexHNSW)


def search_params(index: faiss.Index, params: AnnParams, sel, k: int,
                  ef_scale: float = 1.0) -> faiss.SearchParameters | None:
    """`ef_scale` > 1 widens the HNSW search when a filter excludes most of the graph."""
    if is_hnsw(index):
        return faiss.SearchParametersHNSW(sel=sel, efSearch=max(int(params.ef_search * ef_scale), k))
    return faiss.SearchParameters(sel=sel) if sel is not None else None


def write(index: faiss.Index, state: dict, path: Path) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(json.dumps(state).encode() + b"\n")
        writer = faiss.PyCallbackIOWriter(f.write)
        faiss.write_index(index, writer)
        del writer
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_state(path: Path) -> dict | None:
    """Only the header: which SQLite state the file on disk reflects."""
    try:
        with open(path, "rb") as f:
            return json.loads(f.readline())
    except (OSError, ValueError):
        return None


def read(path: Path) -> tuple[faiss.Index, dict] | None:
    """The index and its state, or None when the file is missing or damaged."""
    try:
        with open(path, "rb") as f:
            state = json.loads(f.readline())
            reader = faiss.PyCallbackIOReader(f.read)
            index = faiss.read_index(reader)
            del reader
        return index, state
    except (OSError, ValueError, RuntimeError):
        return None


def add(index: faiss.Index, rowids: list[int], vectors: list[np.ndarray], state: dict) -> None:
    """Add; an untrained (int8) index first learns its value ranges from these vectors."""
    if rowids:
        x = np.vstack(vectors)
        if not index.is_trained:
            index.train(x)
            state["trained_on"] = len(x)
        index.add_with_ids(x, np.asarray(rowids, dtype=np.int64))
