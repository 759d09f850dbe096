"""The default store: SQLite is the source of truth, a faiss index beside it answers kNN.

Layout in the data directory:
  images.sqlite  -- one row per image: metadata and its float32 vector (WAL mode, transactions);
                    rowids only grow (AUTOINCREMENT) and a trigger logs every deleted rowid
                    names       -- an FTS5 index of each image's path below its indexed folder, kept by
                    triggers, for the low-confidence file-name fallback
  vectors.faiss  -- exact index up to ANN_THRESHOLD vectors, HNSW above, keyed by rowid, with a
                    header saying which SQLite state it reflects (last rowid, last deletion seen)
Every write bumps `generation` in SQLite and gives it a random token (table `generations`); an index
is used only where its (generation, token) is in the database's history, so an older database restored
beside a newer index file, or one restored and then written, rebuilds the index instead of adopting it.
A searcher (the web app while `flask index` runs) that sees a new generation catches up incrementally:
it adds rows past its last rowid and drops logged deletions (removed from a flat index, tombstoned in
HNSW, which cannot remove). A missing, damaged or too-old file (the deletion log was trimmed past it)
is rebuilt from SQLite.

Reads run concurrently: each thread reads SQLite through its own connection (WAL readers never
block each other or the writer), and searches share the faiss index under a readers-writer lock
(faiss releases the GIL while it searches); only catching the index up takes it exclusively.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import secrets
import shutil
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar
from urllib.parse import quote

import numpy as np
from readerwriterlock import rwlock

from image_search.atomic import leftovers
from image_search.errors import StoreError
from image_search.locking import file_lock
from image_search.stores.base import VECTOR_CHUNK, Filters, Hit, ImageRecord, VectorStore
from image_search.stores.embedded import faiss_index
from image_search.stores.embedded.faiss_index import INDEX_FORMAT, IndexState
from image_search.stores.embedded.options import AnnParams

if TYPE_CHECKING:  # imported where an index is searched: a run with nothing to embed never loads faiss
    import faiss

IMAGES_TABLE = """CREATE TABLE IF NOT EXISTS images (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
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
)"""
# Search filters (width, height, date, format, folder as a path range) read these two covering indexes, never the
# table, whose rows carry the vectors: a folder's filter over 100,000 rows of 384-d vectors took 78 ms scanning the
# table, 0.2 ms as a range of images_filters. images_by_date serves date ranges and the newest photos.
IMAGES_BY_DATE = "CREATE INDEX IF NOT EXISTS images_by_date ON images (taken_at, width, height, format, path)"
IMAGES_FILTERS = "CREATE INDEX IF NOT EXISTS images_filters ON images (path, width, height, taken_at, format)"
# Per-folder counts (home page, health) from this index: GROUP BY root over the table read every row, 6 s at
# 100,000 rows of 2280-d vectors; over the index, 6 ms.
IMAGES_BY_ROOT = "CREATE INDEX IF NOT EXISTS images_root ON images (root)"
# Per-type counts (the type picker on every results page), from this index in the same way.
IMAGES_BY_FORMAT = "CREATE INDEX IF NOT EXISTS images_format ON images (format)"
LOG_DELETIONS = """CREATE TRIGGER IF NOT EXISTS images_deleted AFTER DELETE ON images
    BEGIN INSERT INTO deleted (image_rowid) VALUES (old.rowid); END"""
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
{IMAGES_TABLE};
DROP INDEX IF EXISTS images_taken_at;
{IMAGES_BY_DATE};
{IMAGES_FILTERS};
{IMAGES_BY_ROOT};
{IMAGES_BY_FORMAT};
CREATE TABLE IF NOT EXISTS generations (generation INTEGER PRIMARY KEY, token TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deleted (seq INTEGER PRIMARY KEY AUTOINCREMENT, image_rowid INTEGER NOT NULL);
{LOG_DELETIONS};
"""
# The words of each path below its indexed folder ("trips/2023/Beach_day.jpg": trips 2023 beach day jpg),
# lower-cased and without accents ("Café" is found by "cafe"); "_" separates words, as in the query.
RELATIVE_PATH = (
    "CASE WHEN substr({0}.path, 1, length({0}.root)) = {0}.root "
    "THEN substr({0}.path, length({0}.root) + 1) ELSE {0}.path END"
)
NAMES_SCHEMA = [
    "CREATE VIRTUAL TABLE names USING fts5(name, tokenize = 'unicode61 remove_diacritics 2')",
    f"""CREATE TRIGGER names_added AFTER INSERT ON images
    BEGIN INSERT INTO names (rowid, name) VALUES (new.rowid, {RELATIVE_PATH.format("new")}); END""",
    "CREATE TRIGGER names_deleted AFTER DELETE ON images BEGIN DELETE FROM names WHERE rowid = old.rowid; END",
    f"""CREATE TRIGGER names_moved AFTER UPDATE OF path, root ON images
    BEGIN UPDATE names SET name = {RELATIVE_PATH.format("new")} WHERE rowid = new.rowid; END""",
    f"INSERT INTO names (rowid, name) SELECT rowid, {RELATIVE_PATH.format('images')} FROM images",  # older stores
]
# With a filter this selective, HNSW would wander a graph of mostly excluded nodes: score exactly.
EXACT_FILTER_LIMIT = 20_000
OPEN_TIMEOUT_S = 30
REBUILD_DIR = "rebuild"  # --rebuild's new store, beside the one searches use until it is swapped in
IDS_PER_QUERY = 500  # below SQLite's oldest limit on placeholders (999)
RECORD_COLUMNS = ("id", "path", "root", "size", "mtime_ns", "width", "height", "taken_at", "format")


