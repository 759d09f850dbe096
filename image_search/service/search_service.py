"""The service layer: what the views and the CLI ask for, over the embedder and the vector store.

Views stay thin: they parse a request, call one method here, and render what comes back. Every
search goes through search(); an image query is a vector made by upload_query, cached_query,
stored_query or image_query and passed as `image=`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from cachetools import TTLCache
from flask_babel import gettext, ngettext

from image_search import indexing
from image_search.embedders import Embedder
from image_search.embedders.base import Concept
from image_search.errors import Busy, ModelUnavailable, NotFound, QueryError, StoreError, TooLarge
from image_search.images import PixelBudget
from image_search.indexing import IndexOptions, IndexProgress, IndexReport
from image_search.indexing.report import load_last_run
from image_search.inference import query as query_parser
from image_search.inference import vectors as inference
from image_search.locking import IndexLock
from image_search.service import duplicate_moves, selection, stored_duplicates
from image_search.service.duplicates import find_pairs, group
from image_search.service.health import folder_counts
from image_search.service.name_matches import blend_name_matches
from image_search.service.options import FilterChoices, HomePage, SearchOptions, SearchResult
from image_search.service.params import type_of
from image_search.service.ranking import View, shape
from image_search.service.stored_duplicates import RECOMPUTE, DuplicatesAnswer, StoredDuplicates
from image_search.service.viewer import ResultsContext, ViewerPlace, place_among
from image_search.settings import Settings
from image_search.stores import Filters, Hit, ImageRecord, VectorStore, make_store
from image_search.threads import limit_threads
from image_search.thumbnails import ThumbnailCache

HOME_RECENT = 12  # newest photos on the home page
WEAK_RESULTS_SHOWN = 6  # when nothing matches well: the nearest few, not the score curve's cut-off
QUERY_CACHE_SIZE = 512  # image-query vectors kept at once (a few KB each)
FILTER_CHOICES_SECONDS = 60.0  # the longest the filter form's counts are kept for one store generation


class SearchService:
    def __init__(self, settings: Settings, embedder_factory: Callable[[int], Embedder]):
        """`embedder_factory(threads)` loads the model with that many math threads."""
        self.settings = settings
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self._store: VectorStore | None = None
        self._lock = threading.Lock()
        # Uploaded images' query vectors by content hash, so results get a stable GET URL while the
        # image itself is never stored. cachetools caches are not thread-safe: hence the lock.
        self._query_vectors: TTLCache = TTLCache(QUERY_CACHE_SIZE, settings.query_cache_seconds)
        self._query_vectors_lock = threading.Lock()
        self._stored_duplicates: tuple[tuple | None, StoredDuplicates | None] = (None, None)  # (file key, parsed)
        self._duplicates_lock = threading.Lock()
        self.thumbnails = ThumbnailCache(settings.data_dir, settings.thumbnail_size)
        self._download_slots = threading.BoundedSemaphore(selection.DOWNLOADS_AT_ONCE)
        # The filter form's counts by store generation: asked by every results page, changed only by writes. The
        # TTL bounds how stale they get where a generation is only the count (Elasticsearch: a run that adds one
        # file and removes another).
        self._filter_choices: TTLCache = TTLCache(4, FILTER_CHOICES_SECONDS)
        self._filter_choices_lock = threading.Lock()

    # Both are loaded on first use: the app starts fast and still answers pages when a model or a
    # server is missing, and says so on the page that needs it.
    @property
    def embedder(self) -> Embedder:
        return self._load_embedder(self.settings.web_threads)

    def _load_embedder(self, threads: int) -> Embedder:
        """The model, loaded with `threads` math threads by whichever role asks first."""
        with self._lock:
            if self._embedder is None:
                self._embedder = self._embedder_factory(threads)
            return self._embedder

    @property
    def store(self) -> VectorStore:
        with self._lock:
            if self._store is None:
                self._store = make_store(self.settings)
            return self._store

    @property
    def model_id(self) -> str:
        return self.embedder.model_id

    # --- searches -----------------------------------------------------------------------
    def search(
        self, query: str, options: SearchOptions, image: np.ndarray | None = None, exclude: str | None = None
    ) -> SearchResult:
        """A combined query (see inference/query.py), optionally with an image's query vector as one
        more part. `exclude` leaves one image out (more like this leaves the image itself out)."""
        started = time.perf_counter()
        k, filters = options.k, options.filters
        query = query_parser.clean_query(query, self.settings.max_query_chars, allow_empty=image is not None)
        parsed = query_parser.parse(query, beside_image=image is not None)
        vector = self._combine(parsed, image)
        hits = [h for h in self._knn(vector, k + bool(exclude), filters) if h.id != exclude][:k]
        notice, extra, weak = None, {}, False
        if parsed.is_plain_text and image is None:
            confidence = extra["confidence"] = self.embedder.text_confidence(query)
            if confidence is not None and confidence < self._confidence_threshold():
                hits = blend_name_matches(self.store, query, vector, hits, k, filters)
                named = sum(h.by_name for h in hits)
                weak = not named
                notice = (
                    ngettext(
                        "The model is unsure what this query shows; %(num)d image whose file or folder name "
                        "matches the words comes first, marked “name match”.",
                        "The model is unsure what this query shows; %(num)d images whose file or folder names "
                        "match the words come first, marked “name match”.",
                        named,
                    )
                    if named
                    else gettext(
                        "Nothing matches this query well: the model is unsure what it shows, and no file or "
                        "folder name matches its words. These are only the nearest images."
                    )
                )
        result = self._result(hits, started, options.view, notice, weak=weak, **extra)
        if options.filter_choices:
            result.filter_choices = self.filter_choices()
        return result

    def filter_choices(self) -> FilterChoices:
        """The indexed folders and file types with their counts, for the filter form: two indexed reads, kept
        while the store's generation stays the same."""
        generation = self.store.generation()
        with self._filter_choices_lock:
            kept = self._filter_choices.get(generation)
        if kept is not None:
            return kept
        types: Counter[str] = Counter()
        for pillow_format, count in self.store.format_counts().items():
            types[type_of(pillow_format)] += count
        choices = FilterChoices(sorted(self.store.root_counts().items()), sorted(types.items()))
        with self._filter_choices_lock:
            self._filter_choices[generation] = choices
        return choices

    def view_in_results(
        self, image_id: str, context: ResultsContext | None, options: SearchOptions, pos: int, lang: str = "en"
    ) -> ViewerPlace:
        """An image with its neighbours among the results it was opened from (the viewer's previous/next),
        found by the same search as that results page ran; alone when opened from elsewhere. With what the
        model saw in it (concepts, in `lang`)."""
        record = self.record(image_id)
        seen = self.concepts([image_id], lang).get(image_id, [])
        place = self._place(record, context, options, pos)
        return dataclasses.replace(place, concepts=seen)

    def _place(
        self, record: ImageRecord, context: ResultsContext | None, options: SearchOptions, pos: int
    ) -> ViewerPlace:
        if context is None:
            return ViewerPlace(record)
        try:
            if context.kind == "similar":
                image, exclude = self.stored_query(context.source_id), context.source_id
                result = self.search(context.query, options, image, exclude=exclude)
            elif context.kind == "image":
                result = self.search(context.query, options, self.cached_query(context.upload_key))
            else:
                result = self.search(context.query, options)
        except NotFound:  # the upload's search expired, or the more-like-this image is gone: the image alone
            return ViewerPlace(record)
        return place_among(record, result.hits, pos)

    def concepts(self, ids: Sequence[str], lang: str) -> dict[str, list[Concept]]:
        """Why these images matched: what the model saw in each (its likeliest classes, named in `lang` where
        it can), read from their stored vectors in one store read: no model run. Empty for a model whose
        vectors name nothing (CLIP), before the model loads, or for a store of another model's vectors."""
        try:
            embedder = self.embedder
        except ModelUnavailable:  # the page says so where it needs the model; this is only an extra
            return {}
        if not embedder.sees_concepts or not ids or self.store.model_id != embedder.model_id:
            return {}
        vectors = self.store.get_vectors(ids)
        if not vectors:
            return {}
        found = list(vectors)
        return dict(zip(found, embedder.concepts(np.stack([vectors[i] for i in found]), lang), strict=True))

    # --- image query vectors, for search(image=...) -------------------------------------------
    def image_query(self, data: bytes) -> np.ndarray:
        """The query vector of an uploaded image's bytes."""
        return inference.image_query_vector(self.embedder, data, self.settings.max_query_pixels)

    def upload_query(self, data: bytes) -> tuple[np.ndarray, str]:
        """An uploaded image's query vector, and the key its results page is reachable under for a while."""
        vector = self.image_query(data)
        key = hashlib.sha256(data).hexdigest()[:24]
        with self._query_vectors_lock:
            self._query_vectors[key] = vector
        return vector, key

    def cached_query(self, key: str) -> np.ndarray:
        """The query vector upload_query kept under `key`, or NotFound once it has expired."""
        with self._query_vectors_lock:
            vector = self._query_vectors.get(key)
        if vector is None:
            raise NotFound(gettext("This image search has expired: upload the image again."))
        return vector

    def stored_query(self, image_id: str) -> np.ndarray:
        """More like this: the query vector of an indexed image's stored vector."""
        stored = self.store.get_vector(image_id)
        if stored is None:
            raise NotFound(gettext("No indexed image has the id %(id)r.", id=image_id))
        return self.embedder.image_query(stored[None, :])[0]

    def _combine(self, parsed: query_parser.ParsedQuery, image: np.ndarray | None) -> np.ndarray:
        """The weighted sum of the parts' unit vectors, renormalised."""
        weights, vectors = [], []
        texts = [p for p in parsed.parts if p.kind == "text"]
        if texts:
            weights += [p.weight for p in texts]
            vectors += list(self.embedder.embed_texts([p.value for p in texts]))  # cleaned with the query
        for part in parsed.parts:
            if part.kind == "id":
                weights.append(part.weight)
                try:
                    vectors.append(self.stored_query(part.value))
                except NotFound as exc:  # a part of the query, so the query is what is wrong
                    raise QueryError(str(exc)) from None
        if image is not None:
            weights.append(1.0)
            vectors.append(image)
        units = np.stack([v / max(float(np.linalg.norm(v)), 1e-12) for v in vectors])
        combined = np.asarray(weights, dtype=np.float32) @ units
        norm = float(np.linalg.norm(combined))
        if norm < 1e-6:
            raise QueryError(
                gettext("The parts of this query cancel each other out; remove a negative or change a weight.")
            )
        return (combined / norm).astype(np.float32)

    def _confidence_threshold(self) -> float:
        configured = self.settings.low_confidence
        return float(configured) if configured is not None else self.embedder.confidence_threshold

    def _knn(self, vector: np.ndarray, k: int, filters: Filters) -> list[Hit]:
        self.store.check_model(self.embedder.model_id)
        return self.store.knn(vector, k, filters)

    def _result(
        self, hits: list[Hit], started: float, view: View, notice: str | None = None, weak: bool = False, **extra
    ) -> SearchResult:
        """`weak`: nothing scored well, so the nearest few are shown as such (not one confident-looking tile)."""
        shown, cut = shape(hits, view, few=WEAK_RESULTS_SHOWN if weak else None)
        took = (time.perf_counter() - started) * 1000
        return SearchResult(
            shown,
            self.embedder.model_id,
            round(took, 1),
            notice,
            extra,
            cutoff=cut,
            hidden=len(hits) - len(shown),
            weak=weak,
        )

    # --- inference endpoint ---------------------------------------------------------------
    def embed_texts(self, texts: list[str]) -> np.ndarray:
        return inference.text_vectors(self.embedder, texts, self.settings.max_query_chars)

    def embed_image(self, data: bytes) -> np.ndarray:
        return inference.image_vector(self.embedder, data, self.settings.max_query_pixels)

    # --- indexing ---------------------------------------------------------------------------
    def index_paths(
        self, paths: Sequence[str | Path], options: IndexOptions, progress: IndexProgress = indexing.NO_PROGRESS
    ) -> IndexReport:
        """Index the images under `paths` (see image_search.indexing). In a `flask index` process nothing
        is loaded yet, so the model gets the indexer's thread count."""
        threads = self.settings.index_threads
        return indexing.index_paths(
            self.store,
            lambda: self._load_embedder(threads),
            paths,
            options,
            self.settings.data_dir,
            batch_size=options.batch_size or self.settings.batch_size,
            workers=threads,
            budget=PixelBudget(self.settings.max_index_pixels, "MAX_INDEX_PIXELS"),
            progress=progress,
        )

    def watch_paths(
        self,
        paths: Sequence[str | Path],
        options: IndexOptions,
        on_report: Callable[[IndexReport], None],
        stop: threading.Event,
        on_note: Callable[[str], None] = lambda message: None,
        on_ready: Callable[[], None] = lambda: None,
    ) -> None:
        """Index each batch of changes under the folders `paths` (see indexing.watch) until `stop` is set
        or KeyboardInterrupt: incremental runs with pruning, in the same shard, records keeping their
        watched folder as root. Searches (in any process) see each batch once its run ends."""
        from image_search.indexing.watch import watch  # watchdog: only for this command

        roots = [Path(os.path.abspath(p)) for p in paths]
        batch = dataclasses.replace(options, prune=True, rebuild=False, within=tuple(str(r) for r in roots))
        watch(
            roots,
            lambda changed: on_report(self.index_paths(changed, batch)),
            quiet=self.settings.watch_quiet_seconds,
            max_wait=self.settings.watch_max_wait_seconds,
            stop=stop,
            on_note=on_note,
            on_ready=on_ready,
        )

    def prepare_text_side(self) -> None:
        """Build now the files a text model builds on first use (the offline model exports two ONNX graphs, ~10 s),
        so they exist before the first search (Embedder.prepare_texts). ModelUnavailable says why it cannot yet."""
        self.embedder.prepare_texts()

    # --- collection ------------------------------------------------------------------------
    def compute_duplicates(self, threshold: float | None = None) -> DuplicatesAnswer:
        """The bulk pass over every vector (O(n); seconds at 20,000 images): `flask duplicates` and `flask
        index` run it, never a request. Pairs are kept down to the lower of `threshold` and
        DUPLICATE_THRESHOLD, so the pages' default stays served after a stricter run."""
        asked = float(threshold or self.settings.duplicate_threshold)
        notice = self._save_duplicates(min(asked, self.settings.duplicate_threshold))
        answer = self.duplicates(asked)
        answer.notice = notice or answer.notice
        return answer

    def refresh_duplicates(self, collection_changed: bool = True) -> bool:
        """After indexing: compute again when the collection changed since (or nothing is stored), at the
        stored threshold if that was lower than DUPLICATE_THRESHOLD. -> whether it ran. After a run that
        changed nothing (`collection_changed` False) stored groups are not even read (seconds at 100,000
        images): a no-op run stays fast, and the pages still say when they are out of date."""
        if not collection_changed and stored_duplicates.file_key(self.settings.data_dir) is not None:
            return False
        stored = stored_duplicates.load(self.settings.data_dir)
        if stored and not stored_duplicates.changed_since(stored, self.store.generation(), self.store.model_id):
            return False
        floor = min(self.settings.duplicate_threshold, stored.pairs.threshold if stored else 1.0)
        notice = self._save_duplicates(floor)
        if notice:
            raise StoreError(notice)
        return True

    def _save_duplicates(self, threshold: float) -> str | None:
        """Compute and store; -> why they could not be stored, or None."""
        limit_threads(self.settings.index_threads)  # only command-line processes get here
        started = time.time()
        generation, model_id = self.store.generation(), self.store.model_id  # before the pass: a write
        pairs = find_pairs(self.store, threshold)  # during it leaves the result marked as out of date
        stored = stored_duplicates.StoredDuplicates(pairs, time.time(), time.time() - started, generation, model_id)
        try:
            stored_duplicates.save(self.settings.data_dir, stored)
        except OSError as exc:
            self._stored_duplicates = (None, stored)  # still shown by this process (the CLI prints them)
            return gettext(
                "The near-duplicate groups could not be saved in %(folder)s: %(reason)s.",
                folder=self.settings.data_dir,
                reason=exc.strerror or exc,
            )
        return None

    def duplicates(self, threshold: float | None = None) -> DuplicatesAnswer:
        """The stored groups at `threshold` (>= the one they were computed at), saying when they were
        computed and whether the collection changed since. Reads a file and the store's generation: no
        request ever does the O(n) pass."""
        asked = float(threshold or self.settings.duplicate_threshold)
        stored = self._load_stored_duplicates()
        if stored is None:
            return DuplicatesAnswer(
                asked,
                notice=gettext(
                    "Near-duplicates have not been computed yet: run `%(command)s` "
                    "(flask index also does, after a run that changed the collection).",
                    command=RECOMPUTE,
                ),
            )
        answer = DuplicatesAnswer(
            asked,
            computed_at=stored.computed_at,
            computed_threshold=stored.pairs.threshold,
            images=stored.pairs.images,
            changed_since=stored_duplicates.changed_since(stored, self.store.generation(), self.store.model_id),
        )
        if asked < stored.pairs.threshold:
            answer.notice = gettext(
                "Near-duplicates were computed for similarity ≥ %(computed)s only: "
                "run `%(command)s` to find looser ones.",
                computed=f"{stored.pairs.threshold:g}",
                command=f"{RECOMPUTE} --threshold {asked:g}",
            )
            return answer
        answer.groups = group(stored.pairs, asked)
        if answer.changed_since:
            answer.notice = gettext(
                "The collection has changed since these were computed: run `%(command)s` to update them.",
                command=RECOMPUTE,
            )
        return answer

    def duplicates_to_move(
        self, threshold: float | None, keep: dict[str, str] | None = None, paths: list[str] | None = None
    ) -> list[ImageRecord]:
        """All but one image of each stored group: those listed in `paths`, else all but the one `keep`
        names for its group (by group key), else all but the suggested keeper."""
        groups = self.duplicates(threshold).groups
        if paths is not None:
            return duplicate_moves.listed(groups, paths)
        return duplicate_moves.others_than_kept(groups, keep or {})

    def move_duplicates(self, records: list[ImageRecord], dest: Path) -> duplicate_moves.MoveReport:
        """Move `records`' files into `dest` (never deleting one), under the index lock; the moved ones leave
        the index and the groups are computed again."""
        dest = duplicate_moves.check_destination(dest, {r.root for r in records})
        with IndexLock(self.settings.data_dir / "index.lock"):
            report = duplicate_moves.move(records, dest)
            ids = [r.id for r, _ in report.moved]
            if ids:
                self.store.delete(ids)
                self.store.flush()
                self.thumbnails.forget(ids)
                stored = self._load_stored_duplicates()
                self._save_duplicates(stored.pairs.threshold if stored else self.settings.duplicate_threshold)
        return report

    def _load_stored_duplicates(self) -> StoredDuplicates | None:
        """The file, parsed again only when it was replaced."""
        key = stored_duplicates.file_key(self.settings.data_dir)
        with self._duplicates_lock:
            cached_key, cached = self._stored_duplicates
            if key != cached_key and key is not None:
                cached = stored_duplicates.load(self.settings.data_dir)
            elif key != cached_key:  # the file was removed
                cached = None
            self._stored_duplicates = (key, cached)
            return cached

    def health(self) -> dict:
        """What `flask stats` and /health show; problems are reported, not raised."""
        facts: dict = {"data_dir": str(self.settings.data_dir), "last_run": load_last_run(self.settings.data_dir)}
        try:
            facts["store"] = self.store.stats()
            facts["folders"] = folder_counts(self.store)
        except StoreError as exc:
            facts["store_error"] = str(exc)
        try:
            facts["active_model"] = self.embedder.model_id
            if self.embedder.runtime_description:
                facts["runtime"] = self.embedder.runtime_description
        except ModelUnavailable as exc:
            facts["model_error"] = str(exc)
        return facts

    # --- files ----------------------------------------------------------------------------
    def home(self, recent: int = HOME_RECENT) -> HomePage:
        """The newest photos by time taken and the indexed folders with their counts (two indexed reads)."""
        try:
            return HomePage(self.store.recent(recent), sorted(self.store.root_counts().items()))
        except StoreError as exc:
            return HomePage(error=str(exc))

    def record(self, image_id: str) -> ImageRecord:
        record = self.store.get(image_id)
        if record is None:
            raise NotFound(gettext("No indexed image has the id %(id)r.", id=image_id))
        return record

    def selected(self, ids: Sequence[str]) -> list[ImageRecord]:
        """The records of a selection (each once, in its order). QueryError when it is empty or larger than
        a results page can be (MAX_RESULTS), NotFound naming the ids that are not indexed (no path of the
        others: the whole request is refused)."""
        unique = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
        if not unique:
            raise QueryError(gettext("Select at least one image."))
        most = self.settings.max_results
        if len(unique) > most:
            raise QueryError(gettext("Select at most %(most)s images at once.", most=most))
        records = self.store.get_many(unique)
        unknown = [i for i in unique if i not in records]
        if unknown:
            shown = ", ".join(repr(i[:40]) for i in unknown[:3]) + (", …" if len(unknown) > 3 else "")
            raise NotFound(
                ngettext(
                    "%(num)s selected image is not indexed (%(ids)s); reload the results and select again.",
                    "%(num)s selected images are not indexed (%(ids)s); reload the results and select again.",
                    len(unknown),
                    ids=shown,
                )
            )
        return [records[i] for i in unique]

    def selection_zip(self, ids: Sequence[str]) -> selection.ZipDownload:
        """The zip of a selection's originals, written as it is read, after every check (see
        service/selection.py): TooLarge over MAX_DOWNLOAD_MB, NotFound when no file is left, Busy while
        DOWNLOADS_AT_ONCE others stream. The caller calls `close` when its response closes."""
        records = self.selected(ids)
        zip_plan = selection.plan(records)
        if not zip_plan.entries:
            raise NotFound(gettext("None of the selected files can be read any more; re-index their folders."))
        cap = self.settings.max_download_bytes
        if zip_plan.total_bytes > cap:
            raise TooLarge(
                gettext(
                    "The selected originals come to %(size)s MB; one download holds at most %(most)s MB "
                    "(MAX_DOWNLOAD_MB). Select fewer images.",
                    size=f"{zip_plan.total_bytes / 2**20:,.1f}",
                    most=f"{self.settings.max_download_mb:g}",
                )
            )
        slot = selection.take_slot(self._download_slots)
        if slot is None:
            raise Busy(
                ngettext(
                    "%(num)s download of selected images is under way already; try again when it has ended.",
                    "%(num)s downloads of selected images are under way already; try again when one has ended.",
                    selection.DOWNLOADS_AT_ONCE,
                )
            )
        chunks = selection.released_after(selection.stream(zip_plan), slot)
        return selection.ZipDownload(chunks, len(zip_plan.entries), slot.release)

    def thumbnail(self, image_id: str, size: int | None = None) -> Path | bytes:
        """The cached thumbnail (at thumbnail_size unless `size` says which of thumbnail_sizes), made on first
        request and again when the original changes; its bytes when it cannot be cached (a full disk).
        OSError: the original is gone."""
        size = size or self.settings.thumbnail_size
        return self.thumbnails.get(self.record(image_id), size, self._thumbnail_budget())

    @property
    def thumbnail_sizes(self) -> tuple[int, int]:
        return self.settings.thumbnail_size, self.settings.thumbnail_large_size

    def _thumbnail_budget(self) -> PixelBudget:
        """Any indexed image gets a thumbnail, but the web process decodes only one over the query limit
        at a time: memory stays about request threads x MAX_QUERY_PIXELS plus one MAX_INDEX_PIXELS."""
        settings = self.settings
        return PixelBudget(settings.max_index_pixels, "MAX_INDEX_PIXELS", alone_over=settings.max_query_pixels)
