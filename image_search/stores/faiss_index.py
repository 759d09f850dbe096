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


def new_index(dim: int, expected: int, params: AnnParams) -> faiss.Index:
    """An empty index suited to `expected` vectors."""
    if expected > params.threshold:
        inner = faiss.IndexHNSWFlat(dim, params.m, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = params.ef_construction
        inner.hnsw.efSearch = params.ef_search
    else:
        inner = faiss.IndexFlatIP(dim)
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


def add(index: faiss.Index, rowids: list[int], vectors: list[np.ndarray]) -> None:
    if rowids:
        index.add_with_ids(np.vstack(vectors), np.asarray(rowids, dtype=np.int64))
