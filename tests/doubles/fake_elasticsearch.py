"""A FAKE Elasticsearch HTTP server for tests: a test double, not Elasticsearch.

It implements only what image_search's ElasticsearchStore and ElasticsearchTextEmbedder use, with
request/response shapes taken from Elasticsearch 8.19's REST API specification (rest-api-spec /
elasticsearch-specification) and docs: info, index create (dense_vector mapping validated) / exists /
get / mapping (get, add fields) / delete, aliases (create with `aliases`, _alias get, _aliases add / remove /
remove_index,
names resolved through an alias of one index, `require_alias` on _bulk), _bulk (which, like Elasticsearch,
auto-creates a missing index with dynamic mappings), _refresh, doc get/delete, _search (top-level knn with filter, query
match_all/ids/term/terms/prefix/range/bool, _source, fields, size, scroll; a bool query scores
how many `should` clauses match, as constant-score prefix clauses do; a prefix on a `text` field
matches its whitespace-separated terms), _search/scroll, point in time (open, search with search_after in
`_shard_doc` order, close), _count, _stats, _ml/.../_infer.
kNN is exact (numpy), scored with Elasticsearch's `_score` transform per similarity. Like
Elasticsearch, writes become searchable only after a refresh, while GET by id is realtime.
Run: `with FakeElasticsearch() as es: es.url`; it serves on 127.0.0.1 on an ephemeral port.
"""

from __future__ import annotations

import fnmatch
import json
import math
import socket
import threading
import time
import uuid
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np

VERSION = "8.19.0"
SIMILARITIES = {"l2_norm", "dot_product", "cosine", "max_inner_product"}
INDEX_TYPES = {"hnsw", "int8_hnsw", "int4_hnsw", "bbq_hnsw", "flat", "int8_flat", "int4_flat", "bbq_flat"}
FIELD_TYPES = {"keyword", "text", "long", "integer", "short", "float", "double", "boolean", "date", "dense_vector"}
SHARDS = {"total": 1, "successful": 1, "skipped": 0, "failed": 0}


class EsError(Exception):
    def __init__(self, status: int, type_: str, reason: str):
        self.status, self.type, self.reason = status, type_, reason

    def body(self) -> dict:
        cause = {"type": self.type, "reason": self.reason}
        return {"error": {"root_cause": [cause], **cause}, "status": self.status}


class FakeIndex:
    def __init__(self, name: str, mappings: dict):
        self.name, self.mappings, self.uuid = name, mappings, uuid.uuid4().hex[:22]
        self.settings: dict[str, str] = {"number_of_shards": "1", "number_of_replicas": "1"}  # flat, as strings
        self.docs: dict[str, dict] = {}  # realtime (GET by id)
        self.visible: dict[str, dict] = {}  # what searches see: docs as of the last refresh
        self.versions: dict[str, int] = defaultdict(int)

    def props(self) -> dict:
        return self.mappings.get("properties", {})

    def vector_fields(self) -> dict:
        return {k: v for k, v in self.props().items() if v.get("type") == "dense_vector"}

    def refresh(self) -> None:
        self.visible = dict(self.docs)


def validate_mappings(mappings: dict) -> None:
    bad = lambda reason: EsError(400, "mapper_parsing_exception", reason)  # noqa: E731
    for name, prop in mappings.get("properties", {}).items():
        kind = prop.get("type")
        if kind not in FIELD_TYPES:
            raise bad(f"No handler for type [{kind}] declared on field [{name}]")
        if kind != "dense_vector":
            continue
        dims = prop.get("dims")
        if not isinstance(dims, int) or not 1 <= dims <= 4096:
            raise bad(f"The number of dimensions should be in the range [1, 4096] but was [{dims}]")
        if prop.get("index", True) is not True:
            if "similarity" in prop or "index_options" in prop:
                raise bad(f"Field [similarity/index_options] can only be specified for indexed vectors ({name})")
            continue
        similarity = prop.get("similarity", "cosine")
        if similarity not in SIMILARITIES:
            raise bad(
                f"Unknown value [{similarity}] for field [similarity] - accepted values are {sorted(SIMILARITIES)}"
            )
        options = prop.get("index_options")
        if options is None:
            continue
        kind = options.get("type")
        if kind not in INDEX_TYPES:
            raise bad(f"Unknown vector index options type [{kind}] for field [{name}]")
        allowed = ({"m", "ef_construction"} if kind.endswith("hnsw") else set()) | (
            {"confidence_interval"} if kind.startswith(("int8", "int4")) else set()
        )
        for key, value in options.items():
            if key != "type" and key not in allowed:
                raise bad(f"Mapping definition for [{name}] has unsupported parameters: [{key} : {value}]")
            if key in ("m", "ef_construction") and (
                not isinstance(value, int) or value < 1 or value > (512 if key == "m" else 3200)
            ):
                raise bad(f"[{key}] must be in range [1, {512 if key == 'm' else 3200}] but was [{value}]")
        if kind.startswith("bbq") and dims < 64:
            raise bad(f"bbq_hnsw does not support dimensions fewer than 64; provided={dims}")
        if kind.startswith("int4") and dims % 2:
            raise bad(f"int4_hnsw only supports even dimensions; provided={dims}")


