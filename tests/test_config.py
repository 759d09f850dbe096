from image_search import create_app


def test_defaults_and_data_dir_inside_instance(monkeypatch, tmp_path):
    monkeypatch.setattr("image_search.ROOT", tmp_path)
    app = create_app()
    assert app.config["MODEL"] == "auto" and app.config["STORE"] == "embedded"
    assert app.config["DATA_DIR"] == tmp_path / "instance" / "data"
    assert app.config["MAX_CONTENT_LENGTH"] == 20 * 1024 * 1024


def test_instance_config_then_environment_override(monkeypatch, tmp_path):
    monkeypatch.setattr("image_search.ROOT", tmp_path)
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.py").write_text("PAGE_SIZE = 12\nMODEL = 'offline'\n")
    monkeypatch.setenv("IMAGE_SEARCH_MODEL", "clip")
    monkeypatch.setenv("IMAGE_SEARCH_MAX_UPLOAD_MB", "5")
    monkeypatch.setenv("IMAGE_SEARCH_DATA_DIR", str(tmp_path / "elsewhere"))
    app = create_app()
    assert app.config["PAGE_SIZE"] == 12 and app.config["MODEL"] == "clip"
    assert app.config["MAX_CONTENT_LENGTH"] == 5 * 1024 * 1024
    assert app.config["DATA_DIR"] == tmp_path / "elsewhere" and (tmp_path / "elsewhere").is_dir()


def test_secret_key_persists_in_the_data_dir(tmp_path):
    first = create_app({"DATA_DIR": tmp_path}).config["SECRET_KEY"]
    assert len(first) == 64 and create_app({"DATA_DIR": tmp_path}).config["SECRET_KEY"] == first
