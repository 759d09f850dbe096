"""VectorStore on an Elasticsearch 8.x index: one document per image, vectors in a `dense_vector` field.

Servers: Elasticsearch 8.x with the 8.x Python client pinned in setup.cfg (8.13+ recommended; Elastic
supports a client talking to servers of its own or a newer minor). Feature minimums, checked before
the index is created: knn in `_search` 8.4, `max_inner_product` (non-unit vectors) 8.11,
`int8_hnsw` 8.12, `bbq_hnsw` 8.16 (technical preview there).
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from urllib.parse import urlsplit

import numpy as np
from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    BadRequestError,
    ConnectionTimeout,
    NotFoundError,
    TransportError,
    UnsupportedProductError,
)
from elasticsearch import ConnectionError as EsConnectionError
from elasticsearch.helpers import streaming_bulk

from image_search.errors import ModelMismatch, StoreError, WriteFailures
from image_search.stores.base import VECTOR_CHUNK, Filters, Hit, ImageRecord, VectorStore, image_id_for
from image_search.stores.elasticsearch.client import error_reason, make_client, node_urls, one_line
from image_search.stores.elasticsearch.options import DEFAULT_INDEX_OPTIONS, ElasticsearchOptions
from image_search.stores.elasticsearch.pit import pit_pages
from image_search.stores.names import name_words

log = logging.getLogger(__name__)
PARTIAL_RETRIES = 2  # searches sent again when some shards failed (a node leaving): tests/test_es_node_loss.py
PARTIAL_RETRY_PAUSE = 0.2  # seconds before the first retry, twice that before the second

VECTOR_FIELD = "image_embedding"
# The words of the path below the indexed folder (stores/names.py), one token each, for the file-name
# fallback: prefix queries on its terms instead of a walk over every document.
NAME_FIELD = "name_words"
NAME_MAPPING = {"type": "text", "analyzer": "whitespace", "norms": False, "index_options": "docs"}
# index_options type -> first server version that accepts it
INDEX_TYPES = {"hnsw": (8, 0), "int8_hnsw": (8, 12), "bbq_hnsw": (8, 16)}
MAX_INNER_PRODUCT_SINCE = (8, 11)
KNN_SEARCH_SINCE = (8, 4)  # top-level `knn` in _search, with `filter`
MAX_NUM_CANDIDATES = 10_000  # Elasticsearch's limit for knn num_candidates
# Index types whose HNSW scores come from quantised vectors; their hits are rescored from the floats.
QUANTIZED_TYPES = ("int8_hnsw", "bbq_hnsw")
# Fields asked back from searches, read from doc values (`_source: false` + `docvalue_fields`): the `fields`
# option would parse each hit's whole _source, vector JSON included, for them. Dates in epoch millis.
RECORD_FIELDS = [
    "image_id",
    "path",
    "root",
    "size",
    "mtime_ns",
    "width",
    "height",
    "format",
    {"field": "taken_at", "format": "epoch_millis"},
]


def inner_product_from_score(score: float, similarity: str) -> float:
    """Undo Elasticsearch's `_score` transform so scores are raw inner products like the embedded store's."""
    if similarity in ("dot_product", "cosine"):
        return 2.0 * score - 1.0
    if similarity == "max_inner_product":
        return score - 1.0 if score >= 1.0 else 1.0 - 1.0 / score
    raise StoreError(f"Unsupported similarity '{similarity}'")


def without_password(url: str) -> str:
    return urlsplit(url)._replace(netloc=urlsplit(url).netloc.rsplit("@", 1)[-1]).geturl()


def next_version(alias: str, current: list[str]) -> int:
    """The number of the next <alias>-v<N> index: one past the current one's (an index named like the alias
    itself, from before aliases, counts as v1)."""
    numbers = [int(m[1]) for name in current if (m := re.fullmatch(re.escape(alias) + r"-v(\d+)", name))]
    return max(numbers, default=1) + 1


def _version_tuple(number: str) -> tuple[int, int]:
    major, minor = (number.split("-")[0].split(".") + ["0"])[:2]
    return int(major), int(minor)


class ElasticsearchStore(VectorStore):
    """Documents keyed by ImageRecord.id; the index mapping's `_meta` records the model and dims.

    Writes go through `streaming_bulk` (429s retried with backoff) and become searchable at `flush()`;
    `upsert` raises WriteFailures naming the refused paths. Scores are converted back from `_score`
    to raw inner products, so they equal the embedded store's.
    """

    def __init__(
        self,
        client,
        index: str = ElasticsearchOptions.index,
        index_options: Mapping | None = None,
        num_candidates: int | None = None,
        bulk_chunk: int = ElasticsearchOptions.bulk_chunk,
        max_retries: int = 5,
        initial_backoff: float = 1.0,
        url: str = "",
        shards: int = ElasticsearchOptions.shards,
        replicas: int = ElasticsearchOptions.replicas,
        refresh_interval: str = ElasticsearchOptions.refresh_interval,
        rescore_oversample: float = ElasticsearchOptions.rescore_oversample,
    ):
        self.client, self.index = client, index
        self.url = ",".join(without_password(part) for part in node_urls(url))
        self.index_options = dict(index_options or DEFAULT_INDEX_OPTIONS)
        if self.index_options.get("type") not in INDEX_TYPES:
            raise StoreError(
                f"ES_INDEX_OPTIONS type must be one of {', '.join(INDEX_TYPES)}, not {self.index_options.get('type')!r}"
            )
        self.num_candidates, self.bulk_chunk = num_candidates, int(bulk_chunk)
        if self.bulk_chunk < 1:
            raise StoreError(f"ES_BULK_CHUNK must be 1 or more documents per bulk request, not {self.bulk_chunk}")
        if shards < 1 or replicas < 0:
            raise StoreError(f"ES_SHARDS must be 1 or more and ES_REPLICAS 0 or more, not {shards} and {replicas}")
        if not re.fullmatch(r"-1|\d+(ms|s|m|h|d)", refresh_interval):
            raise StoreError(
                f"ES_REFRESH_INTERVAL must be a time such as 1s, 30s or 500ms, or -1, not {refresh_interval!r}"
            )
        self.shards, self.replicas, self.refresh_interval = int(shards), int(replicas), refresh_interval
        if not (rescore_oversample == 0 or 1 <= rescore_oversample <= 100):
            raise StoreError(f"ES_RESCORE_OVERSAMPLE must be 0 (off) or from 1 to 100, not {rescore_oversample}")
        self.rescore_oversample = float(rescore_oversample)
        self.max_retries, self.initial_backoff = max_retries, initial_backoff
        self._meta: dict | None = None  # cached mapping _meta of the claimed index
        self._server_version: str | None = None
        self._loading = False  # inside bulk_load(): refresh is off

    @classmethod
    def from_options(cls, options: ElasticsearchOptions) -> ElasticsearchStore:
        client, url = make_client(options)
        store = cls(
            client,
            index=options.index,
            index_options=options.index_options,
            num_candidates=options.num_candidates,
            bulk_chunk=options.bulk_chunk,
            url=url,
            shards=options.shards,
            replicas=options.replicas,
            refresh_interval=options.refresh_interval,
            rescore_oversample=options.rescore_oversample,
        )
        store.server_version()  # connect now: a bad URL or credentials fail at startup, clearly
        return store

    # -- errors ---------------------------------------------------------------------------------
    @contextmanager
    def _errors(self, doing: str):
        """Turn client exceptions into one-line StoreErrors the app can show."""
        where = f"Elasticsearch at {self.url}" if self.url else "Elasticsearch"
        try:
            yield
        except StoreError:
            raise
        except EsConnectionError as e:
            raise StoreError(
                f"Cannot reach {where} while {doing}: {one_line(e.message)}. Is the server running "
                f"(docker compose up -d) and IMAGE_SEARCH_ES_URL right?"
            ) from None
        except ConnectionTimeout:
            raise StoreError(f"{where} did not answer in time while {doing}") from None
        except AuthenticationException:
            raise StoreError(
                f"{where} refused the credentials (401) while {doing}: set IMAGE_SEARCH_ES_API_KEY "
                f"or IMAGE_SEARCH_ES_USERNAME/IMAGE_SEARCH_ES_PASSWORD"
            ) from None
        except AuthorizationException as e:
            raise StoreError(
                f"{where} denied {doing} (403): the user lacks privileges on index '{self.index}': {error_reason(e)}"
            ) from None
        except UnsupportedProductError:
            raise StoreError(f"The server at {self.url} is not Elasticsearch") from None
        except ApiError as e:
            raise StoreError(f"{where} failed {doing} ({e.status_code}): {error_reason(e)}") from None
        except TransportError as e:
            raise StoreError(f"{where} failed {doing}: {one_line(e.message)}") from None

    # -- index and model --------------------------------------------------------------------------
    def server_version(self) -> str:
        """The server's version number; "" when the credentials may not ask (GET / needs the cluster `monitor`
        privilege, which the app's least-privilege key lacks: README). They did authenticate, though."""
        if self._server_version is None:
            with self._errors("connecting"):
                try:
                    self._server_version = self.client.info()["version"]["number"]
                except AuthorizationException:
                    self._server_version = ""
        return self._server_version

    def _read_meta(self) -> dict | None:
        with self._errors("reading the index mapping"):
            try:
                resp = self.client.indices.get_mapping(index=self.index)
            except NotFoundError:
                return None
        concrete, body = next(iter(resp.body.items()))  # one entry, also when ES_INDEX is an alias
        mappings = body["mappings"]
        meta = dict(mappings.get("_meta") or {})
        meta["via_alias"] = concrete != self.index  # then writes require it to stay one: never auto-created
        vec = mappings.get("properties", {}).get(VECTOR_FIELD, {})
        meta.setdefault("dims", vec.get("dims"))
        meta["similarity"] = vec.get("similarity", "dot_product")
        meta["index_type"] = (vec.get("index_options") or {}).get("type")
        meta["has_names"] = NAME_FIELD in mappings.get("properties", {})
        return meta

    def _meta_or_none(self) -> dict | None:
        if self._meta is None:
            self._meta = self._read_meta()
        return self._meta

    @property
    def model_id(self) -> str | None:
        """From the mapping read once per process (searches check it on every request); check_model reads
        it again before it reports a mismatch, so another process's rebuild is seen."""
        meta = self._meta_or_none()
        return meta.get("model_id") if meta else None

    def check_model(self, model_id: str) -> None:
        if self.model_id not in (None, model_id):
            self._meta = None  # perhaps rebuilt for this model since it was read
        super().check_model(model_id)

    @property
    def write_size(self) -> int:
        return self.bulk_chunk  # ES_BULK_CHUNK documents per bulk request, however small the model batches

    @property
    def kind(self) -> str:
        return "elasticsearch"

    def claim(self, model_id: str, dim: int, unit_vectors: bool = True) -> None:
        """Create the index for `model_id` vectors, or check that it holds them already.

        unit_vectors: True -> similarity dot_product (needs unit vectors), False -> max_inner_product.
        """
        meta = self._read_meta()
        if meta is None:
            self._create_index(model_id, int(dim), unit_vectors)
            meta = self._read_meta()
            if meta is None:  # deleted again in between (another process's --rebuild or clear)
                raise StoreError(f"Index '{self.index}' was deleted right after it was created; try again")
        if not meta.get("model_id"):
            raise StoreError(
                f"Index '{self.index}' exists but was not made by image_search: "
                f"set IMAGE_SEARCH_ES_INDEX to another name"
            )
        if meta["model_id"] != model_id:
            raise ModelMismatch(meta["model_id"], model_id)
        if meta.get("dims") != int(dim):
            raise StoreError(
                f"Index '{self.index}' holds {meta.get('dims')}-dimensional vectors but model "
                f"'{model_id}' makes {dim}; rebuild it with --rebuild"
            )
        if not meta.get("has_names"):  # made before the names field: add it (its mapping is strict)
            with self._errors(f"adding the {NAME_FIELD} field to index '{self.index}'"):
                self.client.indices.put_mapping(index=self.index, properties={NAME_FIELD: NAME_MAPPING})
            meta["has_names"] = True
        self._meta = meta

    def mapping(self, model_id: str, dim: int, unit_vectors: bool = True) -> dict:
        similarity = "dot_product" if unit_vectors else "max_inner_product"
        keyword = {"type": "keyword"}
        return {
            "dynamic": "strict",
            "_meta": {"model_id": model_id, "dims": dim, "unit_vectors": unit_vectors, "app": "image_search"},
            "properties": {
                "image_id": keyword,
                "image_name": keyword,
                "relative_path": keyword,
                NAME_FIELD: NAME_MAPPING,
                "path": keyword,
                "folder": keyword,
                "root": keyword,
                "format": keyword,
                "model_id": keyword,
                "size": {"type": "long"},
                "mtime_ns": {"type": "long"},
                "width": {"type": "integer"},
                "height": {"type": "integer"},
                "taken_at": {"type": "date", "format": "epoch_millis"},  # dates keep milliseconds
                VECTOR_FIELD: {
                    "type": "dense_vector",
                    "dims": dim,
                    "index": True,
                    "similarity": similarity,
                    "index_options": dict(self.index_options),
                },
            },
        }

    def index_settings(self) -> dict:
        return {
            "number_of_shards": self.shards,
            "number_of_replicas": self.replicas,
            "refresh_interval": "-1" if self._loading else self.refresh_interval,
        }

    def _create_index(self, model_id: str, dim: int, unit_vectors: bool) -> None:
        # Unknown without `monitor`: the server itself then refuses a mapping it cannot take (a StoreError).
        version = _version_tuple(self.server_version()) if self.server_version() else (99, 0)
        kind = self.index_options["type"]
        requirements = [(KNN_SEARCH_SINCE, "kNN search"), (INDEX_TYPES[kind], f"index_options type '{kind}'")]
        if not unit_vectors:
            requirements.append((MAX_INNER_PRODUCT_SINCE, "max_inner_product (vectors that are not unit length)"))
        for needs, what in requirements:
            if version < needs:
                hint = ' (or set IMAGE_SEARCH_ES_INDEX_OPTIONS={"type": "hnsw"})' if what.startswith("index_") else ""
                raise StoreError(
                    f"Elasticsearch {self.server_version()} is too old for {what}: needs {needs[0]}.{needs[1]} "
                    f"or newer{hint}"
                )
        with self._errors(f"creating index '{self.index}'"):
            try:
                self.client.indices.create(
                    index=self.index, mappings=self.mapping(model_id, dim, unit_vectors), settings=self.index_settings()
                )
            except BadRequestError as e:
                if e.error != "resource_already_exists_exception":
                    raise
                # another process created it meanwhile: claim() then checks its model

    def clear(self) -> None:
        with self._errors(f"deleting index '{self.index}'"):
            # An alias cannot be deleted by its name (a 400): delete the indices behind it.
            for name in self._alias_targets() or [self.index]:
                self.client.options(ignore_status=404).indices.delete(index=name)
        self._meta = None

    def _alias_targets(self) -> list[str]:
        """The indices behind the alias ES_INDEX names; [] when it is no alias (an index, or nothing)."""
        with self._errors(f"reading alias '{self.index}'"):
            try:
                return sorted(self.client.indices.get_alias(name=self.index).body)
            except NotFoundError:
                return []

    @contextmanager
    def rebuilding(self) -> Iterator[ElasticsearchStore]:
        """A new versioned index (<ES_INDEX>-v<N>) to fill, then one atomic alias swap: ES_INDEX becomes
        (or stays) an alias naming only the new index, and the old index is deleted. Searches and other
        indexers use ES_INDEX throughout, so they see the old index until the swap, never none."""
        current = self._alias_targets()
        with self._errors(f"reading index '{self.index}'"):
            concrete = not current and bool(self.client.indices.exists(index=self.index))
        new = f"{self.index}-v{next_version(self.index, current)}"
        with self._errors(f"reading index '{new}'"):
            if self.client.indices.exists(index=new):
                raise StoreError(
                    f"Index '{new}' exists already: another --rebuild is filling it, or one was stopped midway. "
                    f"When none is running, delete it (DELETE /{new}) and run --rebuild again."
                )
        staging = ElasticsearchStore(
            self.client,
            index=new,
            index_options=self.index_options,
            num_candidates=self.num_candidates,
            bulk_chunk=self.bulk_chunk,
            max_retries=self.max_retries,
            initial_backoff=self.initial_backoff,
            url=self.url,
            shards=self.shards,
            replicas=self.replicas,
            refresh_interval=self.refresh_interval,
            rescore_oversample=self.rescore_oversample,
        )
        staging._server_version = self._server_version  # the same server: not asked again
        try:
            yield staging
            staging.flush()
            actions: list[dict] = [{"add": {"index": new, "alias": self.index}}]
            actions += [{"remove": {"index": old, "alias": self.index}} for old in current]
            if concrete:  # an index of the name: it goes in the same step as the alias takes its name
                actions.append({"remove_index": {"index": self.index}})
            with self._errors(f"swapping alias '{self.index}' to index '{new}'"):
                self.client.indices.update_aliases(actions=actions)
        except BaseException:
            with self._errors(f"deleting the unfinished index '{new}'"):
                self.client.options(ignore_status=404).indices.delete(index=new)
            raise
        self._meta = None
        with self._errors("deleting the replaced index"):
            for old in current:
                self.client.options(ignore_status=404).indices.delete(index=old)

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Refresh off (-1) while an indexing run writes, ES_REFRESH_INTERVAL again after, also when the run
        fails: the cluster then builds segments once instead of every second. An index made meanwhile (the
        first run, --rebuild's new one) is created with refresh off. A killed run leaves it off until the
        next run ends; searches meanwhile see the documents of the last refresh."""
        self._loading = True
        try:
            if self._meta_or_none() is not None:
                self._set_refresh("-1")
            yield
        finally:
            self._loading = False
            if self._meta_or_none() is not None:
                self._set_refresh(self.refresh_interval)

    def _set_refresh(self, interval: str) -> None:
        with self._errors(f"setting refresh_interval {interval} on index '{self.index}'"):
            self.client.options(ignore_status=404).indices.put_settings(
                index=self.index, settings={"index": {"refresh_interval": interval}}
            )

    def flush(self) -> None:
        with self._errors("refreshing the index"):
            self.client.options(ignore_status=404).indices.refresh(index=self.index)

    # -- writes -----------------------------------------------------------------------------------
    def _require_meta(self) -> dict:
        meta = self._meta_or_none()
        if meta is None:
            raise StoreError(f"Index '{self.index}' does not exist yet: claim(model_id, dim) first")
        return meta

    def _document(self, record: ImageRecord, vector: np.ndarray, model_id: str | None) -> dict:
        return {
            "image_id": record.id,
            "image_name": record.name,
            "relative_path": record.relative_path,
            NAME_FIELD: " ".join(name_words(record.relative_path)),
            "path": record.path,
            "folder": record.folder,
            "root": record.root,
            "size": record.size,
            "mtime_ns": record.mtime_ns,
            "width": record.width,
            "height": record.height,
            "taken_at": round(record.taken_at * 1000),
            "format": record.format,
            "model_id": model_id,
            VECTOR_FIELD: np.asarray(vector, dtype=np.float32).tolist(),  # the float32 values, as Python floats (fast)
        }

    def _bulk(
        self, actions: Iterable[dict], doing: str, ignore_status=(), require_alias: bool = False
    ) -> tuple[int, dict[str, str]]:
        """Send actions in chunks, retrying 429s with backoff; -> (written, {_id: reason} of failures)."""
        written = 0
        failed: dict[str, str] = {}
        with self._errors(doing):
            # raise_on_error=False: per-item failures come back to us (and 429 items get retried).
            for ok, item in streaming_bulk(
                self.client,
                actions,
                chunk_size=self.bulk_chunk,
                raise_on_error=False,
                max_retries=self.max_retries,
                initial_backoff=self.initial_backoff,
                max_backoff=30,
                ignore_status=ignore_status,
                # Through an alias, a write can never create an index of its name with a guessed mapping
                # (as writing to a deleted index would): the alias must exist.
                require_alias=require_alias,
            ):
                op, info = next(iter(item.items()))
                if ok or info.get("status") in ignore_status:
                    written += 1
                else:
                    error = info.get("error")
                    reason = (error.get("reason") or error.get("type")) if isinstance(error, dict) else error
                    failed[info.get("_id")] = str(reason or f"status {info.get('status')}")
        return written, failed

    def upsert(self, records: list[ImageRecord], vectors: np.ndarray) -> None:
        """Index the batch; raises WriteFailures (a StoreError, `.failures`: path -> reason) when some
        documents were refused; the others are written all the same."""
        vectors = np.asarray(vectors, dtype=np.float32)
        meta = self._require_meta()
        if len(records) != len(vectors) or (len(records) and vectors.shape[1] != meta["dims"]):
            raise StoreError(
                f"upsert needs one {meta['dims']}-dimensional vector per record, "
                f"got {vectors.shape} for {len(records)} records"
            )
        by_id = {r.id: r.path for r in records}
        actions = (
            {
                "_op_type": "index",
                "_index": self.index,
                "_id": r.id,
                "_source": self._document(r, v, meta.get("model_id")),
            }
            for r, v in zip(records, vectors, strict=True)
        )
        written, failed = self._bulk(actions, "writing documents", require_alias=meta["via_alias"])
        if failed:
            raise WriteFailures({by_id.get(i, i): reason for i, reason in failed.items()}, written)

    def delete(self, ids: Iterable[str]) -> None:
        actions = ({"_op_type": "delete", "_index": self.index, "_id": i} for i in ids)
        via_alias = bool((self._meta_or_none() or {}).get("via_alias"))
        _, failed = self._bulk(actions, "deleting documents", ignore_status=(404,), require_alias=via_alias)
        if failed:
            raise WriteFailures(failed, 0)

    # -- reads ------------------------------------------------------------------------------------
    def _get_source(self, image_id: str, **source) -> dict | None:
        with self._errors("reading a document"):
            try:
                return self.client.get(index=self.index, id=image_id, **source)["_source"]
            except NotFoundError:  # no such document, or no index
                return None

    def get(self, image_id: str) -> ImageRecord | None:
        src = self._get_source(image_id, source_excludes=[VECTOR_FIELD])
        return _record_from_source(src) if src is not None else None

    def get_vector(self, image_id: str) -> np.ndarray | None:
        """Through `fields`, not `_source`: from 9.2 vectors leave `_source` by default, `fields` still has them."""
        if self._meta_or_none() is None:
            return None
        with self._errors("reading a vector"):
            resp = self.client.options(ignore_status=404).search(
                index=self.index, query={"ids": {"values": [image_id]}}, size=1, source=False, fields=[VECTOR_FIELD]
            )
        hits = resp.get("hits", {}).get("hits", [])
        return np.asarray(hits[0]["fields"][VECTOR_FIELD], dtype=np.float32) if hits else None

    def get_many(self, ids: Sequence[str]) -> dict[str, ImageRecord]:
        """One ids query, the record fields from doc values."""
        hits = self._hits_by_id(ids, "reading records", docvalue_fields=RECORD_FIELDS)
        return {h["_id"]: _record_from_fields(h["_id"], h["fields"]) for h in hits}

    def get_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """One ids query, the vectors through `fields` (as get_vector)."""
        hits = self._hits_by_id(ids, "reading vectors", fields=[VECTOR_FIELD])
        return {h["_id"]: np.asarray(h["fields"][VECTOR_FIELD], dtype=np.float32) for h in hits}

    def _hits_by_id(self, ids: Sequence[str], doing: str, **fields) -> list[dict]:
        unique = list(dict.fromkeys(ids))
        if self._meta_or_none() is None or not unique:
            return []
        hits: list[dict] = []
        with self._errors(doing):
            for start in range(0, len(unique), 10_000):  # the most one search returns (index.max_result_window)
                chunk = unique[start : start + 10_000]
                resp = self.client.options(ignore_status=404).search(
                    index=self.index, query={"ids": {"values": chunk}}, size=len(chunk), source=False, **fields
                )
                hits += resp.get("hits", {}).get("hits", [])
        return hits

    def count(self) -> int:
        if self._meta_or_none() is None:
            return 0
        with self._errors("counting documents"):
            resp = self.client.options(ignore_status=404).count(index=self.index)
        return int(resp.get("count", 0))  # 0 when the index vanished meanwhile

    def knn(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[Hit]:
        meta = self._meta_or_none()
        if meta is None or k <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape[0] != meta["dims"]:
            self._meta = None  # read once per process: perhaps rebuilt for another model since
            meta = self._meta_or_none()
            if meta is None:
                return []
            if query.shape[0] != meta["dims"]:
                raise StoreError(f"Query vector has {query.shape[0]} dimensions, the index {meta['dims']}")
        similarity = meta["similarity"]
        scale = 1.0
        if similarity == "dot_product":  # ES requires a unit query vector; rescale scores afterwards
            scale = float(np.linalg.norm(query)) or 1.0
            query = query / scale
        k = min(int(k), MAX_NUM_CANDIDATES)
        rescored = meta.get("index_type") in QUANTIZED_TYPES and self.rescore_oversample >= 1
        fetched = min(math.ceil(k * self.rescore_oversample), MAX_NUM_CANDIDATES) if rescored else k
        candidates = self.num_candidates or max(100, 2 * fetched)
        query_vector = query.tolist()
        knn = {
            "field": VECTOR_FIELD,
            "query_vector": query_vector,
            "k": fetched,
            "num_candidates": min(max(int(candidates), fetched), MAX_NUM_CANDIDATES),
        }
        if filters:
            knn["filter"] = filter_clauses(filters)
        floats = {"fields": [VECTOR_FIELD]} if rescored else {}
        with self._errors("searching"):
            try:
                resp = self._search_every_shard(
                    index=self.index, knn=knn, size=fetched, source=False, docvalue_fields=RECORD_FIELDS, **floats
                )
            except NotFoundError:  # the index was deleted meanwhile (a rebuild in another process)
                self._meta = None
                return []
            except BadRequestError:
                self._meta = None  # perhaps the mapping changed (another process's rebuild): read it again next time
                raise
        hits = resp["hits"]["hits"]
        if rescored:
            return exact_top(hits, np.asarray(vector, dtype=np.float32).reshape(-1), k)
        return [
            Hit(_record_from_fields(h["_id"], h["fields"]), inner_product_from_score(h["_score"], similarity) * scale)
            for h in hits
        ]

    def _search_every_shard(self, **request) -> dict:
        """A search answered by every shard. One that met a shard copy on a node leaving the cluster can come
        back partial (`_shards.failed`, 7 or 2 of 10 hits in tests/test_es_node_loss.py); sent again, it
        reaches the other copy. After PARTIAL_RETRIES the partial answer stands: then no copy of those shards
        is left (a lost node without replicas) and their documents are unavailable."""
        for attempt in range(PARTIAL_RETRIES + 1):
            resp = self.client.search(**request)
            if not resp.get("_shards", {}).get("failed"):
                return resp
            if attempt < PARTIAL_RETRIES:
                time.sleep(PARTIAL_RETRY_PAUSE * (attempt + 1))
        log.warning("Elasticsearch answered a search from some shards only: %s", resp.get("_shards"))
        return resp

    def name_matches(
        self, words: list[str], k: int, filters: Filters | None = None
    ) -> list[tuple[ImageRecord, np.ndarray]]:
        """One query on the indexed path words: each word a constant-score prefix clause, so a
        document's score is how many of the words it matched. Documents indexed before the field
        existed have no words: `flask index --rebuild` gives them theirs."""
        terms = list(dict.fromkeys(t for w in words for t in name_words(w)))
        if self._meta_or_none() is None or not terms or k <= 0:
            return []
        query = {
            "bool": {
                "should": [{"prefix": {NAME_FIELD: t}} for t in terms],
                "minimum_should_match": 1,
                "filter": filter_clauses(filters) if filters else [],
            }
        }
        with self._errors("matching file names"):
            resp = self.client.options(ignore_status=404).search(
                index=self.index,
                query=query,
                size=min(int(k), MAX_NUM_CANDIDATES),
                source=False,
                docvalue_fields=RECORD_FIELDS,
                fields=[VECTOR_FIELD],
            )
        return [
            (_record_from_fields(h["_id"], h["fields"]), np.asarray(h["fields"].pop(VECTOR_FIELD), dtype=np.float32))
            for h in resp.get("hits", {}).get("hits", [])
        ]

    def iter_records(self) -> Iterator[ImageRecord]:
        if self._meta_or_none() is None:
            return
        with self._errors("reading all records"):
            for hits in pit_pages(self.client, self.index, VECTOR_CHUNK, source=False, docvalue_fields=RECORD_FIELDS):
                yield from (_record_from_fields(h["_id"], h["fields"]) for h in hits)

    def records_under(self, prefix: str) -> Iterator[ImageRecord]:
        """A PIT pass over the documents whose path starts with `prefix` only (a prefix query on `path`)."""
        if self._meta_or_none() is None:
            return
        query = {"prefix": {"path": prefix}}
        with self._errors("reading records"):
            for hits in pit_pages(
                self.client, self.index, VECTOR_CHUNK, query=query, source=False, docvalue_fields=RECORD_FIELDS
            ):
                yield from (_record_from_fields(h["_id"], h["fields"]) for h in hits)

    def known_files(self, paths: Sequence[str]) -> dict[str, tuple[int, int]]:
        """One ids query for the whole chunk (ids derive from paths), fetching three small fields."""
        ids = [image_id_for(p) for p in paths]
        if self._meta_or_none() is None or not ids:
            return {}
        with self._errors("reading records"):
            resp = self.client.options(ignore_status=404).search(
                index=self.index,
                query={"ids": {"values": ids}},
                size=len(ids),
                source=False,
                docvalue_fields=["path", "size", "mtime_ns"],
            )
        wanted = set(paths)
        found = (
            {name: values[0] for name, values in hit["fields"].items()} for hit in resp.get("hits", {}).get("hits", [])
        )
        return {f["path"]: (int(f["size"]), int(f["mtime_ns"])) for f in found if f["path"] in wanted}

    def iter_vectors(self, chunk: int = VECTOR_CHUNK) -> Iterator[tuple[list[ImageRecord], np.ndarray]]:
        """One PIT pass (see pit.py): the only full read that loads the vectors."""
        if self._meta_or_none() is None:
            return
        with self._errors("reading all vectors"):
            for hits in pit_pages(
                self.client, self.index, chunk, source=False, docvalue_fields=RECORD_FIELDS, fields=[VECTOR_FIELD]
            ):
                vectors = np.asarray([h["fields"].pop(VECTOR_FIELD) for h in hits], dtype=np.float32)
                yield [_record_from_fields(h["_id"], h["fields"]) for h in hits], vectors

    def recent(self, k: int) -> list[ImageRecord]:
        """One search sorted on taken_at's doc values, reading the record fields only."""
        if self._meta_or_none() is None or k <= 0:
            return []
        with self._errors("listing the newest images"):
            resp = self.client.options(ignore_status=404).search(
                index=self.index,
                query={"match_all": {}},
                sort=[{"taken_at": "desc"}],
                size=k,
                source=False,
                fields=RECORD_FIELDS,
            )
        return [_record_from_fields(h["_id"], h["fields"]) for h in resp.get("hits", {}).get("hits", [])]

    def root_counts(self) -> dict[str, int]:
        """Documents per indexed folder."""
        return self._term_counts("root", "counting documents per folder")

    def format_counts(self) -> dict[str, int]:
        """Documents per file type."""
        return self._term_counts("format", "counting documents per file type")

    def _term_counts(self, field: str, doing: str) -> dict[str, int]:
        """Documents per value of a keyword field, from one terms aggregation (a composite one, which pages
        past 10,000 values)."""
        counts: dict[str, int] = {}
        if self._meta_or_none() is None:
            return counts
        composite: dict = {"size": 10_000, "sources": [{field: {"terms": {"field": field}}}]}
        with self._errors(doing):
            while True:
                resp = self.client.options(ignore_status=404).search(
                    index=self.index, size=0, aggs={"counts": {"composite": composite}}, track_total_hits=False
                )
                agg = resp.get("aggregations", {}).get("counts", {})
                counts.update({b["key"][field]: int(b["doc_count"]) for b in agg.get("buckets", [])})
                if len(agg.get("buckets", [])) < composite["size"] or "after_key" not in agg:
                    return counts
                composite["after"] = agg["after_key"]

    def count_ids(self, ids: list[str]) -> int:
        """How many of these ids are stored: `_count` of an ids query, 10,000 ids a request."""
        if self._meta_or_none() is None:
            return 0
        total = 0
        with self._errors("counting documents"):
            for start in range(0, len(ids), 10_000):
                query = {"ids": {"values": ids[start : start + 10_000]}}
                total += int(
                    self.client.options(ignore_status=404).count(index=self.index, query=query).get("count", 0)
                )
        return total

    def size_bytes(self) -> int | None:
        """Disk used by the index and its replicas; None when the credentials lack the `monitor` index
        privilege that `_stats` needs (only `flask stats` and /health ask; `flask index` never does)."""
        if self._meta_or_none() is None:
            return 0
        with self._errors("reading index stats"):
            try:
                indices = self.client.indices.stats(index=self.index, metric="store")["indices"]
            except AuthorizationException:
                return None
        return sum(i["total"]["store"]["size_in_bytes"] for i in indices.values())

    def stats(self) -> dict:
        size = self.size_bytes()
        meta = self._meta or {}
        return {
            "kind": self.kind,
            "count": self.count(),
            "model": self.model_id,
            "size_bytes": size,
            "index": self.index,
            "server_version": self.server_version() or "unknown (no cluster monitor privilege)",
            "similarity": meta.get("similarity"),
            "index_options": self.index_options,
        }

    def close(self) -> None:
        self.client.close()


def exact_top(hits: list[dict], query: np.ndarray, k: int) -> list[Hit]:
    """The k best of the fetched hits by exact inner product with their float vectors (`fields`, so also on
    9.x), replacing the quantised scores of int8_hnsw / bbq_hnsw. Done here, not by a `rescore` script:
    that needs the lang-painless module, which not every cluster has (make es's has none)."""
    if not hits:
        return []
    vectors = np.asarray([h["fields"].pop(VECTOR_FIELD) for h in hits], dtype=np.float32)
    scores = vectors @ query
    order = np.argsort(-scores, kind="stable")[:k]
    return [Hit(_record_from_fields(hits[i]["_id"], hits[i]["fields"]), float(scores[i])) for i in order]


def filter_clauses(filters: Filters) -> list[dict]:
    """Filters as Elasticsearch query clauses, applied inside the kNN search (pre-filtering)."""
    clauses: list[dict] = []
    if filters.folder:
        clauses.append({"prefix": {"path": filters.folder.rstrip("/") + "/"}})
    if filters.date_from is not None or filters.date_to is not None:
        span: dict[str, str | int] = {"format": "epoch_millis"}
        if filters.date_from is not None:
            span["gte"] = math.floor(filters.date_from * 1000)
        if filters.date_to is not None:
            span["lt"] = math.floor(filters.date_to * 1000)
        clauses.append({"range": {"taken_at": span}})
    if filters.formats:
        clauses.append({"terms": {"format": list(filters.formats)}})
    if filters.min_width:
        clauses.append({"range": {"width": {"gte": int(filters.min_width)}}})
    if filters.min_height:
        clauses.append({"range": {"height": {"gte": int(filters.min_height)}}})
    return clauses


def _record_from_source(src: dict) -> ImageRecord:
    return ImageRecord(
        path=src["path"],
        root=src["root"],
        size=int(src["size"]),
        mtime_ns=int(src["mtime_ns"]),
        width=int(src["width"]),
        height=int(src["height"]),
        taken_at=float(src["taken_at"]) / 1000.0,  # epoch millis in the index
        format=src["format"],
        id=src["image_id"],
    )


def _record_from_fields(image_id: str, fields: dict) -> ImageRecord:
    one = {name: values[0] for name, values in fields.items()}  # `fields` values are always arrays
    return _record_from_source({"image_id": image_id, **one})
