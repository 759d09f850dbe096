from tests.conftest import id_of


def test_thumbnail_is_made_once_and_cached(indexed, client, photo_dir):
    red_id = id_of(indexed, photo_dir / "red.jpg")
    response = client.get(f"/thumbnail/{red_id}")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    cached = list((indexed.config["DATA_DIR"] / "thumbnails").rglob(f"{red_id}-*.jpg"))
    assert len(cached) == 1
    mtime = cached[0].stat().st_mtime_ns
    client.get(f"/thumbnail/{red_id}")
    assert cached[0].stat().st_mtime_ns == mtime


def test_original_is_served_by_id(indexed, client, photo_dir):
    response = client.get(f"/original/{id_of(indexed, photo_dir / 'green.png')}")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data == (photo_dir / "green.png").read_bytes()


def test_paths_are_never_taken_from_the_request(indexed, client):
    for url in ["/original/../../etc/passwd", "/original/%2Fetc%2Fpasswd", "/thumbnail/..%2F..%2Fetc"]:
        assert client.get(url).status_code == 404


def test_missing_original_is_404(indexed, client, photo_dir):
    green_id = id_of(indexed, photo_dir / "green.png")
    (photo_dir / "green.png").unlink()
    assert client.get(f"/original/{green_id}").status_code == 404
    assert client.get(f"/thumbnail/{green_id}").status_code == 404