P = ParamSpec("P")
R = TypeVar("R")


def sqlite_errors(method: Callable[P, R]) -> Callable[P, R]:
    """The one place SQLite's errors become StoreErrors (a 503 page, {"error"} JSON, one CLI line): a file
    corrupted, replaced or made read-only while the app runs fails the request that meets it, not the app."""

    @functools.wraps(method)
    def translated(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except sqlite3.DatabaseError as exc:  # also OperationalError ("disk I/O error", "readonly database")
            store = args[0]
            assert isinstance(store, EmbeddedStore)
            raise StoreError(f"the image store {store.db_path} cannot be used: {exc}") from None

    return translated


class EmbeddedStore(VectorStore):
    def __init__(self, data_dir: Path, ann: AnnParams | None = None):
        self.ann = ann or AnnParams()
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.db_path = self.data_dir / "images.sqlite"
        self.index_path = self.data_dir / "vectors.faiss"
        self._lock = threading.RLock()  # the write connection, and the index's bookkeeping
        self._index_lock = rwlock.RWLockWrite()  # searches share self._index; catching it up is exclusive
        self._local = threading.local()  # each thread's read connection
        self._readers: list[tuple[weakref.ref, sqlite3.Connection]] = []  # (thread, connection), to close
        self._readers_lock = threading.Lock()  # not self._lock: a new thread reads while a write runs
        # A backup or a shared disk: searched as it is, the faiss index kept in memory only (_save skips it)
        self.read_only = not os.access(self.data_dir, os.W_OK)
        self._db = self._open_read_only() if self.read_only else self._open_database()
        self._index: faiss.Index | None = None
        self._state = IndexState()  # what self._index reflects (a placeholder while there is none)
        self._tombstones: set[int] = set()
        self._not_tombstoned: tuple[faiss.IDSelectorNot, faiss.IDSelectorBatch] | None = None  # cached
        self._saved_generation = -1

    def _open_database(self) -> sqlite3.Connection:
        """Connect, switch to WAL and create the schema, retrying while another process holds the file.

        Switching the journal mode, or opening while another connection recovers the WAL, can answer
        "database is locked" at once, without waiting out the busy timeout: so retry the whole setup."""
        deadline = time.monotonic() + OPEN_TIMEOUT_S
        while True:
            db = sqlite3.connect(self.db_path, check_same_thread=False, timeout=OPEN_TIMEOUT_S)
            try:
                self._db = db
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA recursive_triggers=ON")  # so REPLACE's deletions are logged too
                self._migrate()
                db.executescript(SCHEMA)
                self._add_names_index()
                if self._meta("store_id") is None:  # names this database in its index file, so a new
                    with db:  # database never adopts an old database's index
                        db.execute(
                            "INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', ?)", (secrets.token_hex(8),)
                        )
                return db
            except sqlite3.OperationalError as exc:
                db.close()
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise StoreError(f"cannot open the image store {self.db_path}: {exc}") from None
                time.sleep(0.05)
            except sqlite3.DatabaseError as exc:
                db.close()
                raise StoreError(f"cannot open the image store {self.db_path}: {exc}") from None

    def _open_read_only(self) -> sqlite3.Connection:
        """Open without writing anything beside the file. A database closed cleanly has no WAL left and opens
        only as immutable (read-only WAL mode needs the -shm file, which cannot be made here)."""
        if not self.db_path.is_file():
            raise StoreError(
                f"the data directory {self.data_dir} is read-only and holds no image store (images.sqlite): "
                f"index into a writable data directory first"
            )
        uri = f"file:{quote(str(self.db_path))}?mode=ro"
        try:
            db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            wal = self.db_path.with_name(self.db_path.name + "-wal")
            if wal.exists() and wal.stat().st_size:
                raise StoreError(
                    f"the data directory {self.data_dir} is read-only and {wal.name} holds writes that cannot be "
                    f"read without writing beside it: copy the data directory while no process has it open"
                ) from None
            db = sqlite3.connect(uri + "&immutable=1", uri=True, check_same_thread=False)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the image store {self.db_path}: {exc}") from None
        self._db = db
        try:
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'generations'").fetchone() is None:
                # A store from before generation tokens: an empty stand-in, in memory, so reads need no branch
                db.execute("CREATE TEMP TABLE generations (generation INTEGER PRIMARY KEY, token TEXT NOT NULL)")
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'names'").fetchone() is None:
                # A store from before the names index: one in memory, filled from its rows
                db.execute(NAMES_SCHEMA[0].replace("CREATE VIRTUAL TABLE names", "CREATE VIRTUAL TABLE temp.names"))
                db.execute(NAMES_SCHEMA[-1])
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the image store {self.db_path}: {exc}") from None
        return db

    def _migrate(self) -> None:
        """Stores made before rowids were AUTOINCREMENT could reuse a deleted rowid: copy them over."""
        row = self._db.execute("SELECT sql FROM sqlite_master WHERE name = 'images'").fetchone()
        if row and "AUTOINCREMENT" not in row[0]:
            self._db.execute("BEGIN")  # all or nothing
            try:
                self._db.execute("ALTER TABLE images RENAME TO images_v1")
                for index in ("images_taken_at", "images_by_date", "images_filters", "images_root", "images_format"):
                    self._db.execute(f"DROP INDEX IF EXISTS {index}")
                self._db.execute(IMAGES_TABLE)
                self._db.execute("INSERT INTO images SELECT * FROM images_v1")
                self._db.execute("DROP TABLE images_v1")
                self._db.commit()
            except BaseException:
                self._db.rollback()
                raise

    def _add_names_index(self) -> None:
        """Stores made before the names index get it, filled from their rows, all or nothing."""
        exists = "SELECT 1 FROM sqlite_master WHERE name = 'names'"
        if self._db.execute(exists).fetchone():
            return
        # Another process (an indexer and the web app starting together) may be adding it too: take the write
        # lock first and look again, or the second CREATE failed with "table names already exists".
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if not self._db.execute(exists).fetchone():
                for statement in NAMES_SCHEMA:
                    self._db.execute(statement)
            self._db.commit()
        except BaseException:
            self._db.rollback()
            raise

    def _reader(self) -> sqlite3.Connection:
        """This thread's read connection: WAL readers see the last commit and never wait for each other."""
        if self.read_only:  # its one read-only (maybe immutable) connection: a new one could not open the WAL
            return self._db
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.db_path, check_same_thread=False, timeout=OPEN_TIMEOUT_S)
            db.execute("PRAGMA query_only=ON")
            with self._readers_lock:
                for _, old in [r for r in self._readers if r[0]() is None]:  # threads gone since
                    old.close()
                self._readers = [r for r in self._readers if r[0]() is not None]
                self._readers.append((weakref.ref(threading.current_thread()), db))
            self._local.db = db
        return db

    # --- meta -------------------------------------------------------------------------
    def _meta(self, key: str, db: sqlite3.Connection | None = None) -> str | None:
        row = (db or self._db).execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, str(value)))

    def _generation(self, db: sqlite3.Connection | None = None) -> int:
        return int(self._meta("generation", db) or 0)

    def _token(self, generation: int) -> str | None:
        """The random token written with `generation` (None for generation 0 and stores older than tokens)."""
        row = self._db.execute("SELECT token FROM generations WHERE generation = ?", (generation,)).fetchone()
        return row[0] if row else None

    def _bump_generation(self) -> None:
        generation = self._generation() + 1
        self._set_meta("generation", generation)
        self._db.execute(
            "INSERT OR REPLACE INTO generations (generation, token) VALUES (?, ?)", (generation, secrets.token_hex(8))
        )

    def _in_history(self, state: IndexState) -> bool:
        """Whether this database went through the state an index reflects: an index of a newer generation,
        or of one this database reached another way (restored from a backup, then written), is not its own."""
        return state.generation <= self._generation() and state.token == self._token(state.generation)

    @property
    @sqlite_errors
    def model_id(self) -> str | None:
        return self._meta("model_id", self._reader())

    @property
    @sqlite_errors
    def dim(self) -> int | None:
        value = self._meta("dim")
        return int(value) if value else None

    @sqlite_errors
    def claim(self, model_id: str, dim: int, unit_vectors: bool = True) -> None:
        with self._lock, self._db:
            self.check_model(model_id)
            self._set_meta("model_id", model_id)
            self._set_meta("dim", dim)

    # --- writes -----------------------------------------------------------------------
    @sqlite_errors
    def upsert(self, records: list[ImageRecord], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(records) != len(vectors):
            raise ValueError("one vector per record")
        if self.dim is not None and len(records) and vectors.shape[1] != self.dim:
            raise StoreError(f"vectors have {vectors.shape[1]} dimensions, the store holds {self.dim}")
        rows = [(*(getattr(r, c) for c in RECORD_COLUMNS), v.tobytes()) for r, v in zip(records, vectors, strict=True)]
        with self._lock, self._db:
            # Replacing by id or path gives the row a new rowid, which the faiss index follows.
            self._db.executemany(
                f"INSERT OR REPLACE INTO images ({', '.join(RECORD_COLUMNS)}, vector) "
                f"VALUES ({', '.join('?' * (len(RECORD_COLUMNS) + 1))})",
                rows,
            )
            self._bump_generation()

    @sqlite_errors
    def delete(self, ids: Iterable[str]) -> None:
        with self._lock, self._db:
            self._db.executemany("DELETE FROM images WHERE id = ?", [(i,) for i in ids])
            self._bump_generation()

    @sqlite_errors
    def clear(self) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM images")
            self._db.execute("DELETE FROM meta WHERE key IN ('model_id', 'dim')")
            self._trim_log(self._log_head())  # every index is now stale: all rebuild
            self._bump_generation()

    @sqlite_errors
    @contextmanager
    def rebuilding(self) -> Iterator[EmbeddedStore]:
        """A new store in <data dir>/rebuild/, swapped in by `_take_over`. The caller holds the index lock,
        so a folder left there is a killed rebuild's, safe to delete."""
        staging_dir = self.data_dir / REBUILD_DIR
        shutil.rmtree(staging_dir, ignore_errors=True)
        staging = EmbeddedStore(staging_dir, self.ann)
        try:
            yield staging
            staging.flush()  # its faiss index saved, so searchers load it instead of building one
            staging.close()
            self._take_over(staging)
        finally:
            staging.close()
            shutil.rmtree(staging_dir, ignore_errors=True)

    @sqlite_errors
    def _take_over(self, staging: EmbeddedStore) -> None:
        """Make this store's content the staging store's: its index file first, then every table in one
        transaction (readers see the old rows until it commits). The new store id makes every searcher's
        index of the old content unusable; they load the new file, which matches the new history. The index
        file's lock is held throughout, so no searcher saves an index of the old content over the new file."""
        with self._lock, file_lock(self.index_path.with_suffix(".lock")):
            if staging.index_path.exists():
                os.replace(staging.index_path, self.index_path)
            self._db.execute("ATTACH DATABASE ? AS staging", (str(staging.db_path),))
            try:
                self._db.execute("BEGIN IMMEDIATE")  # all or nothing (sqlite3 would not begin before a DROP)
                try:
                    # Dropped, not emptied: its trigger goes with it, so no deletion is logged per old row.
                    for statement in (
                        "DROP TABLE main.images",
                        IMAGES_TABLE,
                        IMAGES_BY_DATE,
                        IMAGES_FILTERS,
                        IMAGES_BY_ROOT,
                        IMAGES_BY_FORMAT,
                        LOG_DELETIONS,
                    ):
                        self._db.execute(statement)
                    # The names index's triggers went with the table: made again, they fill it as rows come in
                    self._db.execute("DELETE FROM main.names")
                    for statement in NAMES_SCHEMA[1:-1]:
                        self._db.execute(statement)
                    for table in ("images", "deleted", "generations", "meta", "sqlite_sequence"):
                        self._db.execute(f"DELETE FROM main.{table}")
                        self._db.execute(f"INSERT INTO main.{table} SELECT * FROM staging.{table}")
                    self._db.commit()
                except BaseException:
                    self._db.rollback()
                    raise
            finally:
                self._db.execute("DETACH DATABASE staging")
            self._index = None  # this process's own index of the old content

    def flush(self) -> None:
        """Bring the index up to date, rebuild it when it has outgrown its kind or collected too
        many tombstones, and save it, so searchers (and the next start) load instead of building."""
        with self._lock:
            with self._index_lock.gen_wlock():
                index = self._current_index()
            live = index.ntotal - len(self._tombstones)
            hnsw = faiss_index.is_hnsw(index)
            limit = self.ann.exact_limit(index.d)
            outgrown = live > limit if not hnsw else live <= limit // 2
            # int8 ranges learnt from the first few vectors: learn again as the collection grows
            trained_on = live if self._state.trained_on is None else self._state.trained_on
            retrain = trained_on * 10 < min(live, 1_000_000)
            if outgrown or retrain or len(self._tombstones) > self.ann.rebuild_fraction * max(index.ntotal, 1):
                with self._index_lock.gen_wlock():
                    index = self._current_index(rebuild=True)  # sized for `live`, no tombstones
            if self._saved_generation != self._state.generation:
                with self._index_lock.gen_rlock():  # searches go on while it is written
                    self._save()
            log_rows = self._db.execute("SELECT COUNT(*) FROM deleted").fetchone()[0]
            if log_rows > max(10_000, self.ann.rebuild_fraction * index.ntotal) and not self._tombstones:
                with self._db:  # others reload the file just saved, which is past the trimmed log
                    self._trim_log(self._state.log_seq, self._state.generation)

    # --- reads ------------------------------------------------------------------------
    def _record(self, row) -> ImageRecord:
        return ImageRecord(**dict(zip(RECORD_COLUMNS, row, strict=True)))

    @sqlite_errors
    def get(self, image_id: str) -> ImageRecord | None:
        row = (
            self._reader()
            .execute(f"SELECT {', '.join(RECORD_COLUMNS)} FROM images WHERE id = ?", (image_id,))
            .fetchone()
        )
        return self._record(row) if row else None

    @sqlite_errors
    def get_vector(self, image_id: str) -> np.ndarray | None:
        row = self._reader().execute("SELECT vector FROM images WHERE id = ?", (image_id,)).fetchone()
        return np.frombuffer(row[0], dtype=np.float32).copy() if row else None

    @sqlite_errors
    def get_many(self, ids: Sequence[str]) -> dict[str, ImageRecord]:
        columns = ", ".join(RECORD_COLUMNS)
        rows = self._rows_by_id(f"SELECT {columns} FROM images WHERE id IN ({{marks}})", ids)
        return {row[0]: self._record(row) for row in rows}

    @sqlite_errors
    def get_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        rows = self._rows_by_id("SELECT id, vector FROM images WHERE id IN ({marks})", ids)
        return {row[0]: np.frombuffer(row[1], dtype=np.float32).copy() for row in rows}

    def _rows_by_id(self, sql: str, ids: Sequence[str]) -> list[tuple]:
        """`sql` (with `{marks}` for the placeholders) run over `ids`, IDS_PER_QUERY at a time."""
        unique = list(dict.fromkeys(ids))
        reader = self._reader()
        rows: list[tuple] = []
        for start in range(0, len(unique), IDS_PER_QUERY):
            chunk = unique[start : start + IDS_PER_QUERY]
            rows += reader.execute(sql.format(marks=", ".join("?" * len(chunk))), chunk).fetchall()
        return rows

    def _log_head(self) -> int:
        row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'deleted'").fetchone()
        return row[0] if row else 0

    def _trim_log(self, upto: int, generation: int | None = None) -> None:
        """Forget deletions up to `upto`, and the tokens of generations before `generation`: indexes that
        old rebuild from SQLite (the log no longer reaches back to them)."""
        self._db.execute("DELETE FROM deleted WHERE seq <= ?", (upto,))
        self._set_meta("log_floor", upto)
        self._db.execute(
            "DELETE FROM generations WHERE generation < ?", (self._generation() if generation is None else generation,)
        )

    @sqlite_errors
    def count(self) -> int:
        return self._reader().execute("SELECT COUNT(*) FROM images").fetchone()[0]

    def iter_records(self) -> Iterator[ImageRecord]:
        """In rowid order, VECTOR_CHUNK rows per read: a million records are never all in memory."""
        after = 0
        while rows := self._record_rows(after):
            after = rows[-1][0]
            yield from (self._record(row[1:]) for row in rows)

    def records_under(self, prefix: str) -> Iterator[ImageRecord]:
        """A range of the path index, read in path order a chunk at a time: only the records under the
        folder are read (a watch prunes a deleted file's folder in milliseconds at a million records)."""
        after, upper = prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)  # past every path starting with prefix
        first = True
        while rows := self._rows_in_path_range(after, upper, inclusive=first):
            after, first = rows[-1][1], False
            yield from (self._record(row) for row in rows)

    @sqlite_errors
    def _rows_in_path_range(self, after: str, upper: str, inclusive: bool) -> list:
        return (
            self._reader()
            .execute(
                f"SELECT {', '.join(RECORD_COLUMNS)} FROM images WHERE path {'>=' if inclusive else '>'} ? "
                f"AND path < ? ORDER BY path LIMIT ?",
                (after, upper, VECTOR_CHUNK),
            )
            .fetchall()
        )

    @sqlite_errors
    def _record_rows(self, after: int) -> list:
        return (
            self._reader()
            .execute(
                f"SELECT rowid, {', '.join(RECORD_COLUMNS)} FROM images WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (after, VECTOR_CHUNK),
            )
            .fetchall()
        )

    @sqlite_errors
    def known_files(self, paths: Sequence[str]) -> dict[str, tuple[int, int]]:
        """One query on the path index for the whole chunk (the paths passed as one JSON array)."""
        rows = self._reader().execute(
            "SELECT path, size, mtime_ns FROM images WHERE path IN (SELECT value FROM json_each(?))",
            (json.dumps(list(paths)),),
        )
        return {path: (size, mtime_ns) for path, size, mtime_ns in rows}

    @sqlite_errors
    def recent(self, k: int) -> list[ImageRecord]:
        rows = (
            self._reader()
            .execute(f"SELECT {', '.join(RECORD_COLUMNS)} FROM images ORDER BY taken_at DESC, rowid DESC LIMIT ?", (k,))
            .fetchall()
        )
        return [self._record(row) for row in rows]

    @sqlite_errors
    def root_counts(self) -> dict[str, int]:
        return dict(self._reader().execute("SELECT root, COUNT(*) FROM images GROUP BY root").fetchall())

    @sqlite_errors
    def format_counts(self) -> dict[str, int]:
        return dict(self._reader().execute("SELECT format, COUNT(*) FROM images GROUP BY format").fetchall())

    @sqlite_errors
    def count_ids(self, ids: list[str]) -> int:
        db, total = self._reader(), 0
        for start in range(0, len(ids), 500):  # under SQLite's limit of bound parameters
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            total += db.execute(f"SELECT COUNT(*) FROM images WHERE id IN ({marks})", chunk).fetchone()[0]
        return total

    def iter_vectors(self, chunk: int = VECTOR_CHUNK) -> Iterator[tuple[list[ImageRecord], np.ndarray]]:
        """In rowid order, one short read per chunk (the lock is not held between chunks)."""
        after = 0
        while rows := self._rows_after(after, chunk):
            after = rows[-1][0]
            vectors = np.frombuffer(b"".join(row[-1] for row in rows), dtype=np.float32).reshape(len(rows), -1)
            yield [self._record(row[1:-1]) for row in rows], vectors

    @sqlite_errors
    def _rows_after(self, rowid: int, limit: int) -> list:
        with self._lock:
            return self._db.execute(
                f"SELECT rowid, {', '.join(RECORD_COLUMNS)}, vector FROM images WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (rowid, limit),
            ).fetchall()

    @sqlite_errors
    def generation(self) -> str:
        """With its token and the store's id: a restored or rebuilt database may reach the same number."""
        with self._lock:
            generation = self._generation()
            return f"{self._meta('store_id')} generation {generation} {self._token(generation)}"

    @sqlite_errors
    def name_matches(
        self, words: list[str], k: int, filters: Filters | None = None
    ) -> list[tuple[ImageRecord, np.ndarray]]:
        """From the FTS5 names index: no scan over the records, whatever the collection's size."""
        words = list(dict.fromkeys(words))
        if not words or k <= 0:
            return []
        db = self._reader()
        # One prefix query per word ("beach"* finds Beach_day.jpg); a row's count is how many words it matched.
        matched = " UNION ALL ".join(["SELECT rowid FROM names WHERE names MATCH ?"] * len(words))
        args: list[object] = ['"' + w.replace('"', '""') + '"*' for w in words]
        # The join to images is only for filters: looking up every matched row there cost 25 ms of the 28 of a
        # query whose words each match 5 % of 100,000 names.
        where, filter_args = self._filter_sql(filters) if filters else ("1", [])
        join = f"JOIN images ON images.rowid = m.r WHERE {where}" if filters else ""
        ranked = db.execute(
            f"WITH m(r) AS ({matched}) SELECT m.r, COUNT(*) AS n FROM m {join} "
            "GROUP BY m.r ORDER BY n DESC, m.r LIMIT ?",
            [*args, *filter_args, k],
        ).fetchall()
        if not ranked:
            return []
        marks = ",".join("?" * len(ranked))
        rows = db.execute(
            f"SELECT rowid, {', '.join(RECORD_COLUMNS)}, vector FROM images WHERE rowid IN ({marks})",
            [r for r, _ in ranked],
        ).fetchall()
        by_rowid = {row[0]: (self._record(row[1:-1]), np.frombuffer(row[-1], dtype=np.float32)) for row in rows}
        return [by_rowid[r] for r, _ in ranked if r in by_rowid]

    @sqlite_errors
    def knn(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[Hit]:
        query = np.ascontiguousarray(np.asarray(vector, dtype=np.float32).reshape(1, -1))
        db = self._reader()
        with self._searchable(db) as index:
            live = index.ntotal - len(self._tombstones)
            if live <= 0 or k <= 0:
                return []
            if query.shape[1] != index.d:
                raise StoreError(f"query has {query.shape[1]} dimensions, the store holds {index.d}")
            sel, ef_scale = self._not_tombstoned_selector(), 1.0
            if filters:
                where, args = self._filter_sql(filters)
                rows = db.execute(f"SELECT rowid FROM images WHERE {where}", args)
                allowed = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64)
                if len(allowed) == 0:
                    return []
                if faiss_index.is_hnsw(index) and len(allowed) <= EXACT_FILTER_LIMIT:
                    return self._exact_knn(db, query, k, where, args)
                sel = faiss_index.id_bitmap(allowed)  # only live rows: tombstones are excluded too
                ef_scale = min(live / len(allowed), 16.0)
                live = len(allowed)
            fetch = min(k * faiss_index.RESCORE_FACTOR[self.ann.codec], live)
            params = faiss_index.search_params(index, self.ann, sel, fetch, ef_scale)
            scores, rowids = index.search(query, fetch, params=params)
        if self.ann.codec != "float32":
            return self._rescored(db, query, rowids[0][rowids[0] >= 0], k)
        return self._hits(db, rowids[0], scores[0])

    @contextmanager
    def _searchable(self, db: sqlite3.Connection) -> Iterator[faiss.Index]:
        """The index of SQLite's current generation, shared with other searches while the caller uses it.
        Only a search that finds it behind catches it up, alone."""
        generation = self._generation(db)
        with self._index_lock.gen_rlock():
            if self._index is not None and self._state.generation == generation:
                yield self._index
                return
        with self._lock, self._index_lock.gen_wlock():
            self._current_index()
        with self._index_lock.gen_rlock():
            assert self._index is not None  # just caught up; later replaced, never unset
            yield self._index

    def _not_tombstoned_selector(self):
        if self._tombstones and self._not_tombstoned is None:
            import faiss

            batch = faiss.IDSelectorBatch(np.fromiter(self._tombstones, dtype=np.int64))
            self._not_tombstoned = (faiss.IDSelectorNot(batch), batch)  # keep `batch` alive
        return self._not_tombstoned[0] if self._tombstones and self._not_tombstoned else None

    def _exact_knn(self, db: sqlite3.Connection, query: np.ndarray, k: int, where: str, args: list) -> list[Hit]:
        rows = db.execute(f"SELECT rowid, vector FROM images WHERE {where}", args).fetchall()
        return self._top_exact(db, query, rows, k)

    def _rescored(self, db: sqlite3.Connection, query: np.ndarray, rowids: np.ndarray, k: int) -> list[Hit]:
        """Exact scores from SQLite's float32 vectors for the candidates a compact index found."""
        marks = ",".join("?" * len(rowids))
        rows = db.execute(f"SELECT rowid, vector FROM images WHERE rowid IN ({marks})", rowids.tolist()).fetchall()
        return self._top_exact(db, query, rows, k)

    def _top_exact(self, db: sqlite3.Connection, query: np.ndarray, rows: list, k: int) -> list[Hit]:
        if not rows:
            return []
        vectors = np.frombuffer(b"".join(v for _, v in rows), dtype=np.float32).reshape(len(rows), -1)
        scores = vectors @ query[0]
        top = np.argsort(-scores, kind="stable")[:k]
        return self._hits(db, np.array([rows[i][0] for i in top]), scores[top])

    def _hits(self, db: sqlite3.Connection, rowids: np.ndarray, scores: np.ndarray) -> list[Hit]:
        found = [(int(r), float(s)) for r, s in zip(rowids, scores, strict=True) if r >= 0]
        if not found:
            return []
        marks = ",".join("?" * len(found))
        rows = db.execute(
            f"SELECT rowid, {', '.join(RECORD_COLUMNS)} FROM images WHERE rowid IN ({marks})", [r for r, _ in found]
        ).fetchall()
        by_rowid = {row[0]: self._record(row[1:]) for row in rows}
        return [Hit(by_rowid[r], s) for r, s in found if r in by_rowid]

    def _filter_sql(self, filters: Filters) -> tuple[str, list]:
        where = ["width >= ?", "height >= ?"]
        args: list[object] = [filters.min_width, filters.min_height]
        if filters.folder:
            # Paths starting with prefix, as a range of images_filters: "0" is the character after "/"
            prefix = filters.folder.rstrip("/") + "/"
            where.append("path >= ? AND path < ?")
            args += [prefix, prefix[:-1] + "0"]
        if filters.date_from is not None:
            where.append("taken_at >= ?")
            args.append(filters.date_from)
        if filters.date_to is not None:
            where.append("taken_at < ?")
            args.append(filters.date_to)
        if filters.formats:
            # "+": not through images_format (per-type counts), whose every match would read its row from the table
            where.append(f"+format IN ({','.join('?' * len(filters.formats))})")
            args += list(filters.formats)
        return " AND ".join(where), args

    # --- the faiss index ----------------------------------------------------------------
    def _current_index(self, rebuild: bool = False) -> faiss.Index:
        """The index for SQLite's current generation: in memory or from disk, caught up, or rebuilt."""
        if (
            self._index is not None
            and self._state.generation == self._generation()
            and self._state.token == self._token(self._state.generation)
            and not rebuild
        ):
            return self._index
        self._db.execute("BEGIN")  # one snapshot: the rows and the deletion log agree
        try:
            floor, dim, index = int(self._meta("log_floor") or 0), self.dim or 1, self._index
            if rebuild:
                index = self._adopt(None, None, floor, dim)
            elif index is None or not self._usable(self._state, floor, dim):
                loaded, state = faiss_index.read(self.index_path) or (None, None)
                index = self._adopt(loaded, state, floor, dim)
            self._catch_up(index)
            self._not_tombstoned_selector()  # built here, under the exclusive lock, so searches only read it
        finally:
            self._db.commit()
        if self._saved_generation == -1:
            self._save()  # the first index of this process was built or caught up: keep it
        return index

    def _usable(self, state: IndexState, floor: int, dim: int) -> bool:
        return (
            state.format == INDEX_FORMAT
            and state.store_id == self._meta("store_id")
            and state.log_seq >= floor
            and state.dim == dim
            and state.codec == self.ann.codec
            and self._in_history(state)
        )

    def _adopt(self, index: faiss.Index | None, state: IndexState | None, floor: int, dim: int) -> faiss.Index:
        """Take the loaded index if it is usable, else start an empty one to fill from SQLite."""
        if index is None or state is None or not self._usable(state, floor, dim):
            live = self._db.execute("SELECT COUNT(*) FROM images").fetchone()[0]
            index = faiss_index.new_index(dim, live, self.ann)
            state = IndexState(store_id=self._meta("store_id"), log_seq=self._log_head(), dim=dim, codec=self.ann.codec)
            self._saved_generation = -1
        else:
            self._saved_generation = state.generation
        self._index, self._state = index, state
        self._tombstones, self._not_tombstoned = set(state.tombstones), None
        return index

    def _catch_up(self, index: faiss.Index) -> None:
        """Add rows past the index's last rowid; drop rows deleted since its last log entry."""
        state = self._state
        gone = [
            r
            for (r,) in self._db.execute(
                "SELECT image_rowid FROM deleted WHERE seq > ? AND image_rowid <= ?", (state.log_seq, state.max_rowid)
            )
        ]
        if gone and faiss_index.is_hnsw(index):
            self._tombstones.update(gone)
            self._not_tombstoned = None
        elif gone:
            index.remove_ids(np.array(gone, dtype=np.int64))  # type: ignore[arg-type]  # wrapper takes ids
        rowids: list[int] = []
        vectors: list[np.ndarray] = []
        for rowid, blob in self._db.execute(
            "SELECT rowid, vector FROM images WHERE rowid > ? ORDER BY rowid", (state.max_rowid,)
        ):
            rowids.append(rowid)
            vectors.append(np.frombuffer(blob, dtype=np.float32))
            if len(rowids) == 10_000:
                self._add(index, rowids, vectors)
                rowids, vectors = [], []
        self._add(index, rowids, vectors)
        state.log_seq = self._log_head()
        state.generation = self._generation()
        state.token = self._token(state.generation)

    def _add(self, index: faiss.Index, rowids: list[int], vectors: list[np.ndarray]) -> None:
        trained_on = faiss_index.add(index, rowids, vectors)
        if trained_on is not None:
            self._state.trained_on = trained_on
        if rowids:
            self._state.max_rowid = rowids[-1]

    def _save(self) -> None:
        """Write the index under an exclusive lock: the web app and the indexer both save. An older
        index never replaces a newer one (it would be correct, after catching up, but slower)."""
        if self._index is None or self.read_only:
            return  # nothing loaded or built yet, or nowhere to keep it
        try:
            with file_lock(self.index_path.with_suffix(".lock")):
                on_disk = faiss_index.read_state(self.index_path)
                if (
                    on_disk is not None
                    and on_disk.store_id == self._state.store_id
                    and on_disk.generation > self._state.generation
                    and self._in_history(on_disk)
                ):
                    self._saved_generation = self._state.generation
                    return
                # From a save killed midway: atomic_write's, and vectors.<pid>.tmp of older versions.
                # Safe to delete under the lock, which every writer of the index holds.
                for leftover in leftovers(self.index_path) + list(self.data_dir.glob("vectors.*.tmp")):
                    leftover.unlink(missing_ok=True)
                self._state.tombstones = sorted(self._tombstones)
                faiss_index.write(self._index, self._state, self.index_path)
                self._saved_generation = self._state.generation
        except OSError:
            pass  # a read-only data dir still searches, from memory

    @property
    def kind(self) -> str:
        return str(self.stats()["kind"])

    @sqlite_errors
    def stats(self) -> dict:
        size = sum(p.stat().st_size for p in self.data_dir.glob("images.sqlite*") if p.exists())
        size += self.index_path.stat().st_size if self.index_path.exists() else 0
        count = self.count()
        with self._lock:  # never build an index just to name its kind
            hnsw = (
                faiss_index.is_hnsw(self._index)
                if self._index is not None
                else count > self.ann.exact_limit(self.dim or 1)
            )
        kind = ("HNSW" if hnsw else "exact") + (f", {self.ann.codec}" if self.ann.codec != "float32" else "")
        return {
            "kind": f"embedded (SQLite + faiss {kind})",
            "location": str(self.data_dir),
            "count": count,
            "model": self.model_id,
            "size_bytes": size,
        }

    @sqlite_errors
    def close(self) -> None:
        with self._lock, self._readers_lock:
            for _, reader in self._readers:
                reader.close()
            self._readers = []
            self._local = threading.local()
            self._db.close()
