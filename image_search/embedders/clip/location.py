"""Finding a sentence-transformers model's directory: a local path, the Hugging Face cache, or the hub."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from image_search.errors import ModelUnavailable

log = logging.getLogger(__name__)

HOW_TO_FIX = (
    "To fix: connect to the internet once so the weights download into the Hugging Face cache, "
    "or set IMAGE_SEARCH_CLIP_IMAGE_MODEL / IMAGE_SEARCH_CLIP_TEXT_MODEL to local model directories, "
    "or use the offline model with IMAGE_SEARCH_MODEL=offline."
)


def mismatched_text_model(source: Path, width: int, dim: int) -> ModelUnavailable:
    """The error for a text model (or its exported tower) whose vectors are not the image model's width."""
    return ModelUnavailable(
        f"The CLIP text model {source} makes {width}-d vectors, the image model {dim}-d: set "
        "IMAGE_SEARCH_CLIP_TEXT_MODEL to a text model made for this image model."
    )


DEFAULT_ORGANISATION = "sentence-transformers"  # as SentenceTransformer expands a bare name
_SNAPSHOT = re.compile(r"models--(?P<org>[^/\\]+?)--(?P<name>[^/\\]+)[/\\]snapshots[/\\][^/\\]+[/\\]?$")


def is_path(name: str) -> bool:
    """A local path rather than a hub id (`org/name` or a bare `name`)."""
    return Path(name).expanduser().exists() or name.startswith(("/", ".", "~")) or "\\" in name or name.count("/") > 1


def repo_id(name: str) -> str:
    return name if "/" in name else f"{DEFAULT_ORGANISATION}/{name}"


def short_name(name: str) -> str:
    """A stable name for vectors' model_id: the hub name, or a local directory's basename."""
    if is_path(name):
        resolved = str(Path(name).expanduser().resolve())
        snapshot = _SNAPSHOT.search(resolved)  # a snapshot in the HF cache is named like its repo
        return snapshot["name"] if snapshot else Path(resolved).name
    return name.rsplit("/", 1)[-1]


def hf_cache_dir() -> str | None:
    """Where sentence-transformers caches hub models (None: the Hugging Face default)."""
    return os.getenv("SENTENCE_TRANSFORMERS_HOME")


def find_local(name: str) -> Path | None:
    """The model's directory if it is on disk (a local path or in the HF cache); never uses the network."""
    if is_path(name):
        path = Path(name).expanduser()
        return path if path.is_dir() else None
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id(name), local_files_only=True, cache_dir=hf_cache_dir()))
    except Exception:  # LocalEntryNotFoundError and kin: not cached
        return None


def locate(name: str, *, local_files_only: bool, hub_timeout: float) -> Path:
    """The model's local directory, downloading it first when allowed; ModelUnavailable says what was tried."""
    directory = find_local(name)
    if directory is not None:
        return directory
    if is_path(name):
        raise ModelUnavailable(f"Model directory {Path(name).expanduser()} does not exist. {HOW_TO_FIX}")
    from huggingface_hub import constants

    cache = hf_cache_dir() or constants.HF_HUB_CACHE
    tried = f"{repo_id(name)!r} is not a local directory nor in the Hugging Face cache ({cache})"
    if local_files_only or constants.HF_HUB_OFFLINE:
        why = "local files only" if local_files_only else "HF_HUB_OFFLINE is set"
        raise ModelUnavailable(f"{tried}, and the hub was not asked ({why}). {HOW_TO_FIX}")
    _download(repo_id(name), hub_timeout, tried)
    directory = find_local(name)
    if directory is None:
        raise ModelUnavailable(f"{tried}; downloading it did not leave it there. {HOW_TO_FIX}")
    return directory


def _download(repo: str, hub_timeout: float, tried: str) -> None:
    from huggingface_hub import HfApi

    try:  # one bounded request first, so an unreachable hub fails within hub_timeout
        HfApi().model_info(repo, timeout=hub_timeout)
    except Exception as error:
        raise ModelUnavailable(
            f"{tried}, and the hub could not provide it (timeout {hub_timeout:g}s; {type(error).__name__}: {error}). "
            f"{HOW_TO_FIX}"
        ) from error
    from sentence_transformers import SentenceTransformer

    log.info("downloading %s into the Hugging Face cache", repo)
    try:  # sentence-transformers fetches exactly the files it needs
        SentenceTransformer(repo, device="cpu", cache_folder=hf_cache_dir())
    except Exception as error:
        raise ModelUnavailable(
            f"{tried}; downloading it failed ({type(error).__name__}: {error}). {HOW_TO_FIX}"
        ) from error
