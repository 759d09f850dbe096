"""The default store: SQLite is the source of truth, a faiss index beside it answers kNN.

Layout in the data directory:
  images.sqlite  -- one row per image: metadata and its float32 vector (WAL mode, transactions)
  vectors.faiss  -- exact inner-product index over those vectors, keyed by SQLite rowid;
                    rebuilt from SQLite whenever missing or stale (its generation differs)
Every write bumps `generation` in SQLite, so a searcher in another process (the web app while
`flask index` runs) notices and reloads instead of serving a stale index.
"""
from __future__ import annotations

import os
import secrets
import sqlite3
import threading
from pathlib import Path
from typing import Iterable, Iterator

import faiss
import numpy as np

from ..locking import file_lock
from .base import Filters, Hit, ImageRecord, StoreError, VectorStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL UNIQUE,
    root TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    taken_at REAL NOT NULL,
    format TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS images_taken_at ON images (taken_at);
"""
RECORD_COLUMNS = ("id", "path", "root", "size", "mtime_ns", "width", "height", "taken_at", "format")


class EmbeddedStore(VectorStore):
    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.db_path = self.data_dir / "images.sqlite"
        self.index_path = self.data_dir / "vectors.faiss"
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(self.db_path, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)
            if self._meta("store_id") is None:  # names this database in the index marker, so a
                with self._db:                    # new database never loads an old database's file
                    self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', ?)",
                                     (secrets.token_hex(8),))
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the image store {self.db_path}: {exc}") from None
        self._index: faiss.Index | None = None
        self._index_generation = -1

    # --- meta -------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, str(value)))

    def _generation(self) -> int:
        return int(self._meta("generation") or 0)

    def _bump_generation(self) -> None:
        self._set_meta("generation", self._generation() + 1)

    @property
    def model_id(self) -> str | None:
        with self._lock:
            return self._meta("model_id")

    @property
    def dim(self) -> int | None:
        value = self._meta("dim")
        return int(value) if value else None

    def claim(self, model_id: str, dim: int, unit_vectors: bool = True) -> None:
        with self._lock, self._db:
            self.check_model(model_id)
            self._set_meta("model_id", model_id)
            self._set_meta("dim", dim)

    # --- writes -----------------------------------------------------------------------
    def upsert(self, records: list[ImageRecord], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(records) != len(vectors):
            raise ValueError("one vector per record")
        if self.dim is not None and len(records) and vectors.shape[1] != self.dim:
            raise StoreError(f"vectors have {vectors.shape[1]} dimensions, the store holds {self.dim}")
        rows = [(*(getattr(r, c) for c in RECORD_COLUMNS), v.tobytes()) for r, v in zip(records, vectors)]
        with self._lock, self._db:
            # Replacing by id or path gives the row a new rowid, which the faiss index follows.
            self._db.executemany(
                f"INSERT OR REPLACE INTO images ({', '.join(RECORD_COLUMNS)}, vector) "
                f"VALUES ({', '.join('?' * (len(RECORD_COLUMNS) + 1))})", rows)
            self._bump_generation()

    def delete(self, ids: Iterable[str]) -> None:
        with self._lock, self._db:
            self._db.executemany("DELETE FROM images WHERE id = ?", [(i,) for i in ids])
            self._bump_generation()

    def clear(self) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM images")
            self._db.execute("DELETE FROM meta WHERE key IN ('model_id', 'dim')")
            self._bump_generation()

    def flush(self) -> None:
        """Save the faiss index for the current generation, so the next start needs no rebuild."""
        with self._lock:
            self._current_index()

    # --- reads ------------------------------------------------------------------------
    def _record(self, row) -> ImageRecord:
        return ImageRecord(**dict(zip(RECORD_COLUMNS, row)))

    def get(self, image_id: str) -> ImageRecord | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {', '.join(RECORD_COLUMNS)} FROM images WHERE id = ?", (image_id,)).fetchone()
        return self._record(row) if row else None

    def get_vector(self, image_id: str) -> np.ndarray | None:
        with self._lock:
            row = self._db.execute("SELECT vector FROM images WHERE id = ?", (image_id,)).fetchone()
        return np.frombuffer(row[0], dtype=np.float32).copy() if row else None

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM images").fetchone()[0]

    def iter_records(self) -> Iterator[ImageRecord]:
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(RECORD_COLUMNS)} FROM images").fetchall()
        return (self._record(row) for row in rows)

    def knn(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[Hit]:
        query = np.ascontiguousarray(np.asarray(vector, dtype=np.float32).reshape(1, -1))
        with self._lock:
            index = self._current_index()
            if index.ntotal == 0 or k <= 0:
                return []
            if query.shape[1] != index.d:
                raise StoreError(f"query has {query.shape[1]} dimensions, the store holds {index.d}")
            params = None
            if filters:
                allowed = self._filtered_rowids(filters)
                if len(allowed) == 0:
                    return []
                params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
            scores, rowids = index.search(query, min(k, index.ntotal), params=params)
            return self._hits(rowids[0], scores[0])

    def _hits(self, rowids: np.ndarray, scores: np.ndarray) -> list[Hit]:
        found = [(int(r), float(s)) for r, s in zip(rowids, scores) if r >= 0]
        if not found:
            return []
        marks = ",".join("?" * len(found))
        rows = self._db.execute(
            f"SELECT rowid, {', '.join(RECORD_COLUMNS)} FROM images WHERE rowid IN ({marks})",
            [r for r, _ in found]).fetchall()
        by_rowid = {row[0]: self._record(row[1:]) for row in rows}
        return [Hit(by_rowid[r], s) for r, s in found if r in by_rowid]

    def _filtered_rowids(self, filters: Filters) -> np.ndarray:
        where, args = ["width >= ?", "height >= ?"], [filters.min_width, filters.min_height]
        if filters.folder:
            prefix = filters.folder.rstrip("/") + "/"
            where.append("substr(path, 1, ?) = ?")
            args += [len(prefix), prefix]
        if filters.date_from is not None:
            where.append("taken_at >= ?")
            args.append(filters.date_from)
        if filters.date_to is not None:
            where.append("taken_at < ?")
            args.append(filters.date_to)
        if filters.formats:
            where.append(f"format IN ({','.join('?' * len(filters.formats))})")
            args += list(filters.formats)
        rows = self._db.execute(f"SELECT rowid FROM images WHERE {' AND '.join(where)}", args).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    # --- the faiss index ----------------------------------------------------------------
    def _current_index(self) -> faiss.Index:
        """The index for SQLite's current generation: in memory, from disk, or rebuilt."""
        generation = self._generation()
        if self._index is not None and self._index_generation == generation:
            return self._index
        index = self._load_index(generation) or self._build_index()
        self._save_index(index, generation)
        self._index, self._index_generation = index, generation
        return index

    def _generation_path(self) -> Path:
        return self.index_path.with_suffix(".generation")

    def _load_index(self, generation: int) -> faiss.Index | None:
        try:
            # Shared lock: the file and its marker are read as one pair, never mid-save.
            with file_lock(self._index_lock_path(), shared=True):
                if self._read_marker() != self._marker(generation):
                    return None
                return faiss.read_index(str(self.index_path))
        except (OSError, ValueError, RuntimeError):
            return None  # missing, stale or damaged: rebuild from SQLite

    def _marker(self, generation: int) -> tuple[str, int]:
        return self._meta("store_id") or "", generation

    def _read_marker(self) -> tuple[str, int] | None:
        try:
            store_id, generation = self._generation_path().read_text().split()
            return store_id, int(generation)
        except (OSError, ValueError):
            return None

    def _index_lock_path(self) -> Path:
        return self.index_path.with_suffix(".lock")

    def _build_index(self) -> faiss.Index:
        dim = self.dim or 1
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        batch_rowids, batch_vectors = [], []
        for rowid, blob in self._db.execute("SELECT rowid, vector FROM images"):
            batch_rowids.append(rowid)
            batch_vectors.append(np.frombuffer(blob, dtype=np.float32))
            if len(batch_rowids) == 10_000:
                index.add_with_ids(np.vstack(batch_vectors), np.array(batch_rowids, dtype=np.int64))
                batch_rowids, batch_vectors = [], []
        if batch_rowids:
            index.add_with_ids(np.vstack(batch_vectors), np.array(batch_rowids, dtype=np.int64))
        return index

    def _save_index(self, index: faiss.Index, generation: int) -> None:
        """Index file first, then its generation, each by atomic rename, under an exclusive lock: the
        web app and the indexer both save, and unlocked their files and markers could interleave."""
        try:
            with file_lock(self._index_lock_path()):
                on_disk = self._read_marker()
                if on_disk and on_disk[0] == self._marker(generation)[0] and on_disk[1] >= generation:
                    return  # never replace a newer index with an older one
                for leftover in self.data_dir.glob("vectors.*tmp"):  # from a killed save
                    leftover.unlink(missing_ok=True)
                tmp = self.index_path.with_suffix(f".{os.getpid()}.tmp")
                faiss.write_index(index, str(tmp))
                os.replace(tmp, self.index_path)
                gen_tmp = self._generation_path().with_suffix(f".{os.getpid()}.gtmp")
                gen_tmp.write_text("%s %d" % self._marker(generation))
                os.replace(gen_tmp, self._generation_path())
        except OSError:
            pass  # a read-only data dir still searches, from memory

    def stats(self) -> dict:
        size = sum(p.stat().st_size for p in self.data_dir.glob("images.sqlite*") if p.exists())
        size += self.index_path.stat().st_size if self.index_path.exists() else 0
        return {"kind": "embedded (SQLite + faiss exact)", "location": str(self.data_dir),
                "count": self.count(), "model": self.model_id, "size_bytes": size}

    def close(self) -> None:
        with self._lock:
            self._db.close()
