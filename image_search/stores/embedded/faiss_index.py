"""The embedded store's faiss index: exact (flat) for small collections, HNSW above a threshold.

Both are wrapped in IndexIDMap so faiss ids are SQLite rowids. The index file holds a one-line JSON
header (which SQLite state the index reflects) followed by the index, written by one atomic
rename, so a reader never pairs an index with another index's state.

faiss is imported in the functions that make, read or search an index (0.1 s of CPU): a `flask index`
with nothing to embed, and settings, never import it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from image_search.atomic import atomic_write
from image_search.stores.embedded.options import AnnParams

if TYPE_CHECKING:
    import faiss

INDEX_FORMAT = 2  # the header's "format": a file of another format is rebuilt


@dataclass
class IndexState:
    """Which SQLite state an index reflects, kept as the index file's one-line JSON header. Its keys are
    these field names, as in the files written before this class, so those load without a rebuild."""

    format: int = INDEX_FORMAT
    store_id: str | None = None  # the database it was built from: a new database never adopts it
    generation: int = -1  # SQLite's generation it was caught up to; -1: not yet
    # That generation's random token in SQLite: an older database restored beside a newer file (or one
    # that went on from an older state) has another token or none for it, so the file is rebuilt.
    token: str | None = None
    max_rowid: int = 0  # it holds every row up to this rowid...
    log_seq: int = 0  # ...less those deleted up to this entry of the deletion log
    dim: int = 0
    tombstones: list[int] = field(default_factory=list)  # deleted rowids an HNSW index still holds
    codec: str = "float32"
    trained_on: int | None = None  # vectors an int8 index learnt its value ranges from; None: untrained

    def header(self) -> bytes:
        keys = {
            "format": self.format,
            "store_id": self.store_id,
            "generation": self.generation,
            "token": self.token,
            "max_rowid": self.max_rowid,
            "log_seq": self.log_seq,
            "dim": self.dim,
            "tombstones": self.tombstones,
            "codec": self.codec,
        }
        if self.trained_on is not None:  # absent, as in files of indexes that never trained
            keys["trained_on"] = self.trained_on
        return json.dumps(keys).encode() + b"\n"

    @classmethod
    def from_header(cls, line: bytes) -> IndexState:
        """Raises ValueError when `line` is not such a header. A missing key takes a value the store
        rebuilds on (format 0, no store id, dim 0), but codec and trained_on, which older files lack,
        take what those files meant: float32, untrained."""
        raw = json.loads(line)
        if not isinstance(raw, dict):
            raise ValueError("the index header is not a JSON object")  # noqa: TRY004  # damaged, like bad JSON
        try:
            store_id, trained_on, token = raw.get("store_id"), raw.get("trained_on"), raw.get("token")
            return cls(
                format=int(raw.get("format", 0)),
                store_id=None if store_id is None else str(store_id),
                generation=int(raw.get("generation", -1)),
                token=None if token is None else str(token),
                max_rowid=int(raw.get("max_rowid", 0)),
                log_seq=int(raw.get("log_seq", 0)),
                dim=int(raw.get("dim", 0)),
                tombstones=[int(r) for r in raw.get("tombstones", [])],
                codec=str(raw.get("codec", "float32")),  # files from before codecs are float32
                trained_on=None if trained_on is None else int(trained_on),
            )
        except TypeError as exc:  # e.g. a list where a number belongs
            raise ValueError(f"damaged index header: {exc}") from None


def scalar_quantizer(codec: str) -> int | None:
    """faiss's ScalarQuantizer type of a VECTOR_CODEC, None for float32 (a flat index)."""
    import faiss

    return {"fp16": faiss.ScalarQuantizer.QT_fp16, "int8": faiss.ScalarQuantizer.QT_8bit}.get(codec)


RESCORE_FACTOR = {"float32": 1, "fp16": 2, "int8": 4}  # candidates fetched per hit to rescore


