"""The web app keeps answering searches while `flask index` runs, and sees new images without a restart.

The indexer runs as a second app over the same data directory (its own store connection and faiss
index, as a separate `flask index` process has), slowed down so the searches overlap it.
"""

import threading

from image_search import create_app
from tests.doubles.colour_embedder import ColourEmbedder, SlowColourEmbedder
from tests.photos import solid


def test_searches_answer_while_indexing(tmp_path):
    # The embedded store: a second process's writes become visible as soon as they commit.
    app = create_app({"TESTING": True, "DATA_DIR": tmp_path / "data", "EMBEDDER": ColourEmbedder()})
    client = app.test_client()
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(160):  # greys, then one red image last
        solid((i, i, i), size=(24, 16)).save(folder / f"grey{i:03}.png")
    solid((230, 20, 20), size=(24, 16)).save(folder / "zz_red.png")
    indexer = create_app(
        {"TESTING": True, "DATA_DIR": app.config["DATA_DIR"], "EMBEDDER": SlowColourEmbedder(delay=0.005)}
    )
    result = {}
    thread = threading.Thread(
        target=lambda: result.update(
            out=indexer.test_cli_runner().invoke(args=["index", "--batch-size", "8", str(folder)])
        )
    )
    thread.start()
    statuses, counts = [], []
    while thread.is_alive():
        api = client.get("/api/search", query_string={"q": "black", "k": 200})
        page = client.get("/", query_string={"q": "white"})
        statuses += [api.status_code, page.status_code]
        if api.status_code == 200:
            counts.append(len(api.get_json()["hits"]))
    thread.join()
    assert result["out"].exit_code == 0, result["out"].output
    assert statuses and set(statuses) == {200}
    assert any(0 < c < 161 for c in counts), counts  # saw a partly indexed folder
    hits = client.get("/api/search", query_string={"q": "red", "k": 1}).get_json()["hits"]
    assert hits[0]["path"].endswith("zz_red.png")  # the last image, visible without a restart
