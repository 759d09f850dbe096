"""End to end in headless Chromium: search, more like this, keyboard, upload, drop, back button.

Needs Debian's chromium and chromium-driver (CI installs them in .ci/run) and selenium; skips
with the reason otherwise. Set SCREENSHOT_DIR to keep screenshots of the pages it visits.
"""

from __future__ import annotations

import base64
import os
import shutil
import threading

import pytest

from image_search import create_app
from tests.photos import image_bytes, solid

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install '.[test]')")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMEDRIVER = "/usr/bin/chromedriver"
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    not (BROWSER and os.path.exists(CHROMEDRIVER)),
    reason="headless browser test needs Debian's chromium and chromium-driver: "
    "apt-get install -y chromium chromium-driver",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from werkzeug.serving import make_server

    from tests.doubles.colour_embedder import ColourEmbedder
    from tests.photos import write_photo_folder

    tmp = tmp_path_factory.mktemp("browser")
    write_photo_folder(tmp / "photos")
    app = create_app({"TESTING": True, "DATA_DIR": tmp / "data", "EMBEDDER": ColourEmbedder(), "PAGE_SIZE": 24})
    assert app.test_cli_runner().invoke(args=["index", str(tmp / "photos")]).exit_code == 0
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", tmp
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--window-size=1200,900",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def wait_for(driver, condition, timeout=10):
    return WebDriverWait(driver, timeout).until(lambda d: condition(d))


def loaded_thumbnails(driver) -> list:
    tiles = driver.find_elements(By.CSS_SELECTOR, ".grid img")
    wait_for(
        driver,
        lambda d: all(
            d.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", t) for t in tiles
        ),
    )
    return tiles


def snap(driver, name):
    if os.environ.get("SCREENSHOT_DIR"):
        driver.save_screenshot(os.path.join(os.environ["SCREENSHOT_DIR"], f"{name}.png"))


def test_search_more_like_this_keyboard_and_back(server, browser):
    base, _ = server
    browser.get(base + "/")
    box = browser.find_element(By.NAME, "q")
    box.send_keys("3:red + yellow -blue", Keys.ENTER)
    wait_for(browser, lambda d: "/search?" in d.current_url)
    assert len(loaded_thumbnails(browser)) >= 1
    assert browser.find_element(By.CSS_SELECTOR, ".tile .name").text == "red.jpg"
    assert browser.find_element(By.NAME, "q").get_attribute("value") == "3:red + yellow -blue"
    snap(browser, "results")
    results_url = browser.current_url

    browser.find_element(By.LINK_TEXT, "more like this").click()
    wait_for(browser, lambda d: "/similar/" in d.current_url)
    assert browser.find_element(By.TAG_NAME, "h1").text == "More like red.jpg"
    assert loaded_thumbnails(browser)

    browser.back()
    wait_for(browser, lambda d: d.current_url == results_url)
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)  # focuses the first tile
    first = browser.switch_to.active_element
    assert first.get_attribute("class") == "thumb"
    first.send_keys(Keys.ARROW_RIGHT)
    second = browser.switch_to.active_element
    assert second.get_attribute("href") != first.get_attribute("href")
    second.send_keys(Keys.ENTER)
    wait_for(browser, lambda d: "/image/" in d.current_url)


def test_upload_and_drop_an_image(server, browser):
    base, tmp = server
    query = tmp / "query.png"
    query.write_bytes(image_bytes(solid((10, 20, 240))))
    browser.get(base + "/search/image")
    browser.find_element(By.NAME, "image").send_keys(str(query))
    browser.find_element(By.CSS_SELECTOR, "#upload-form button").click()
    wait_for(browser, lambda d: "/search/image/" in d.current_url)
    assert loaded_thumbnails(browser) and browser.find_element(By.CSS_SELECTOR, ".tile .name").text == "blue.webp"

    browser.get(base + "/")  # dropping a picture anywhere searches with it
    green = base64.b64encode(image_bytes(solid((20, 200, 30)))).decode()
    browser.execute_script(
        """
        const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], "dropped.png", {type: "image/png"}));
        document.body.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
    """,
        green,
    )
    wait_for(browser, lambda d: "/search/image/" in d.current_url)
    assert browser.find_element(By.CSS_SELECTOR, ".tile .name").text == "green.png"
