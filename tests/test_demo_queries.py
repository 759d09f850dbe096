"""The reference design's own examples (issue #14 item 4) on the demo collection with the offline model.

"눈 덮인 산" (a mountain covered in snow) must find the snowy Picos de Europa photo first. "장미" (rose): the
demo collection holds no rose, and the offline model knows no rose (ImageNet-1k has no such class), so the
page must say that the model is unsure what the query shows instead of presenting guesses as answers.
Skipped when the demo photos are absent (`make demo-photos` fetches them with apt-get) or the offline
model's packages are missing.
"""

from pathlib import Path

import pytest

from image_search import create_app
from image_search.errors import ModelUnavailable
from tests.conftest import first_tile_name

DEMO = Path(__file__).resolve().parents[1] / "demo" / "photos"
SNOWY_MOUNTAIN = DEMO / "lomiri" / "picosdeeuropa_by_Aitzol_Berasategi.jpg"


@pytest.fixture(scope="module")
def demo_client(tmp_path_factory):
    if not SNOWY_MOUNTAIN.is_file():
        pytest.skip(f"the demo photos are absent ({SNOWY_MOUNTAIN} missing): run make demo-photos")
    from image_search.embedders.offline.embedder import OfflineEmbedder

    data = tmp_path_factory.mktemp("demo-data")
    try:
        embedder = OfflineEmbedder(data / "models", threads=2)
    except ModelUnavailable as exc:
        pytest.skip(str(exc))
    app = create_app({"TESTING": True, "DATA_DIR": data, "EMBEDDER": embedder, "STORE": "embedded"})
    result = app.test_cli_runner().invoke(args=["index", str(DEMO)])
    assert result.exit_code == 0, result.output
    return app.test_client()


def test_a_snowy_mountain_in_korean_finds_the_snowy_mountain_first(demo_client):
    page = demo_client.get("/search", query_string={"q": "눈 덮인 산"}).get_data(as_text=True)
    assert first_tile_name(page) == SNOWY_MOUNTAIN.name
    assert 'class="notice"' not in page


def test_rose_in_korean_says_the_model_is_unsure(demo_client):
    page = demo_client.get("/search", query_string={"q": "장미"}).get_data(as_text=True)
    assert 'class="notice"' in page
