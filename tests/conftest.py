"""Shared fixtures: the tiny random CLIP pair (a test double, see tests/tiny_clip.py)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never reach the Hugging Face hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_clip_models(tmp_path_factory) -> tuple[Path, Path]:
    """(image_model_dir, text_model_dir): tiny random CLIP models, built once per session."""
    from tests.tiny_clip import build_tiny_clip

    return build_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))