def date_millis(value, fmt: str = "epoch_second||epoch_millis") -> int:
    """A date value as epoch millis (dates have millisecond resolution)."""
    first = fmt.split("||")[0]
    number = float(value)
    return math.floor(number * 1000 if first == "epoch_second" else number)


class FakeElasticsearch:
    """Start with `start()` (or as a context manager); state lives in `indices`; `requests` logs calls."""

    def __init__(self, version: str = VERSION, api_key: str | None = None, index_privileges_only: bool = False):
        """index_privileges_only: answer as for a key with only index privileges (read, write, manage on its
        indices): 403 for cluster-level APIs (GET /, _cluster, _nodes, _cat) and for an index's _stats."""
        self.version, self.api_key, self.index_privileges_only = version, api_key, index_privileges_only
        self.indices: dict[str, FakeIndex] = {}
        self.aliases: dict[str, set[str]] = {}  # alias -> the indices it names
        self.models: dict[str, callable] = {}  # trained model id -> fn(text) -> list[float]
        self.reject_429: dict[str, int] = {}  # doc id -> how many more bulk attempts answer 429
        self.requests: list[tuple[str, str, dict | None]] = []
        self.scrolls: dict[str, list] = {}
        self.pits: dict[str, tuple[FakeIndex, dict[str, dict]]] = {}  # id -> (index, documents at opening)
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> FakeElasticsearch:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()  # no Nagle delay between the header and body writes
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args):  # quiet
                pass

            def _handle(self):
                fake._serve(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # -- HTTP plumbing ----------------------------------------------------------------------------
    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        ndjson = parts.path.endswith("/_bulk")
        try:
            body = None if not raw or ndjson else json.loads(raw)
            self.requests.append((h.command, parts.path, body))
            if self.api_key and h.headers.get("Authorization") != f"ApiKey {self.api_key}":
                raise EsError(401, "security_exception", "missing authentication credentials for REST request")
            if self.index_privileges_only and needs_cluster_privilege(parts.path):
                raise EsError(
                    403,
                    "security_exception",
                    f"action [{parts.path}] is unauthorized for API key id [fake] of user [fake], this action "
                    f"is granted by the cluster privileges [monitor,manage,all]",
                )
            with self.lock:
                status, payload = self._route(
                    h.command, [p for p in parts.path.split("/") if p], params, raw if ndjson else body
                )
        except EsError as e:
            status, payload = e.status, e.body()
        except Exception as e:  # a bug in the fake: report it like a server error
            status, payload = 500, EsError(500, "fake_exception", repr(e)).body()
        out = b"" if h.command == "HEAD" else json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("X-Elastic-Product", "Elasticsearch")
        accept = h.headers.get("Accept", "")
        h.send_header(
            "Content-Type",
            "application/vnd.elasticsearch+json;compatible-with=8"
            if "vnd.elasticsearch" in accept
            else "application/json; charset=UTF-8",
        )
        h.send_header("Content-Length", str(len(out)))
        h.end_headers()
        h.wfile.write(out)

    def _index(self, name: str) -> FakeIndex:
        """The index of that name, or the one index an alias of that name names."""
        targets = sorted(self.aliases.get(name, ()))
        if len(targets) > 1:
            raise EsError(400, "illegal_argument_exception", f"alias [{name}] has more than one index")
        name = targets[0] if targets else name
        if name not in self.indices:
            raise EsError(404, "index_not_found_exception", f"no such index [{name}]")
        return self.indices[name]

    def _targets(self, name: str) -> list[FakeIndex]:
        """The index of this name, or those an alias of it names."""
        if name in self.aliases:
            return [self.indices[n] for n in sorted(self.aliases[name])]
        return [self._index(name)]

    def _get_alias(self, method: str, name: str):
        targets = self.aliases.get(name)
        if not targets:
            if method == "HEAD":
                return 404, {}
            return 404, {"error": f"alias [{name}] missing", "status": 404}
        return 200, {index: {"aliases": {name: {}}} for index in sorted(targets)}

    def _update_aliases(self, body: dict):
        """All actions or none, as Elasticsearch applies them."""
        aliases = {alias: set(targets) for alias, targets in self.aliases.items()}
        removed: set[str] = set()
        for action in body.get("actions", []):
            ((kind, spec),) = action.items()
            index = spec.get("index")
            if index not in self.indices or index in removed:
                raise EsError(404, "index_not_found_exception", f"no such index [{index}]")
            if kind == "add":
                aliases.setdefault(spec["alias"], set()).add(index)
            elif kind == "remove":
                if index not in aliases.get(spec["alias"], set()):
                    raise EsError(404, "aliases_not_found_exception", f"aliases [{spec['alias']}] missing")
                aliases[spec["alias"]].discard(index)
            elif kind == "remove_index":
                removed.add(index)
            else:
                raise EsError(400, "illegal_argument_exception", f"the fake does not implement alias action [{kind}]")
        for alias in aliases:
            if alias in self.indices and alias not in removed and aliases[alias]:
                raise EsError(
                    400,
                    "invalid_alias_name_exception",
                    f"Invalid alias name [{alias}]: an index exists with the same name",
                )
        for index in removed:
            del self.indices[index]
            for targets in aliases.values():
                targets.discard(index)
        self.aliases = {alias: targets for alias, targets in aliases.items() if targets}
        return 200, {"acknowledged": True}

    def _route(self, method: str, path: list[str], params: dict, body):
        if not path:
            return 200, {
                "name": "fake-node",
                "cluster_name": "fake-elasticsearch",
                "cluster_uuid": "fake",
                "version": {
                    "number": self.version,
                    "build_flavor": "default",
                    "build_type": "docker",
                    "lucene_version": "9.12.2",
                    "minimum_wire_compatibility_version": "7.17.0",
                    "minimum_index_compatibility_version": "7.0.0",
                },
                "tagline": "You Know, for Search",
            }
        if path[0] == "_bulk":
            return self._bulk(None, body, params)
        if path[0] == "_alias" and len(path) == 2:
            return self._get_alias(method, path[1])
        if path[0] == "_aliases" and method == "POST":
            return self._update_aliases(body or {})
        if path[:2] == ["_search", "scroll"]:
            return self._scroll(method, params, body or {})
        if path == ["_search"] and (body or {}).get("pit"):
            return self._pit_search(body)
        if path == ["_pit"] and method == "DELETE":
            return 200, {"succeeded": self.pits.pop((body or {}).get("id"), None) is not None, "num_freed": 1}
        if path[0] == "_ml" and len(path) == 4 and path[3] == "_infer":
            return self._infer(path[2], body or {})
        name, rest = path[0], path[1:]
        if not rest:
            return self._index_api(method, name, body or {})
        op = rest[0]
        if op == "_bulk":
            return self._bulk(name, body, params)
        if op == "_mapping" and method == "GET":
            index = self._index(name)
            return 200, {index.name: {"mappings": index.mappings}}  # the index's own name, also through an alias
        if op == "_alias" and len(rest) == 2:
            return self._get_alias(method, rest[1])
        if op == "_mapping" and method == "PUT":  # adds fields; changing one is refused by the real server
            index, added = self._index(name), (body or {}).get("properties", {})
            validate_mappings({"properties": added})
            index.mappings.setdefault("properties", {}).update(added)
            return 200, {"acknowledged": True}
        if op == "_settings" and method == "PUT":
            for index in self._targets(name):
                index.settings.update(flat_settings(body or {}))
            return 200, {"acknowledged": True}
        if op == "_settings" and method == "GET":
            return 200, {index.name: {"settings": {"index": dict(index.settings)}} for index in self._targets(name)}
        if op == "_refresh":
            self._index(name).refresh()
            return 200, {"_shards": SHARDS}
        if op == "_doc" and len(rest) == 2:
            return self._doc(method, self._index(name), rest[1], params)
        if op == "_search":
            return self._search(self._index(name), params, body or {})
        if op == "_pit" and method == "POST":
            if "keep_alive" not in params:
                raise EsError(400, "action_request_validation_exception", "[keep_alive] is required")
            pit_id = uuid.uuid4().hex
            self.pits[pit_id] = (self._index(name), dict(self._index(name).visible))  # the view at this moment
            return 200, {"id": pit_id}
        if op == "_count":
            return 200, {"count": len(self._matching(self._index(name), (body or {}).get("query"))), "_shards": SHARDS}
        if op == "_stats":
            return self._stats(self._index(name))
        raise EsError(400, "illegal_argument_exception", f"the fake does not implement {method} /{'/'.join(path)}")

    # -- index APIs -------------------------------------------------------------------------------
    def _index_api(self, method: str, name: str, body: dict):
        if method == "PUT":
            if name in self.indices:
                raise EsError(400, "resource_already_exists_exception", f"index [{name}/x] already exists")
            if name in self.aliases:
                raise EsError(
                    400, "invalid_index_name_exception", f"Invalid index name [{name}], already exists as alias"
                )
            mappings = body.get("mappings", {})
            validate_mappings(mappings)
            self.indices[name] = FakeIndex(name, mappings)
            self.indices[name].settings.update(flat_settings(body.get("settings", {})))
            for alias in body.get("aliases", {}):
                self.aliases.setdefault(alias, set()).add(name)
            return 200, {"acknowledged": True, "shards_acknowledged": True, "index": name}
        if "*" in name and method == "GET":  # a wildcard pattern: every matching index, none is no error
            found = [index for index in self.indices.values() if fnmatch.fnmatchcase(index.name, name)]
            return 200, {index.name: self._index_body(index) for index in found}
        index = self._index(name)
        if method == "DELETE":
            if name in self.aliases:
                raise EsError(
                    400,
                    "illegal_argument_exception",
                    f"The provided expression [{name}] matches an alias, specify the corresponding concrete indices "
                    f"instead.",
                )
            del self.indices[name]
            for targets in self.aliases.values():
                targets.discard(name)
            self.aliases = {alias: targets for alias, targets in self.aliases.items() if targets}
            return 200, {"acknowledged": True}
        return 200, {index.name: self._index_body(index)}

    def _index_body(self, index: FakeIndex) -> dict:
        return {
            "aliases": {alias: {} for alias, targets in sorted(self.aliases.items()) if index.name in targets},
            "mappings": index.mappings,
            "settings": {"index": {"number_of_shards": "1", "uuid": index.uuid}},
        }

    def _stats(self, index: FakeIndex):
        size = sum(len(json.dumps(d)) for d in index.docs.values())
        part = {"docs": {"count": len(index.visible), "deleted": 0}, "store": {"size_in_bytes": size}}
        return 200, {
            "_shards": SHARDS,
            "_all": {"primaries": part, "total": part},
            "indices": {index.name: {"uuid": index.uuid, "primaries": part, "total": part}},
        }

    # -- documents --------------------------------------------------------------------------------
    def _check_doc(self, index: FakeIndex, source: dict) -> None:
        props = index.props()
        strict = index.mappings.get("dynamic") in ("strict", "false", False)
        for field, value in source.items():
            if field not in props:
                if strict:
                    raise EsError(
                        400,
                        "strict_dynamic_mapping_exception",
                        f"[1:2] mapping set to strict, dynamic introduction of [{field}] within [_doc] is not allowed",
                    )
                continue
            prop = props[field]
            if prop["type"] == "dense_vector":
                vec = np.asarray(value, dtype=np.float32)
                if vec.shape != (prop["dims"],):
                    raise EsError(
                        400,
                        "document_parsing_exception",
                        f"[1:2] failed to parse: The [dense_vector] field "
                        f"[{field}] in doc has a different number of dimensions [{vec.size}] than defined "
                        f"in the mapping [{prop['dims']}]",
                    )
                if prop.get("similarity", "cosine") == "dot_product" and abs(float(vec @ vec) - 1) > 1e-4:
                    raise EsError(
                        400,
                        "document_parsing_exception",
                        "[1:2] failed to parse: The [dot_product] "
                        "similarity can only be used with unit-length vectors.",
                    )
            elif prop["type"] in ("long", "integer") and not isinstance(value, int):
                raise EsError(
                    400, "document_parsing_exception", f"[1:2] failed to parse field [{field}] of type [{prop['type']}]"
                )

    def _bulk(self, default_index: str | None, raw: bytes, params: dict):
        lines = [json.loads(line) for line in (raw or b"").splitlines() if line.strip()]
        items, i = [], 0
        while i < len(lines):
            ((op, meta),) = lines[i].items()
            source = lines[i + 1] if op in ("index", "create", "update") else None
            i += 2 if source is not None else 1
            name, doc_id = meta.get("_index", default_index), meta.get("_id") or uuid.uuid4().hex
            item = {"_index": name, "_id": doc_id}
            try:
                if self.reject_429.get(doc_id, 0) > 0:
                    self.reject_429[doc_id] -= 1
                    raise EsError(
                        429,
                        "es_rejected_execution_exception",
                        "rejected execution of coordinating operation (fake overload)",
                    )
                if params.get("require_alias") == "true" and name not in self.aliases:
                    raise EsError(
                        404,
                        "index_not_found_exception",
                        f"no such index [{name}] and [require_alias] request flag is [true] "
                        f"and [{name}] is not an alias",
                    )
                if op == "index" and name not in self.indices and name not in self.aliases:
                    self.indices[name] = FakeIndex(name, {})  # auto-created, mappings guessed from the document
                index = self._index(name)
                if op == "delete":
                    found = index.docs.pop(doc_id, None) is not None
                    index.versions[doc_id] += 1
                    item.update(result="deleted" if found else "not_found", status=200 if found else 404)
                elif op == "index":
                    self._check_doc(index, source)
                    created = doc_id not in index.docs
                    index.docs[doc_id] = source
                    index.versions[doc_id] += 1
                    item.update(result="created" if created else "updated", status=201 if created else 200)
                else:
                    raise EsError(400, "illegal_argument_exception", f"the fake does not implement bulk [{op}]")
                item.update(
                    _version=index.versions[doc_id],
                    _shards={"total": 1, "successful": 1, "failed": 0},
                    _seq_no=sum(index.versions.values()),
                    _primary_term=1,
                )
            except EsError as e:
                item.update(status=e.status, error={"type": e.type, "reason": e.reason})
            items.append({op: item})
        if params.get("refresh") in ("true", "wait_for", ""):
            for index in self.indices.values():
                index.refresh()
        return 200, {"took": 1, "errors": any("error" in next(iter(it.values())) for it in items), "items": items}

    def _doc(self, method: str, index: FakeIndex, doc_id: str, params: dict):
        head = {"_index": index.name, "_id": doc_id}
        if doc_id not in index.docs:
            return 404, {**head, "found": False} if method == "GET" else {**head, "result": "not_found"}
        if method == "DELETE":
            del index.docs[doc_id]
            index.versions[doc_id] += 1
            return 200, {**head, "result": "deleted", "_version": index.versions[doc_id], "_shards": SHARDS}
        source = filter_source(
            index.docs[doc_id], params.get("_source"), params.get("_source_includes"), params.get("_source_excludes")
        )
        out = {**head, "_version": index.versions[doc_id], "_seq_no": 0, "_primary_term": 1, "found": True}
        if source is not None:
            out["_source"] = source
        return 200, out

    # -- search -----------------------------------------------------------------------------------
    def _matching(self, index: FakeIndex, query: dict | None) -> list[str]:
        return [i for i, d in index.visible.items() if matches(index, i, d, query)]

    def _search(self, index: FakeIndex, params: dict, body: dict):
        size = int(body.get("size", params.get("size", 10)))
        knn = body.get("knn")
        if knn:
            scored = self._knn(index, knn)
        else:
            query = body.get("query")
            scored = [(i, query_score(index, index.visible[i], query)) for i in self._matching(index, query)]
            scored.sort(key=lambda item: -item[1])  # stable: ties keep indexing order
        for field_name, order in reversed(sort_keys(body.get("sort"))):  # stable sorts: the first key last
            scored.sort(key=lambda item: index.visible[item[0]].get(field_name, 0), reverse=order == "desc")
        total = len(scored)
        source_spec = body.get("_source", params.get("_source"))
        hits = []
        for doc_id, score in scored:
            hit = {"_index": index.name, "_id": doc_id, "_score": None if "sort" in body else score}
            source = filter_source(
                index.visible[doc_id], source_spec, params.get("_source_includes"), params.get("_source_excludes")
            )
            if source is not None:
                hit["_source"] = source
            if body.get("fields") or body.get("docvalue_fields"):
                hit["fields"] = doc_fields(index, index.visible[doc_id], requested_fields(index, body))
            hits.append(hit)
        out = {
            "took": 1,
            "timed_out": False,
            "_shards": SHARDS,
            "hits": {
                "total": {"value": total, "relation": "eq"},
                "max_score": max((s for _, s in scored), default=None),
                "hits": hits[:size],
            },
        }
        if body.get("aggs"):
            out["aggregations"] = {
                name: composite_aggregation(index, [i for i, _ in scored], spec) for name, spec in body["aggs"].items()
            }
        if "scroll" in params:
            scroll_id = uuid.uuid4().hex
            self.scrolls[scroll_id] = [hits[size:], size]
            out["_scroll_id"] = scroll_id
        return 200, out

    def _scroll(self, method: str, params: dict, body: dict):
        scroll_id = body.get("scroll_id", params.get("scroll_id"))
        ids = scroll_id if isinstance(scroll_id, list) else [scroll_id]
        if method == "DELETE":
            freed = sum(self.scrolls.pop(i, None) is not None for i in ids)
            return 200, {"succeeded": True, "num_freed": freed}
        if scroll_id not in self.scrolls:
            raise EsError(404, "search_context_missing_exception", f"No search context found for id [{scroll_id}]")
        rest, size = self.scrolls[scroll_id]
        self.scrolls[scroll_id] = [rest[size:], size]
        return 200, {
            "_scroll_id": scroll_id,
            "took": 1,
            "timed_out": False,
            "_shards": SHARDS,
            "hits": {"total": {"value": len(rest), "relation": "eq"}, "max_score": None, "hits": rest[:size]},
        }

    def _pit_search(self, body: dict):
        """A page of a point in time, in `_shard_doc` order (the position in the view), after `search_after`."""
        if self.pits.get(body["pit"].get("id")) is None:
            raise EsError(404, "search_context_missing_exception", f"No search context found for id [{body['pit']}]")
        if body.get("sort") not in ([{"_shard_doc": "asc"}], ["_shard_doc"]):
            raise EsError(400, "illegal_argument_exception", "the fake sorts a point in time by _shard_doc only")
        index, view = self.pits[body["pit"]["id"]]
        after = (body.get("search_after") or [-1])[0]
        size = int(body.get("size", 10))
        hits = []
        for position, (doc_id, source) in enumerate(view.items()):
            if position <= after or not matches(index, doc_id, source, body.get("query")):
                continue
            hit = {"_index": index.name, "_id": doc_id, "_score": None, "sort": [position]}
            shown = filter_source(source, body.get("_source"))
            if shown is not None:
                hit["_source"] = shown
            if body.get("fields") or body.get("docvalue_fields"):
                hit["fields"] = doc_fields(index, source, requested_fields(index, body))
            hits.append(hit)
            if len(hits) == size:
                break
        return 200, {
            "pit_id": body["pit"]["id"],
            "took": 1,
            "timed_out": False,
            "_shards": SHARDS,
            "hits": {"max_score": None, "hits": hits},
        }

    def _knn(self, index: FakeIndex, knn: dict) -> list[tuple[str, float]]:
        field = knn.get("field")
        prop = index.vector_fields().get(field)
        if prop is None:
            raise EsError(400, "illegal_argument_exception", f"field [{field}] does not exist in the mapping")
        k, candidates = knn.get("k", 10), knn.get("num_candidates", max(100, 1.5 * knn.get("k", 10)))
        if not 1 <= k <= candidates:
            raise EsError(400, "illegal_argument_exception", "[num_candidates] cannot be less than [k]")
        if candidates > 10000:
            raise EsError(400, "illegal_argument_exception", "[num_candidates] cannot exceed [10000]")
        query = np.asarray(knn["query_vector"], dtype=np.float32)
        if query.shape != (prop["dims"],):
            raise EsError(
                400,
                "illegal_argument_exception",
                f"The query vector has a different number of dimensions "
                f"[{query.size}] than the document vectors [{prop['dims']}].",
            )
        similarity = prop.get("similarity", "cosine")
        if similarity == "dot_product" and abs(float(query @ query) - 1) > 1e-4:
            raise EsError(
                400,
                "illegal_argument_exception",
                "The [dot_product] similarity can only be used with unit-length vectors.",
            )
        filters = knn.get("filter")
        filter_query = {"bool": {"filter": filters if isinstance(filters, list) else [filters]}} if filters else None
        ids = [i for i in self._matching(index, filter_query) if field in index.visible[i]]
        if not ids:
            return []
        matrix = np.asarray([index.visible[i][field] for i in ids], dtype=np.float32)
        scores = es_score(matrix, query, similarity)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(ids[j], float(scores[j])) for j in order]

    def _infer(self, model_id: str, body: dict):
        if model_id not in self.models:
            raise EsError(404, "resource_not_found_exception", f"Could not find trained model [{model_id}]")
        return 200, {
            "inference_results": [
                {"predicted_value": list(map(float, self.models[model_id](d["text_field"])))}
                for d in body.get("docs", [])
            ]
        }


