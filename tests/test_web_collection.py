import re


def test_duplicates_page_lists_groups_with_paths_sizes_and_dimensions(indexed, client, photo_dir):
    page = client.get("/duplicates").get_data(as_text=True)
    assert "1 group of images whose vectors have cosine ≥ 0.95" in page
    assert str(photo_dir / "white.bmp") in page and str(photo_dir / "transparent.png") in page
    assert "64 × 48 · BMP" in page and "9.1 KB" in page
    assert "No near-duplicates" in client.get("/duplicates?threshold=1").get_data(as_text=True)
    response = client.get("/duplicates?threshold=high")
    assert response.status_code == 400 and "threshold" in response.get_data(as_text=True)


def test_a_bad_threshold_shows_beside_its_input_on_the_same_page(indexed, client):
    response = client.get("/duplicates?threshold=high")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "<h1>Near-duplicates</h1>" in page  # the page itself, not an error page
    assert 'name="threshold"' in page and 'value="high" aria-invalid="true" aria-describedby="error-threshold"' in page
    assert re.search(r'<span class="error field-error" id="error-threshold">[^<]*threshold', page)
    assert "group of images" not in page  # no groups for a threshold it could not read
    korean = client.get("/duplicates?threshold=2", headers={"Accept-Language": "ko"})
    assert korean.status_code == 400 and 'id="error-threshold"' in korean.get_data(as_text=True)


def test_health_page(indexed, client, photo_dir):
    page = client.get("/health").get_data(as_text=True)
    assert f"<td>{photo_dir}</td><td>9</td><td>7</td>" in page
    assert "7 added, 0 updated, 0 unchanged, 0 pruned, 2 failed" in page
    assert str(photo_dir / "broken.jpg") in page and "Failures in the last run" in page
    assert "test-colour-v1" in page


def test_health_page_before_indexing(client):
    page = client.get("/health").get_data(as_text=True)
    assert "no indexing run recorded yet" in page and "Indexed images</dt><dd>0" in page


def test_duplicate_requests_never_run_the_bulk_pass(indexed, client, monkeypatch):
    import image_search.service.search_service as services

    def refuse(*_):
        raise AssertionError("a request ran the O(n) duplicates pass")

    monkeypatch.setattr(services, "find_pairs", refuse)
    for threshold in ("", "0.97", "0.5", "1"):
        assert client.get(f"/duplicates?threshold={threshold}").status_code == 200
        assert client.get(f"/api/duplicates?threshold={threshold}").status_code == 200


def test_duplicates_say_when_they_were_computed_and_when_the_collection_changed(indexed, client, runner, photo_dir):
    import shutil

    body = client.get("/api/duplicates").get_json()
    assert body["computed_at"] and body["computed_threshold"] == 0.95 and body["images"] == 7
    assert body["changed_since"] is False and body["notice"] is None and body["threshold"] == 0.95
    assert re.search(
        r"Computed \d+/\d+/\d+, \d+:\d+\s[AP]M over 7 images", client.get("/duplicates").get_data(as_text=True)
    )
    shutil.copy(photo_dir / "red.jpg", photo_dir / "red2.jpg")
    assert runner.invoke(args=["index", "--no-duplicates", str(photo_dir)]).exit_code == 0
    body = client.get("/api/duplicates").get_json()
    assert body["changed_since"] is True and "flask --app image_search duplicates" in body["notice"]
    assert len(body["groups"]) == 1  # still the stored ones, until recomputed
    page = client.get("/duplicates").get_data(as_text=True)
    assert "the collection has changed since" in page and "flask --app image_search duplicates" in page
    result = runner.invoke(args=["duplicates"])
    assert result.exit_code == 0 and "2 groups among 8 images" in result.output
    body = client.get("/api/duplicates").get_json()
    assert body["changed_since"] is False and len(body["groups"]) == 2 and body["images"] == 8


def test_duplicates_before_they_were_computed(client):
    body = client.get("/api/duplicates").get_json()
    assert body["groups"] == [] and body["computed_at"] is None and body["computed_threshold"] is None
    assert "not been computed yet: run `flask --app image_search duplicates`" in body["notice"]
    page = client.get("/duplicates").get_data(as_text=True)
    assert "not been computed yet" in page and "No near-duplicates" not in page


def test_a_threshold_below_the_computed_one_says_how_to_compute_it(indexed, client, runner):
    body = client.get("/api/duplicates?threshold=0.9").get_json()
    assert body["groups"] == [] and "flask --app image_search duplicates --threshold 0.9" in body["notice"]
    assert "--threshold 0.9" in client.get("/duplicates?threshold=0.9").get_data(as_text=True)
    assert runner.invoke(args=["duplicates", "--threshold", "0.9"]).exit_code == 0
    body = client.get("/api/duplicates?threshold=0.9").get_json()
    assert body["notice"] is None and body["computed_threshold"] == 0.9
    # A stricter run keeps the default served, and the looser stored pairs survive the next index run.
    assert runner.invoke(args=["duplicates", "--threshold", "0.99"]).exit_code == 0
    assert client.get("/api/duplicates").get_json()["notice"] is None


def test_a_damaged_duplicates_file_reads_as_not_computed(indexed, client, app):
    (app.extensions["image_search"].settings.data_dir / "duplicates.json").write_text('{"format": 1, "pairs": [')
    body = client.get("/api/duplicates").get_json()
    assert body["computed_at"] is None and "not been computed yet" in body["notice"]


def test_duplicates_that_cannot_be_saved_fail_the_command_in_one_line(indexed, runner, monkeypatch):
    import errno

    import image_search.service.stored_duplicates as stored

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(stored, "atomic_write", full)
    result = runner.invoke(args=["duplicates"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "could not be saved" in result.output and "No space left on device" in result.output
    assert "group 1: 2 images" in result.output  # still listed