def new_index(dim: int, expected: int, params: AnnParams) -> faiss.Index:
    """An empty index suited to `expected` vectors (int8 needs training before the first add)."""
    if params.codec not in RESCORE_FACTOR:
        raise ValueError(f"VECTOR_CODEC must be float32, fp16 or int8, not {params.codec!r}")
    import faiss

    ip, qtype = faiss.METRIC_INNER_PRODUCT, scalar_quantizer(params.codec)
    inner: faiss.Index
    if expected > params.exact_limit(dim):
        # faiss's stubs lack the (d, qtype, M, metric) constructor
        hnsw = (
            faiss.IndexHNSWSQ(dim, qtype, params.m, ip)  # type: ignore[arg-type]
            if qtype is not None
            else faiss.IndexHNSWFlat(dim, params.m, ip)
        )
        hnsw.hnsw.efConstruction = params.ef_construction
        hnsw.hnsw.efSearch = params.ef_search
        inner = hnsw
    else:
        inner = faiss.IndexScalarQuantizer(dim, qtype, ip) if qtype is not None else faiss.IndexFlatIP(dim)
    return faiss.IndexIDMap(inner)  # the Python wrapper keeps `inner` alive


def is_hnsw(index: faiss.Index) -> bool:
    import faiss

    inner = index.index if isinstance(index, faiss.IndexIDMap) else index
    return isinstance(faiss.downcast_index(inner), faiss.IndexHNSW)


def id_bitmap(ids: np.ndarray) -> faiss.IDSelector:
    """A selector of these ids (rowids): one bit per rowid up to the largest (125 KB at a million), so a scan's
    membership test per row is a shift and a mask where IDSelectorBatch looks each row up in a hash set."""
    import faiss

    member = np.zeros(int(ids.max()) + 1, dtype=bool)
    member[ids] = True
    bits = np.packbits(member, bitorder="little")
    return faiss.IDSelectorBitmap(bits)  # type: ignore[call-arg,arg-type]  # the wrapper's form, which keeps `bits` alive


def search_params(
    index: faiss.Index, params: AnnParams, sel, k: int, ef_scale: float = 1.0
) -> faiss.SearchParameters | None:
    """`ef_scale` > 1 widens the HNSW search when a filter excludes most of the graph."""
    import faiss

    # Keyword construction comes from faiss's Python wrapper, which its stubs do not describe.
    if is_hnsw(index):
        return faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
            sel=sel, efSearch=max(int(params.ef_search * ef_scale), k)
        )
    return faiss.SearchParameters(sel=sel) if sel is not None else None  # type: ignore[call-arg]


def write(index: faiss.Index, state: IndexState, path: Path) -> None:
    """Header and index in one file, in place by one rename, and fsynced: the SQLite log is trimmed
    on the strength of a saved index, so it must outlive a power cut."""

    def write_to(tmp: str) -> None:
        import faiss

        with open(tmp, "wb") as f:
            f.write(state.header())
            writer = faiss.PyCallbackIOWriter(f.write)  # type: ignore[attr-defined]  # not in the stubs
            faiss.write_index(index, writer)
            del writer

    atomic_write(path, write_to, durable=True)


def read_state(path: Path) -> IndexState | None:
    """Only the header: which SQLite state the file on disk reflects."""
    try:
        with open(path, "rb") as f:
            return IndexState.from_header(f.readline())
    except (OSError, ValueError):
        return None


def read(path: Path) -> tuple[faiss.Index, IndexState] | None:
    """The index and its state, or None when the file is missing or damaged."""
    import faiss

    try:
        with open(path, "rb") as f:
            state = IndexState.from_header(f.readline())
            reader = faiss.PyCallbackIOReader(f.read)  # type: ignore[attr-defined]  # not in the stubs
            index = faiss.read_index(reader)
            del reader
        return index, state
    except (OSError, ValueError, RuntimeError):
        return None


def add(index: faiss.Index, rowids: list[int], vectors: list[np.ndarray]) -> int | None:
    """Add; an untrained (int8) index first learns its value ranges from these vectors. Returns how many
    it learnt from, or None when it did not train (the caller keeps that in its IndexState)."""
    if not rowids:
        return None
    x = np.vstack(vectors)
    trained = None
    if not index.is_trained:
        index.train(x)
        trained = len(x)
    index.add_with_ids(x, np.asarray(rowids, dtype=np.int64))
    return trained
