"""Configuration: the defaults (image_search/settings.py), then instance/config.py, then IMAGE_SEARCH_* environment
variables, or a test's mapping instead of the last two."""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from pathlib import Path

from flask import Flask

from image_search.atomic import atomic_write
from image_search.settings import Settings, load_settings

log = logging.getLogger(__name__)


def load_config(app: Flask, test_config: dict | None) -> Settings:
    """Flask's config from its sources, then the typed settings the rest of the code reads."""
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("IMAGE_SEARCH")
    else:
        app.config.from_mapping(test_config)
    if not app.config.get("DATA_DIR"):
        app.config["DATA_DIR"] = Path(app.instance_path) / "data"
    settings = load_settings(app.config)
    settings = replace(settings, data_dir=settings.data_dir.resolve())
    app.config["DATA_DIR"] = settings.data_dir
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes  # Flask's own limit on request bodies
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = persistent_secret(settings.data_dir)
    app.extensions["settings"] = settings
    return settings


def settings_of(app: Flask) -> Settings:
    return app.extensions["settings"]


def persistent_secret(data_dir: Path) -> str:
    """A random secret kept in the data dir, so CSRF tokens survive restarts without configuration."""
    path = data_dir / "secret_key"
    secret = path.read_text().strip() if path.exists() else ""
    if secret:
        return secret
    # Written whole and owner-only, and only created, never replaced: a kill leaves no empty key, and of
    # two processes starting together the first one's key wins for both.
    key = secrets.token_hex(32)

    def write(tmp: str) -> None:
        Path(tmp).write_text(key)

    try:
        if not atomic_write(path, write, mode=0o600, replace=False) and not path.read_text().strip():
            atomic_write(path, write, mode=0o600)  # an empty key left by a kill in an older version
    except OSError as exc:  # a read-only data dir: forms work until the next restart
        log.warning("cannot keep the secret key in %s (%s): a new one each start", data_dir, exc.strerror or exc)
        return key
    return path.read_text().strip()
