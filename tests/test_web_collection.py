def test_duplicates_page_lists_groups_with_paths_sizes_and_dimensions(indexed, client, photo_dir):
    page = client.get("/duplicates").get_data(as_text=True)
    assert "1 group of images whose vectors have cosine ≥ 0.95" in page
    assert str(photo_dir / "white.bmp") in page and str(photo_dir / "transparent.png") in page
    assert "64 × 48 · BMP" in page and "9.1 KB" in page
    assert "No near-duplicates" in client.get("/duplicates?threshold=1").get_data(as_text=True)
    response = client.get("/duplicates?threshold=high")
    assert response.status_code == 400 and "threshold" in response.get_data(as_text=True)


def test_health_page(indexed, client, photo_dir):
    page = client.get("/health").get_data(as_text=True)
    assert f"<td>{photo_dir}</td><td>9</td><td>7</td>" in page
    assert "7 added, 0 updated, 0 unchanged,\n    0 pruned, 2 failed" in page
    assert str(photo_dir / "broken.jpg") in page and "Failures in the last run" in page
    assert "test-colour-v1" in page


def test_health_page_before_indexing(client):
    page = client.get("/health").get_data(as_text=True)
    assert "no indexing run recorded yet" in page and "Indexed images</dt><dd>0" in page
