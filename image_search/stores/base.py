"""The VectorStore interface: image records with one vector each, searched by k nearest neighbours."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field

import numpy as np

from image_search.errors import ModelMismatch

VECTOR_CHUNK = 2000  # records per chunk of a bulk pass: a few MB of vectors


def image_id_for(path: str) -> str:
    """Stable id of an image, derived from its absolute path, so re-indexing updates instead of duplicating."""
    return hashlib.sha1(path.encode("utf-8", "surrogateescape")).hexdigest()[:20]


@dataclass
class ImageRecord:
    """What the app knows about one indexed image file."""

    path: str  # absolute path the file was indexed from
    root: str  # the indexed folder it was found under
    size: int  # bytes
    mtime_ns: int
    width: int
    height: int
    taken_at: float  # EXIF DateTimeOriginal as epoch seconds, else the file's mtime
    format: str  # Pillow's format name, e.g. JPEG
    id: str = field(default="")

    def __post_init__(self):
        if not self.id:
            self.id = image_id_for(self.path)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def relative_path(self) -> str:
        return self.path[len(self.root) :].lstrip("/") if self.path.startswith(self.root) else self.name

    @property
    def folder(self) -> str:
        return self.path.rsplit("/", 1)[0]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Hit:
    record: ImageRecord
    score: float
    by_name: bool = False  # found by its file or folder name (the low-confidence fallback), not by the model

    @property
    def id(self) -> str:
        return self.record.id


@dataclass
class Filters:
    """Metadata conditions applied inside the kNN search, so k matching hits come back when they exist."""

    folder: str | None = None  # absolute path prefix
    date_from: float | None = None  # epoch seconds, inclusive
    date_to: float | None = None  # epoch seconds, exclusive
    formats: tuple[str, ...] = ()  # Pillow format names
    min_width: int = 0
    min_height: int = 0

    def __bool__(self) -> bool:
        return any(
            [
                self.folder,
                self.date_from is not None,
                self.date_to is not None,
                self.formats,
                self.min_width,
                self.min_height,
            ]
        )

    def matches(self, record: ImageRecord) -> bool:
        return (
            (not self.folder or record.path.startswith(self.folder.rstrip("/") + "/"))
            and (self.date_from is None or record.taken_at >= self.date_from)
            and (self.date_to is None or record.taken_at < self.date_to)
            and (not self.formats or record.format in self.formats)
            and record.width >= self.min_width
            and record.height >= self.min_height
        )


class VectorStore(ABC):
    """One record and one vector per image; search is k nearest neighbours by inner product."""

    @property
    @abstractmethod
    def model_id(self) -> str | None:
        """The model whose vectors the store holds; None while it is empty and unclaimed."""

    def check_model(self, model_id: str) -> None:
        """Raise ModelMismatch unless the store is empty-and-unclaimed or holds `model_id` vectors."""
        if self.model_id is not None and self.model_id != model_id:
            raise ModelMismatch(self.model_id, model_id)

    @abstractmethod
    def claim(self, model_id: str, dim: int, unit_vectors: bool = True) -> None:
        """Record the model that makes this store's vectors (refuses another model's: ModelMismatch).

        unit_vectors: whether that model's vectors are L2-normalised (a store may rely on it)."""

    @abstractmethod
    def upsert(self, records: list[ImageRecord], vectors: np.ndarray) -> None:
        """Add or replace records (by id) with their vectors, as one batch.

        Raises WriteFailures when some records were refused; the others are written."""

    @abstractmethod
    def delete(self, ids: Iterable[str]) -> None: ...

    @abstractmethod
    def get(self, image_id: str) -> ImageRecord | None: ...

    @abstractmethod
    def get_vector(self, image_id: str) -> np.ndarray | None: ...

    def get_many(self, ids: Sequence[str]) -> dict[str, ImageRecord]:
        """The records of those of `ids` the store holds, by id (a selection to download: hundreds at once).
        This fallback gets each by id; the stores ask once a chunk."""
        records = {image_id: self.get(image_id) for image_id in dict.fromkeys(ids)}
        return {image_id: record for image_id, record in records.items() if record is not None}

    def get_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The vectors of those of `ids` the store holds, by id (a results page's tiles). This fallback gets
        each by id; the stores ask once a chunk."""
        vectors = {image_id: self.get_vector(image_id) for image_id in dict.fromkeys(ids)}
        return {image_id: vector for image_id, vector in vectors.items() if vector is not None}

    @abstractmethod
    def count(self) -> int: ...

    @abstractmethod
    def knn(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[Hit]:
        """The k records whose vectors have the largest inner product with `vector`, best first."""

    @abstractmethod
    def name_matches(
        self, words: list[str], k: int, filters: Filters | None = None
    ) -> list[tuple[ImageRecord, np.ndarray]]:
        """Up to k records (with their vectors) whose path below the indexed folder has a word starting
        with one of `words` (lower case), those matching more of the words first. From an index of the
        names, never a scan over every record: the low-confidence fallback runs on web requests."""

    @abstractmethod
    def recent(self, k: int) -> list[ImageRecord]:
        """The k records taken most recently (EXIF time, else the file's), newest first: the home page's,
        so from an index on that time, never a scan."""

    @abstractmethod
    def iter_records(self) -> Iterator[ImageRecord]:
        """Every record (for incremental indexing and pruning)."""

    def known_files(self, paths: Sequence[str]) -> dict[str, tuple[int, int]]:
        """(size, mtime_ns) of those of `paths` the store holds. Planning asks one chunk of walked paths at a
        time, so it never holds every record. This fallback gets each by id; the stores ask once a chunk."""
        found = {}
        for path in paths:
            record = self.get(image_id_for(path))
            if record is not None and record.path == path:
                found[path] = (record.size, record.mtime_ns)
        return found

    def records_under(self, prefix: str) -> Iterator[ImageRecord]:
        """The records whose path starts with `prefix` (a folder ending in "/"), for pruning, streamed.
        This fallback filters iter_records."""
        return (r for r in self.iter_records() if r.path.startswith(prefix))

    @abstractmethod
    def root_counts(self) -> dict[str, int]:
        """Records per indexed folder (ImageRecord.root), counted by the store (web requests ask: no pass
        over every record)."""

    @abstractmethod
    def format_counts(self) -> dict[str, int]:
        """Records per file type (ImageRecord.format, Pillow's name), counted by the store like root_counts
        (every results page's type picker asks)."""

    @abstractmethod
    def count_ids(self, ids: list[str]) -> int:
        """How many of these ids are stored (by id lookups, never a pass over every record)."""

    @property
    def write_size(self) -> int:
        """Records per upsert that the store writes best; an indexing run gathers its batches to this size
        (1: each model batch is written as it comes, one transaction each)."""
        return 1

    @property
    def kind(self) -> str:
        """The kind of store, for people (`flask index` names it without asking the store for its stats)."""
        return type(self).__name__

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Around an indexing run's writes: a store may defer work until the end (also when the run fails)."""
        yield

    def iter_vectors(self, chunk: int = VECTOR_CHUNK) -> Iterator[tuple[list[ImageRecord], np.ndarray]]:
        """Every record with its vector, `chunk` at a time (for bulk passes such as near-duplicates).

        This fallback asks for each vector by id; the stores override it with chunked reads."""
        records: list[ImageRecord] = []
        vectors: list[np.ndarray] = []
        for record in self.iter_records():
            vector = self.get_vector(record.id)
            if vector is None:  # deleted meanwhile
                continue
            records.append(record)
            vectors.append(vector)
            if len(records) == chunk:
                yield records, np.stack(vectors)
                records, vectors = [], []
        if records:
            yield records, np.stack(vectors)

    def generation(self) -> str:
        """A value that changes whenever records or vectors change, cheap enough for every request (it
        tells whether stored duplicate groups are out of date). This fallback: the count."""
        return f"count {self.count()}"

    @abstractmethod
    def clear(self) -> None:
        """Remove every record and the model claim."""

    @abstractmethod
    def rebuilding(self) -> AbstractContextManager[VectorStore]:
        """For --rebuild: a new, empty store beside this one, to claim and fill. When the block ends without
        an error it replaces this store's content in one atomic step; on an error it is discarded. Until
        then searches of this store (in any process) answer from the old content."""

    def flush(self) -> None:  # noqa: B027 (optional: a no-op for stores whose writes are durable at once)
        """Make writes durable and visible to searchers (end of an indexing run)."""

    def stats(self) -> dict:
        """Facts for `flask stats`: at least kind, count, model, size_bytes."""
        return {"kind": type(self).__name__, "count": self.count(), "model": self.model_id}

    def close(self) -> None: ...  # noqa: B027 (optional: a no-op for stores that hold nothing open)