def es_score(matrix: np.ndarray, query: np.ndarray, similarity: str) -> np.ndarray:
    """Elasticsearch's `_score` for each row (per the dense_vector similarity docs), in float32."""
    if similarity == "l2_norm":
        return (1 / (1 + ((matrix - query) ** 2).sum(axis=1))).astype(np.float32)
    if similarity == "cosine":
        dots = (matrix @ query) / np.maximum(np.linalg.norm(matrix, axis=1) * np.linalg.norm(query), 1e-12)
        return ((1 + dots) / 2).astype(np.float32)
    dots = matrix @ query
    if similarity == "dot_product":
        return ((1 + dots) / 2).astype(np.float32)
    return np.where(dots < 0, 1 / (1 - dots), dots + 1).astype(np.float32)  # max_inner_product


def needs_cluster_privilege(path: str) -> bool:
    """The requests a key with index privileges only may not make (in this fake; `manage` would grant an
    index's _stats on a real server, but the indexer must not need even that)."""
    parts = [p for p in path.split("/") if p]
    return not parts or parts[0] in ("_cluster", "_nodes", "_cat", "_stats") or "_stats" in parts


def requested_fields(index: FakeIndex, body: dict) -> list:
    """`fields` and `docvalue_fields` together (both answer in a hit's "fields"); a dense_vector has no doc
    values to give, as on the real server (8.x: "doesn't support docvalue_fields or aggregations")."""
    for spec in body.get("docvalue_fields", []):
        name = spec["field"] if isinstance(spec, dict) else spec
        if index.props().get(name, {}).get("type") in ("dense_vector", "text"):
            raise EsError(400, "illegal_argument_exception", f"Field [{name}] doesn't support docvalue_fields")
    return [*body.get("fields", []), *body.get("docvalue_fields", [])]


