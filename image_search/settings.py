"""Typed settings: one frozen object built when the config loads, each default written once.

The defaults live in the dataclasses below and in the parts' own option classes (ClipOptions,
AnnParams, ElasticsearchOptions). Config files and IMAGE_SEARCH_* variables name them by flat keys
(`HNSW_M`, `ES_URL`, ...): a top-level field's key is its name in capitals, a part's fields are
listed in SECTION_KEYS. Values arrive as Python values (instance/config.py, tests) or as text
(environment variables); both are checked and converted here, so the rest of the code never casts.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from image_search.embedders.clip.options import RUNTIMES, ClipOptions
from image_search.stores.elasticsearch.options import ElasticsearchOptions
from image_search.stores.embedded.options import AnnParams


class SettingsError(ValueError):
    """A setting has a value of the wrong kind; the message names the setting and what it takes."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("instance") / "data"  # everything the app writes (the app's default: <instance>/data)
    model: str = "auto"  # clip | offline | auto (CLIP when its weights load without waiting, else offline)
    clip: ClipOptions = field(default_factory=ClipOptions)
    store: str = "embedded"  # embedded | elasticsearch
    ann: AnnParams = field(default_factory=AnnParams)  # the embedded store's faiss index
    elasticsearch: ElasticsearchOptions = field(default_factory=ElasticsearchOptions)
    batch_size: int = 32  # images per model call when indexing
    page_size: int = 24
    max_results: int = 480  # the deepest a page may reach
    max_k: int = 200  # largest k the API accepts
    max_query_chars: int = 300
    max_upload_mb: float = 20.0
    max_download_mb: float = 2048.0  # most bytes of originals one download of selected images (a zip) may hold
    # Pixels a query image (upload, /api/embed, `flask search --image`) may need decoded; more is a 400.
    # A baseline JPEG counts at the reduced size it decodes at. Memory: about 4 bytes a pixel per thread.
    max_query_pixels: int = 40_000_000
    # The same for `flask index` (larger ones are skipped with the reason) and for making thumbnails,
    # which take turns above max_query_pixels. Pillow refuses over 179 million pixels whatever this says.
    max_index_pixels: int = 80_000_000
    thumbnail_size: int = 256
    thumbnail_large_size: int = 512  # the srcset's second size, for sharp tiles on 2x and 3x screens
    low_confidence: float | None = (
        None  # text confidence below which to warn and blend in file names; None: the model's own
    )
    query_cache_seconds: float = 3600.0  # how long an image query's vector stays reachable by its URL
    cutoff_window: int = 96  # hits a page's cut-off and date sort look at (all=1 pages go to max_results)
    duplicate_threshold: float = 0.95  # cosine at or above which two images count as near-duplicates
    web_threads: int = 1  # per-request math threads in the web process (it serves requests in parallel)
    index_threads: int = 2  # math threads for `flask index` (it owns the machine)
    watch_quiet_seconds: float = 1.0  # `flask index --watch` runs a batch once changes pause this long,
    watch_max_wait_seconds: float = 10.0  # or this long after its first change while changes keep coming
    embedder_factory: str | None = None  # "module:Name" of an Embedder class, overriding model (tests, benchmarks)
    access_token: str | None = None  # when set, pages need a login with it and the API `Authorization: Bearer` it
    # Host names the web app answers to (ports aside): loopback only, so a page elsewhere can't reach it by
    # rebinding its own name to 127.0.0.1. ".example.org" also takes its subdomains; "*" takes any name.
    allowed_hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
    # An Embedder instance handed in by tests (never from a file or the environment).
    embedder: Any = None

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_download_bytes(self) -> int:
        return int(self.max_download_mb * 1024 * 1024)


SECTION_KEYS: dict[str, tuple[str, str]] = {
    "CLIP_IMAGE_MODEL": ("clip", "image_model"),
    "CLIP_TEXT_MODEL": ("clip", "text_model"),
    "RUNTIME": ("clip", "runtime"),
    "QUANTIZE": ("clip", "quantize"),
    "HUB_TIMEOUT": ("clip", "hub_timeout"),
    "ANN_THRESHOLD": ("ann", "threshold"),
    "HNSW_M": ("ann", "m"),
    "HNSW_EF_SEARCH": ("ann", "ef_search"),
    "HNSW_EF_CONSTRUCTION": ("ann", "ef_construction"),
    "TOMBSTONE_FRACTION": ("ann", "rebuild_fraction"),
    "VECTOR_CODEC": ("ann", "codec"),
    **{f"ES_{name.upper()}": ("elasticsearch", name) for name in ElasticsearchOptions.__dataclass_fields__},
}
SECTIONS = ("clip", "ann", "elasticsearch")


def load_settings(config: Mapping[str, Any]) -> Settings:
    """Settings from a flat mapping (Flask's config): known keys are converted and checked, the rest ignored."""
    top: dict[str, Any] = {}
    parts: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for key, value in config.items():
        if value is None and not _optional(key):
            continue  # None leaves a setting at its default
        if key in SECTION_KEYS:
            section, name = SECTION_KEYS[key]
            cls = type(getattr(Settings(), section))
            parts[section][name] = _convert(key, value, _field_types(cls)[name])
        elif key.lower() in _field_types(Settings) and key.lower() not in SECTIONS:
            name = key.lower()
            value = value if name == "embedder" else _convert(key, value, _field_types(Settings)[name])
            top[name] = value
    defaults = Settings()
    sections = {name: dataclasses.replace(getattr(defaults, name), **values) for name, values in parts.items()}
    runtime = sections["clip"].runtime
    if runtime not in RUNTIMES:  # else a typo surfaced only when the model loads, as a traceback
        raise SettingsError(f"IMAGE_SEARCH_RUNTIME must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    return Settings(**top, **sections)


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _optional(key: str) -> bool:
    if key in SECTION_KEYS:
        section, name = SECTION_KEYS[key]
        kind = _field_types(type(getattr(Settings(), section)))[name]
    else:
        kind = _field_types(Settings).get(key.lower())
    return isinstance(kind, types.UnionType) and type(None) in typing.get_args(kind)


def _convert(key: str, value: Any, kind: Any) -> Any:
    """`value` as `kind` (str, int, float, bool, Path, dict, or X | None); text is parsed."""
    options = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
    if type(None) in options:
        if value is None or value == "":
            return None
        options = tuple(o for o in options if o is not type(None))
    (target,) = options
    try:
        return CONVERTERS[target](value)
    except (TypeError, ValueError):
        raise SettingsError(f"IMAGE_SEARCH_{key} must be {DESCRIPTIONS[target]}, not {value!r}") from None


def _to_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError
    return int(value)


def _to_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError
    return float(value)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    words = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
    if isinstance(value, (int, str)) and str(value).strip().lower() in words:
        return words[str(value).strip().lower()]
    raise ValueError


def _to_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError
    return value


def _to_names(value: Any) -> tuple[str, ...]:
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not all(isinstance(name, str) for name in names):
        raise TypeError
    return tuple(name.strip() for name in names if name.strip())


def _to_dict(value: Any) -> dict:
    parsed = json.loads(value) if isinstance(value, str) else value
    if not isinstance(parsed, dict):
        raise TypeError
    return dict(parsed)


CONVERTERS: dict[Any, Any] = {
    int: _to_int,
    float: _to_float,
    bool: _to_bool,
    str: _to_str,
    Path: Path,
    dict: _to_dict,
    tuple[str, ...]: _to_names,
}
DESCRIPTIONS = {
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    str: "text",
    Path: "a path",
    dict: "a JSON object",
    tuple[str, ...]: "names separated by commas",
}
