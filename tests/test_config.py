from pathlib import Path

import pytest

from image_search import create_app
from image_search.config import settings_of
from image_search.settings import Settings, SettingsError, load_settings
from image_search.stores.embedded.options import AnnParams


def test_defaults_and_data_dir_inside_instance(monkeypatch, tmp_path):
    monkeypatch.setattr("image_search.ROOT", tmp_path)
    app = create_app()
    settings = settings_of(app)
    assert settings.model == "auto" and settings.store == "embedded"
    assert settings.data_dir == tmp_path / "instance" / "data"
    assert app.config["MAX_CONTENT_LENGTH"] == 20 * 1024 * 1024


def test_instance_config_then_environment_override(monkeypatch, tmp_path):
    monkeypatch.setattr("image_search.ROOT", tmp_path)
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.py").write_text("PAGE_SIZE = 12\nMODEL = 'offline'\n")
    monkeypatch.setenv("IMAGE_SEARCH_MODEL", "clip")
    monkeypatch.setenv("IMAGE_SEARCH_MAX_UPLOAD_MB", "5")
    monkeypatch.setenv("IMAGE_SEARCH_DATA_DIR", str(tmp_path / "elsewhere"))
    app = create_app()
    settings = settings_of(app)
    assert settings.page_size == 12 and settings.model == "clip"
    assert app.config["MAX_CONTENT_LENGTH"] == 5 * 1024 * 1024
    assert settings.data_dir == tmp_path / "elsewhere" and (tmp_path / "elsewhere").is_dir()


def test_secret_key_persists_in_the_data_dir(tmp_path):
    first = create_app({"DATA_DIR": tmp_path}).config["SECRET_KEY"]
    assert len(first) == 64 and create_app({"DATA_DIR": tmp_path}).config["SECRET_KEY"] == first


def test_settings_are_typed_with_each_default_written_once():
    settings = load_settings({})
    assert settings == Settings()
    assert settings.ann == AnnParams() and settings.elasticsearch.index == "image-search"
    assert settings.clip.image_model == "clip-ViT-B-32"


def test_flat_keys_reach_the_parts_and_text_is_converted():
    settings = load_settings(
        {
            "HNSW_M": "48",
            "VECTOR_CODEC": "int8",
            "ES_URL": "http://es:9200",
            "ES_INDEX_OPTIONS": '{"type": "int8_hnsw"}',
            "ES_NUM_CANDIDATES": "300",
            "QUANTIZE": "true",
            "HUB_TIMEOUT": "2.5",
            "LOW_CONFIDENCE": "",
            "DATA_DIR": "/tmp/x",
            "SECRET_KEY": "ignored: Flask's own",
            "PAGE_SIZE": 12,
        }
    )
    assert (settings.ann.m, settings.ann.codec) == (48, "int8")
    assert (
        settings.elasticsearch.index_options == {"type": "int8_hnsw"} and settings.elasticsearch.num_candidates == 300
    )
    assert settings.clip.quantize is True and settings.clip.hub_timeout == 2.5
    assert settings.low_confidence is None and settings.data_dir == Path("/tmp/x") and settings.page_size == 12


@pytest.mark.parametrize(
    "key,value,says",
    [
        ("PAGE_SIZE", "twelve", "IMAGE_SEARCH_PAGE_SIZE must be a whole number, not 'twelve'"),
        ("HNSW_M", 3.5, "IMAGE_SEARCH_HNSW_M must be a whole number"),
        ("QUANTIZE", "maybe", "IMAGE_SEARCH_QUANTIZE must be true or false"),
        ("RUNTIME", "openvno", "IMAGE_SEARCH_RUNTIME must be one of auto, torch, onnx, openvino, not 'openvno'"),
        ("ES_INDEX_OPTIONS", "[1, 2]", "IMAGE_SEARCH_ES_INDEX_OPTIONS must be a JSON object"),
        ("ES_INDEX_OPTIONS", "{not json", "IMAGE_SEARCH_ES_INDEX_OPTIONS must be a JSON object"),
        ("DUPLICATE_THRESHOLD", True, "IMAGE_SEARCH_DUPLICATE_THRESHOLD must be a number"),
    ],
)
def test_a_setting_of_the_wrong_kind_is_refused_by_name(key, value, says):
    with pytest.raises(SettingsError, match=says):
        load_settings({key: value})


def test_settings_cannot_change_after_loading():
    with pytest.raises(AttributeError):
        load_settings({}).page_size = 3  # type: ignore[misc]


def test_a_bad_setting_is_one_line_from_the_cli(tmp_path):
    """Flask's CLI printed a traceback ending in the message; now `Error: ...` alone, exit 2."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, IMAGE_SEARCH_PAGE_SIZE="twelve", IMAGE_SEARCH_DATA_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "image_search", "stats"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == ["Error: IMAGE_SEARCH_PAGE_SIZE must be a whole number, not 'twelve'"]