def flat_settings(settings: dict, prefix: str = "") -> dict[str, str]:
    """{"index": {"refresh_interval": "1s"}} or {"number_of_shards": 1} -> {"refresh_interval": "1s", ...}."""
    flat: dict[str, str] = {}
    for key, value in settings.items():
        key = key.removeprefix("index.") if not prefix else key
        if isinstance(value, dict):
            flat.update(flat_settings(value, "" if key == "index" and not prefix else f"{prefix}{key}."))
        else:
            flat[prefix + key] = str(value)
    return flat


def composite_aggregation(index: FakeIndex, doc_ids: list[str], spec: dict) -> dict:
    """A composite aggregation of one terms source on a keyword field, paged by `size` and `after`."""
    if set(spec) != {"composite"} or len(spec["composite"]["sources"]) != 1:
        raise EsError(400, "illegal_argument_exception", "the fake aggregates by one composite terms source only")
    composite = spec["composite"]
    ((key, source),) = composite["sources"][0].items()
    field = source["terms"]["field"]
    counts: dict = defaultdict(int)
    for doc_id in doc_ids:
        if (value := index.visible[doc_id].get(field)) is not None:
            counts[value] += 1
    after = (composite.get("after") or {}).get(key)
    keys = [k for k in sorted(counts) if after is None or k > after][: int(composite.get("size", 10))]
    out: dict = {"buckets": [{"key": {key: k}, "doc_count": counts[k]} for k in keys]}
    if keys:
        out["after_key"] = {key: keys[-1]}
    return out


def filter_source(source: dict, spec, includes=None, excludes=None):
    if spec in (False, "false"):
        return None
    if isinstance(spec, dict):
        includes, excludes = spec.get("includes", includes), spec.get("excludes", excludes)
    elif isinstance(spec, (str, list)) and spec not in ("true", ""):
        includes = spec
    split = lambda v: v.split(",") if isinstance(v, str) else (v or [])  # noqa: E731
    includes, excludes = split(includes), split(excludes)
    return {k: v for k, v in source.items() if (not includes or k in includes) and k not in excludes}


def doc_fields(index: FakeIndex, source: dict, requested: list) -> dict:
    """The `fields` section: values as arrays; dates formatted (default: the mapping's first format)."""
    out = {}
    for spec in requested:
        name, fmt = (spec["field"], spec.get("format")) if isinstance(spec, dict) else (spec, None)
        if name not in source:
            continue
        prop = index.props().get(name, {})
        value = source[name]
        if prop.get("type") == "date":
            millis = date_millis(value, prop.get("format", "epoch_millis"))
            value = str(millis) if (fmt or prop.get("format", "")).startswith("epoch_millis") else str(millis // 1000)
        out[name] = value if isinstance(value, list) else [value]
    return out


def field_value(index: FakeIndex, field: str, source: dict):
    """A comparable value of `field` (dates in millis), or None when missing."""
    if field not in source:
        return None
    prop = index.props().get(field, {})
    if prop.get("type") == "date":
        return date_millis(source[field], prop.get("format", "epoch_millis"))
    return source[field]


def range_bound(index: FakeIndex, field: str, value, fmt: str | None):
    if index.props().get(field, {}).get("type") == "date":
        return date_millis(value, fmt or index.props()[field].get("format", "epoch_millis"))
    return value


def query_score(index: FakeIndex, source: dict, query: dict | None) -> float:
    """Term-level queries score 1 (constant), so a bool's score is how many of its `should` clauses match
    (the real server's for prefix clauses); everything else scores 1."""
    spec = (query or {}).get("bool")
    if not spec or not spec.get("should"):
        return 1.0
    should = spec["should"] if isinstance(spec["should"], list) else [spec["should"]]
    return float(sum(matches(index, "", source, q) for q in should))


def matches(index: FakeIndex, doc_id: str, source: dict, query: dict | None) -> bool:
    if not query:
        return True
    ((kind, spec),) = query.items()
    if kind == "match_all":
        return True
    if kind == "ids":
        return doc_id in spec["values"]
    if kind == "bool":
        as_list = lambda v: v if isinstance(v, list) else [v]  # noqa: E731
        must = as_list(spec.get("filter", [])) + as_list(spec.get("must", []))
        should = as_list(spec.get("should", []))
        return (
            all(matches(index, doc_id, source, q) for q in must)
            and not any(matches(index, doc_id, source, q) for q in as_list(spec.get("must_not", [])))
            and (not should or any(matches(index, doc_id, source, q) for q in should))
        )
    ((field, arg),) = spec.items()
    value = field_value(index, field, source)
    if value is None:
        return False
    if kind == "term":
        return value == (arg["value"] if isinstance(arg, dict) else arg)
    if kind == "terms":
        return value in arg
    if kind == "prefix":
        wanted = arg["value"] if isinstance(arg, dict) else arg
        if index.props().get(field, {}).get("type") == "text":  # its terms: the whitespace analyzer's tokens
            return isinstance(value, str) and any(t.startswith(wanted) for t in value.split())
        return isinstance(value, str) and value.startswith(wanted)
    if kind == "range":
        fmt = arg.get("format")
        checks = {
            "gte": lambda b: value >= b,
            "gt": lambda b: value > b,
            "lte": lambda b: value <= b,
            "lt": lambda b: value < b,
        }
        return all(check(range_bound(index, field, arg[op], fmt)) for op, check in checks.items() if op in arg)
    raise EsError(400, "parsing_exception", f"unknown query [{kind}] (not implemented by the fake)")


if __name__ == "__main__":  # handy for poking at it with curl
    with FakeElasticsearch() as fake:
        print("fake Elasticsearch at", fake.url)
        while True:
            time.sleep(3600)


def sort_keys(sort) -> list[tuple[str, str]]:
    """A search's `sort` on document fields as (field, "asc"|"desc"): `[{"taken_at": "desc"}]`, `["path"]`,
    `[{"f": {"order": "desc"}}]`. Sorting a point in time by _shard_doc is the PIT pass's, handled there."""
    keys = []
    for item in sort or []:
        if isinstance(item, str):
            keys.append((item, "asc"))
            continue
        ((name, spec),) = item.items()
        keys.append((name, spec if isinstance(spec, str) else spec.get("order", "asc")))
    return [(name, order) for name, order in keys if name not in ("_shard_doc", "_score", "_doc")]
