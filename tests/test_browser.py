"""End to end in headless Chromium: search, more like this, keyboard, upload, drop, back button.

Needs Debian's chromium and chromium-driver (CI installs them in .ci/run, with fonts-nanum for Hangul) and
selenium; skips with the reason otherwise. Set SCREENSHOT_DIR to keep screenshots of the pages it visits; the
main pages in Korean and English are always saved, under test-artifacts/browser/ (gitignored).
"""

from __future__ import annotations

import base64
import os
import shutil
import threading
import time
import zipfile
from pathlib import Path

import pytest

from image_search import create_app
from tests.photos import image_bytes, solid

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install '.[test]')")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "browser"
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    not (BROWSER and os.path.exists(CHROMEDRIVER)),
    reason="headless browser test needs Debian's chromium and chromium-driver: "
    "apt-get install -y chromium chromium-driver",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from werkzeug.serving import make_server

    from tests.doubles.colour_embedder import SeeingColourEmbedder
    from tests.photos import write_photo_folder

    tmp = tmp_path_factory.mktemp("browser")
    write_photo_folder(tmp / "photos")
    # Unsure of words that name no colour: "nested" finds images by their folder's name, marked as such; and it
    # names the colours it saw as the offline model names its classes ("why it matched").
    app = create_app({"TESTING": True, "DATA_DIR": tmp / "data", "EMBEDDER": SeeingColourEmbedder(), "PAGE_SIZE": 24})
    assert app.test_cli_runner().invoke(args=["index", str(tmp / "photos")]).exit_code == 0
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", tmp
    httpd.shutdown()


def start_browser(accept_language: str):
    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    options.add_argument(f"--lang={accept_language.split(',')[0]}")
    options.add_experimental_option("prefs", {"intl.accept_languages": accept_language})
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
    return driver


@pytest.fixture(scope="module")
def browser():
    driver = start_browser("en-US,en")
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def korean_browser():
    """A browser whose user prefers Korean: Accept-Language ko-KR, ko."""
    driver = start_browser("ko-KR,ko")
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

    browser.find_element(By.CSS_SELECTOR, ".tile a.more").click()
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


def drop_file(driver, data: bytes, name: str, mime: str) -> None:
    """Drop a file on the page as a user dragging it from their file manager would (static/drop.js)."""
    driver.execute_script(
        """
        const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], arguments[1], {type: arguments[2]}));
        document.body.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
    """,
        base64.b64encode(data).decode(),
        name,
        mime,
    )


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
    drop_file(browser, image_bytes(solid((20, 200, 30))), "dropped.png", "image/png")
    wait_for(browser, lambda d: "/search/image/" in d.current_url)
    assert browser.find_element(By.CSS_SELECTOR, ".tile .name").text == "green.png"


def test_a_heic_from_a_phone_is_uploaded_and_dropped(server, browser):
    base, tmp = server
    phone = tmp / "IMG_0042.HEIC"
    solid((10, 20, 240), size=(96, 64)).save(phone, "HEIF")  # pillow-heif, registered by image_search
    browser.get(base + "/search/image")
    picker = browser.find_element(By.NAME, "image")
    assert ".heic" in picker.get_attribute("accept")  # a file chooser that offers phone pictures
    picker.send_keys(str(phone))
    browser.find_element(By.CSS_SELECTOR, "#upload-form button").click()
    wait_for(browser, lambda d: "/search/image/" in d.current_url)
    assert loaded_thumbnails(browser) and browser.find_element(By.CSS_SELECTOR, ".tile .name").text == "blue.webp"
    save_artifact(browser, "heic-upload-results")

    browser.get(base + "/")  # dropped with no type, as browsers that don't know HEIC give it
    drop_file(browser, phone.read_bytes(), "IMG_0043.HEIC", "")
    wait_for(browser, lambda d: "/search/image/" in d.current_url)
    assert browser.find_element(By.CSS_SELECTOR, ".tile .name").text == "blue.webp"


# --- the interface in Korean and English ---------------------------------------------------------------
def main_pages(driver, base: str) -> list[tuple[str, str]]:
    """(name, url) of the main pages, the ids read from a results page."""
    driver.get(base + "/search?q=red")
    detail = driver.find_element(By.CSS_SELECTOR, ".tile a.thumb").get_attribute("href")
    similar = driver.find_element(By.CSS_SELECTOR, ".tile a.more").get_attribute("href")
    return [
        ("home", base + "/"),
        ("results", base + "/search?q=red"),
        ("upload", base + "/search/image"),
        ("similar", similar),
        ("detail", detail),
        ("duplicates", base + "/duplicates"),
        ("health", base + "/health"),
        ("error", base + "/image/no-such-id"),
        ("filter-error", base + "/search?q=red&from=2023-02-30&type=png"),  # the message beside the field
        ("query-error", base + "/search?q=" + "x" * 400),
    ]


def save_artifact(driver, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def page_language(driver) -> str:
    return driver.execute_script("return document.documentElement.lang")


def show_drop_overlay(driver) -> str:
    """What the drop overlay says while a file is dragged over the page (static/drop.js)."""
    driver.execute_script(
        """
        const transfer = new DataTransfer();
        transfer.items.add(new File(["x"], "note.txt", {type: "text/plain"}));
        const over = new DragEvent("dragover", {dataTransfer: transfer, bubbles: true, cancelable: true});
        document.body.dispatchEvent(over);
    """
    )
    overlay = driver.find_element(By.CSS_SELECTOR, ".drop-overlay")
    wait_for(driver, lambda d: overlay.is_displayed())
    return overlay.text


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_main_pages_in_korean_and_english(server, browser, korean_browser, lang):
    base, _ = server
    driver = korean_browser if lang == "ko" else browser
    for name, url in main_pages(driver, base):
        driver.get(url)
        assert page_language(driver) == lang, url
        # The page's own words: the switch names Korean, and example queries marked with their language are theirs.
        text = driver.execute_script(
            "const body = document.body.cloneNode(true);"
            "body.querySelectorAll('[lang]').forEach(e => e.remove());"
            "return body.innerText;"
        ).replace("한국어", "")
        has_hangul = any("\uac00" <= char <= "\ud7a3" for char in text)
        assert has_hangul == (lang == "ko"), (url, text)
        save_artifact(driver, f"{lang}-{name}")
    driver.get(base + "/search/image")
    expected = {"ko": "사진을 놓으면 그 사진으로 검색합니다", "en": "Drop the picture to search with it"}[lang]
    assert show_drop_overlay(driver) == expected
    save_artifact(driver, f"{lang}-drop-overlay")


def test_the_language_switch_sticks(server, browser):
    base, _ = server
    try:
        browser.get(base + "/health")
        assert page_language(browser) == "en"
        browser.find_element(By.LINK_TEXT, "한국어").click()
        wait_for(browser, lambda d: page_language(d) == "ko")
        assert browser.find_element(By.TAG_NAME, "h1").text == "모음 상태"
        browser.get(base + "/duplicates")  # no ?lang: the cookie keeps Korean over the browser's English
        assert page_language(browser) == "ko" and browser.find_element(By.TAG_NAME, "h1").text == "거의 같은 이미지"
        browser.find_element(By.LINK_TEXT, "English").click()
        wait_for(browser, lambda d: page_language(d) == "en")
        browser.get(base + "/")
        assert page_language(browser) == "en"
    finally:
        browser.delete_all_cookies()  # the other tests read English


# --- the viewer, the phone layout, dark mode, accessibility (#15 items 1, 2, 3, 13) ------------------------
def test_viewer_previous_next_and_back_to_the_same_place(server, browser):
    base, _ = server
    results_url = base + "/search?q=red&all=1"
    browser.get(results_url)
    loaded_thumbnails(browser)
    tiles = browser.find_elements(By.CSS_SELECTOR, ".grid a.thumb")
    assert len(tiles) >= 3
    tiles[0].click()
    wait_for(browser, lambda d: "/image/" in d.current_url and "pos=1" in d.current_url)
    assert browser.find_element(By.TAG_NAME, "h1").text == "red.jpg"
    snap(browser, "viewer")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ARROW_RIGHT)
    wait_for(browser, lambda d: "pos=2" in d.current_url)
    browser.find_element(By.CSS_SELECTOR, "a.button[rel=next]").click()
    wait_for(browser, lambda d: "pos=3" in d.current_url)
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)
    wait_for(browser, lambda d: "pos=2" in d.current_url)
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)  # previous/next replaced history entries
    wait_for(browser, lambda d: d.current_url == results_url)

    loaded_thumbnails(browser)
    browser.find_elements(By.CSS_SELECTOR, ".grid a.thumb")[1].click()
    wait_for(browser, lambda d: "pos=2" in d.current_url)
    browser.back()  # the browser's own Back does the same
    wait_for(browser, lambda d: d.current_url == results_url)

    viewer_url = browser.find_elements(By.CSS_SELECTOR, ".grid a.thumb")[1].get_attribute("href")
    browser.get(base + "/")
    browser.get(viewer_url)  # opened from a bookmark: Escape leads to the results page it came from
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    wait_for(browser, lambda d: d.current_url == results_url + "#hit-2")


def emulate_phone(driver, width: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": width, "height": 844, "deviceScaleFactor": 3, "mobile": True}
    )


def overflow(driver) -> int:
    """How far the page is wider than the screen, in CSS px (0: no horizontal scrolling)."""
    return driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_phone_layout_two_columns_sharp_tiles_and_no_overflow(server, browser):
    base, _ = server
    try:
        emulate_phone(browser, 390)
        browser.get(base + "/search?q=red&all=1")
        tiles = loaded_thumbnails(browser)
        top = tiles[0].rect["y"]
        assert sum(1 for t in tiles if abs(t.rect["y"] - top) < 2) >= 2
        assert "size=512" in browser.execute_script("return arguments[0].currentSrc", tiles[0])  # a 3x screen
        snap(browser, "phone-390-results")
        save_artifact(browser, "phone-390-results")
        browser.get(base + "/search?q=red&all=1&crop=square")
        tiles = loaded_thumbnails(browser)
        assert abs(tiles[0].rect["width"] - tiles[0].rect["height"]) < 2
        emulate_phone(browser, 360)
        for name, url in main_pages(browser, base):
            browser.get(url)
            assert overflow(browser) <= 0, (name, overflow(browser))
            save_artifact(browser, f"phone-360-{name}")
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


CONTRAST = """
const rgb = (css) => css.match(/[\\d.]+/g).slice(0, 3).map(Number);
const linear = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
const lum = (c) => { const [r, g, b] = c.map(linear); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
const ratio = (a, b) => {
  const [x, y] = [lum(rgb(a)), lum(rgb(b))].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
};
const box = document.querySelector(".searchbox input");
const header = getComputedStyle(document.querySelector("header")).backgroundColor;
return {border: ratio(getComputedStyle(box).borderTopColor, header),
        background: getComputedStyle(document.body).backgroundColor,
        text: ratio(getComputedStyle(document.body).color, getComputedStyle(document.body).backgroundColor)};
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_colour_schemes_with_visible_control_borders(server, browser, scheme):
    base, _ = server
    try:
        browser.execute_cdp_cmd(
            "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]}
        )
        browser.get(base + "/search?q=red")
        loaded_thumbnails(browser)
        facts = browser.execute_script(CONTRAST)
        assert facts["border"] >= 3 and facts["text"] >= 4.5, facts
        channels = [int(v) for v in facts["background"][facts["background"].index("(") + 1 : -1].split(",")[:3]]
        assert (max(channels) < 60) == (scheme == "dark"), facts
        save_artifact(browser, f"{scheme}-results")
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def test_help_closes_with_escape_or_outside_click_and_covers_nothing(server, browser):
    base, _ = server
    browser.get(base + "/search?q=red")
    help_box = browser.find_element(By.CSS_SELECTOR, "details.help")
    meta = browser.find_element(By.ID, "result-meta")
    top_before = meta.rect["y"]
    help_box.find_element(By.TAG_NAME, "summary").click()
    body = help_box.find_element(By.CLASS_NAME, "help-body")
    wait_for(browser, lambda d: body.is_displayed())
    assert body.rect["y"] + body.rect["height"] <= meta.rect["y"] and meta.rect["y"] > top_before  # pushed down
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait_for(browser, lambda d: help_box.get_attribute("open") is None)
    help_box.find_element(By.TAG_NAME, "summary").click()
    wait_for(browser, lambda d: help_box.get_attribute("open") is not None)
    browser.find_element(By.TAG_NAME, "h1").click()
    wait_for(browser, lambda d: help_box.get_attribute("open") is None)
    summary = help_box.find_element(By.TAG_NAME, "summary").rect
    more = browser.find_element(By.CSS_SELECTOR, ".tile a.more").rect
    assert min(summary["height"], summary["width"], more["height"]) >= 44


def test_dropping_a_file_that_is_not_a_picture_leaves_no_overlay(server, browser):
    base, _ = server
    browser.get(base + "/")
    browser.execute_script(
        """
        const transfer = new DataTransfer();
        transfer.items.add(new File(["x"], "note.txt", {type: "text/plain"}));
        for (const type of ["dragover", "drop"])
          document.body.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
    """
    )
    overlay = browser.find_element(By.CSS_SELECTOR, ".drop-overlay")
    assert overlay.is_displayed() and overlay.text == "That is not a picture: drop an image file."
    wait_for(browser, lambda d: not overlay.is_displayed(), timeout=8)


def test_the_skip_link_moves_focus_to_the_content(server, browser):
    base, _ = server
    browser.get(base + "/search?q=red")
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    skip = browser.switch_to.active_element
    assert skip.get_attribute("class") == "skip-link" and skip.is_displayed()
    skip.send_keys(Keys.ENTER)
    wait_for(browser, lambda d: d.switch_to.active_element.get_attribute("id") == "content")


def swipe(driver, element, dx: int) -> None:
    """A one-finger horizontal swipe of dx CSS px across the middle of `element`, as real touch input (CDP),
    once the page's scripts listen (a viewer just stepped to may still be loading)."""
    wait_for(driver, lambda d: d.execute_script("return document.readyState") == "complete")
    box = element.rect
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for kind, at in (("touchStart", x), ("touchMove", x + dx / 2), ("touchMove", x + dx), ("touchEnd", None)):
        points = [] if at is None else [{"x": at, "y": y}]
        driver.execute_cdp_cmd("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})


def test_viewer_swipes_to_next_and_previous(server, browser):
    base, _ = server
    browser.get(base + "/search?q=red&all=1")
    loaded_thumbnails(browser)
    browser.find_elements(By.CSS_SELECTOR, ".grid a.thumb")[0].click()
    wait_for(browser, lambda d: "pos=1" in d.current_url)
    try:
        browser.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 1})
        swipe(browser, browser.find_element(By.CSS_SELECTOR, ".viewer figure"), -200)  # right to left: next
        wait_for(browser, lambda d: "pos=2" in d.current_url)
        swipe(browser, browser.find_element(By.CSS_SELECTOR, ".viewer figure"), 200)  # left to right: previous
        wait_for(browser, lambda d: "pos=1" in d.current_url)
        swipe(browser, browser.find_element(By.CSS_SELECTOR, ".viewer figure"), 30)  # too short: stays
        time.sleep(0.5)
        assert "pos=1" in browser.current_url
        save_artifact(browser, "viewer-after-swipes")
    finally:
        browser.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": False})


def test_the_name_match_badge_is_themed_for_dark_mode(server, browser):
    base, _ = server
    badge_contrast = CONTRAST.replace('document.querySelector(".searchbox input")', 'document.querySelector(".badge")')
    badge_contrast = badge_contrast.replace(
        "return {", "const style = getComputedStyle(box); return {badge: ratio(style.color, style.backgroundColor), "
    )
    try:
        browser.execute_cdp_cmd(
            "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
        )
        browser.get(base + "/search?q=nested")
        assert browser.find_element(By.CSS_SELECTOR, ".badge").text == "name match"
        facts = browser.execute_script(badge_contrast)
        background = browser.execute_script("return getComputedStyle(document.querySelector('.badge')).backgroundColor")
        assert facts["badge"] >= 4.5 and max(int(v) for v in background[4:-1].split(",")[:3]) < 120, (facts, background)
        save_artifact(browser, "dark-name-match")
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


# --- selection to zip (#15 item 10) ---------------------------------------------------------------------
def downloaded_zip(folder: Path, timeout: float = 15) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.glob("*.zip") if not p.name.endswith(".crdownload")]
        if done and not list(folder.glob("*.crdownload")):
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no zip downloaded into {folder}: {list(folder.iterdir())}")


def test_select_with_click_and_shift_click_then_download_the_zip(server, browser):
    base, tmp = server
    downloads = tmp / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    browser.get(base + "/search?q=red&all=1")
    loaded_thumbnails(browser)
    boxes = browser.find_elements(By.CSS_SELECTOR, ".tile .pick input")
    names = [t.text for t in browser.find_elements(By.CSS_SELECTOR, ".tile .name")]
    count = browser.find_element(By.CSS_SELECTOR, ".selection-count")
    shown = [b.text for b in browser.find_elements(By.CSS_SELECTOR, ".selection-bar button") if b.is_displayed()]
    assert shown == ["Download the selected (zip)", "Copy their paths", "Select this page"]  # the script's own
    boxes[0].click()
    assert count.text == "1 image selected"
    ActionChains(browser).key_down(Keys.SHIFT).click(boxes[2]).key_up(Keys.SHIFT).perform()  # a range
    assert [b.is_selected() for b in boxes[:4]] == [True, True, True, False] and count.text == "3 images selected"
    save_artifact(browser, "selection")

    browser.find_element(By.CSS_SELECTOR, ".selection-bar button[value=zip]").click()
    archive = zipfile.ZipFile(downloaded_zip(downloads))
    assert [n.rsplit("/", 1)[-1] for n in archive.namelist()] == names[:3]
    photos = tmp / "photos"
    assert all(archive.read(n) == (photos / n).read_bytes() for n in archive.namelist())

    browser.get(base + "/search?q=red&all=1")  # kept for these results; space on a focused tile adds one
    boxes = browser.find_elements(By.CSS_SELECTOR, ".tile .pick input")
    assert [b.is_selected() for b in boxes[:4]] == [True, True, True, False]
    browser.find_elements(By.CSS_SELECTOR, ".grid a.thumb")[3].send_keys(Keys.SPACE)
    assert boxes[3].is_selected() and browser.find_element(By.CSS_SELECTOR, ".selection-count").text == (
        "4 images selected"
    )
    browser.find_element(By.CSS_SELECTOR, ".clear-selection").click()
    assert not any(b.is_selected() for b in boxes)
    browser.get(base + "/search?q=blue")  # other results: a selection of their own
    assert not any(b.is_selected() for b in browser.find_elements(By.CSS_SELECTOR, ".tile .pick input"))


# --- filters as pickers, errors beside their input (#15 items 5, 6) ------------------------------------------
def test_pickers_filter_without_empty_parameters_and_a_new_query_keeps_them(server, browser):
    from selenium.webdriver.support.ui import Select

    base, tmp = server
    browser.get(base + "/search?q=red&all=1")
    browser.find_element(By.CSS_SELECTOR, ".filters summary").click()
    folder = Select(browser.find_element(By.CSS_SELECTOR, ".filters select[name=folder]"))
    assert [o.text for o in folder.options] == ["All folders", f"{tmp / 'photos'} (7)"]
    folder.select_by_index(1)
    png = browser.find_element(By.CSS_SELECTOR, ".filters input[name=type][value=png]")
    assert png.find_element(By.XPATH, "..").text == "PNG (2)"
    png.click()
    Select(browser.find_element(By.CSS_SELECTOR, ".filters select[name=sort]")).select_by_value("date")
    save_artifact(browser, "pickers")
    browser.find_element(By.CSS_SELECTOR, ".filters button[type=submit]").click()
    wait_for(browser, lambda d: "type=png" in d.current_url)
    query = browser.current_url.split("?", 1)[1]
    assert sorted(query.split("&")) == sorted(
        ["q=red", f"folder={str(tmp / 'photos').replace('/', '%2F')}", "type=png", "sort=date", "all=1"]
    ), query  # no folder=&from=&to=... for the fields left empty
    assert sorted(t.text for t in browser.find_elements(By.CSS_SELECTOR, ".tile .name")) == [
        "green.png",
        "transparent.png",
    ]
    dates = browser.find_elements(By.CSS_SELECTOR, ".tile .date")  # sorted by date: each tile says when
    assert len(dates) == 2 and all(any(c.isdigit() for c in d.text) for d in dates)
    save_artifact(browser, "pickers-applied")

    box = browser.find_element(By.CSS_SELECTOR, ".searchbox input[name=q]")
    box.clear()
    box.send_keys("green", Keys.ENTER)  # a new query from the header keeps the filters and sort
    wait_for(browser, lambda d: "q=green" in d.current_url)
    query = browser.current_url.split("?", 1)[1]
    assert "type=png" in query and "sort=date" in query and "folder=" in query and "all=" not in query
    assert browser.find_element(By.CSS_SELECTOR, ".filters input[name=type][value=png]").is_selected()


def beside(driver, field) -> object:
    """The message an input names with aria-describedby, checked to be shown right below or beside it."""
    assert field.get_attribute("aria-invalid") == "true"
    message = driver.find_element(By.ID, field.get_attribute("aria-describedby"))
    assert message.is_displayed()
    box, said = field.rect, message.rect
    assert said["y"] - (box["y"] + box["height"]) < 40 and said["y"] > box["y"] - 40  # next to it, not elsewhere
    assert said["x"] < box["x"] + box["width"] and box["x"] < said["x"] + said["width"]
    return message


def test_a_bad_date_filter_shows_beside_its_input_and_keeps_everything(server, browser):
    base, _ = server
    browser.get(base + "/search?q=red+car&from=2023-02-30&type=png")
    field = browser.find_element(By.CSS_SELECTOR, ".filters input[name=from]")
    assert "YYYY-MM-DD" in beside(browser, field).text and field.get_attribute("value") == "2023-02-30"
    assert browser.switch_to.active_element == field  # focused, so a screen reader reads the message with it
    assert browser.find_element(By.CSS_SELECTOR, ".searchbox input[name=q]").get_attribute("value") == "red car"
    assert browser.find_element(By.CSS_SELECTOR, ".filters input[name=type][value=png]").is_selected()
    assert not browser.find_elements(By.LINK_TEXT, "Back to the search")
    save_artifact(browser, "inline-error-date")


def test_an_over_long_or_bad_query_stays_in_the_box_beside_its_message(server, browser):
    base, _ = server
    browser.get(base + "/search?q=" + "x" * 400)
    box = browser.find_element(By.CSS_SELECTOR, ".searchbox input[name=q]")
    assert box.get_attribute("value") == "x" * 400 and box.get_attribute("maxlength") == "300"
    assert "too long" in beside(browser, box).text
    save_artifact(browser, "inline-error-long-query")
    box.clear()
    box.send_keys("y" * 310)
    assert len(box.get_attribute("value")) == 300  # maxlength: the box takes no more than the app does

    box.clear()
    box.send_keys("red +", Keys.ENTER)
    wait_for(browser, lambda d: "q=red+%2B" in d.current_url)
    box = browser.find_element(By.CSS_SELECTOR, ".searchbox input[name=q]")
    assert box.get_attribute("value") == "red +"
    assert "Part 2 of the query is empty" in beside(browser, box).text
    save_artifact(browser, "inline-error-query")


def test_a_bad_upload_shows_beside_the_file_input_and_keeps_the_words(server, browser):
    base, tmp = server
    not_a_picture = tmp / "notes.png"
    not_a_picture.write_bytes(b"not a picture at all")
    browser.get(base + "/search/image")
    browser.find_element(By.NAME, "image").send_keys(str(not_a_picture))
    browser.find_element(By.CSS_SELECTOR, "#upload-form input[name=q]").send_keys("at night")
    browser.find_element(By.CSS_SELECTOR, "#upload-form button").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "error-image"))
    assert "not a usable image" in beside(browser, browser.find_element(By.NAME, "image")).text
    assert browser.find_element(By.CSS_SELECTOR, "#upload-form input[name=q]").get_attribute("value") == "at night"
    save_artifact(browser, "inline-error-upload")


# --- why it matched (#15 item 9) ------------------------------------------------------------------------
def opacity(driver, element) -> float:
    return float(driver.execute_script("return getComputedStyle(arguments[0]).opacity", element))


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_what_the_model_saw_shows_on_hover_and_in_the_viewer(server, browser, korean_browser, lang):
    base, _ = server
    driver = korean_browser if lang == "ko" else browser
    said = {"en": ("Seen: red ", "The model saw: red "), "ko": ("본 것: 빨강 ", "모델이 본 것: 빨강 ")}[lang]
    driver.get(base + "/search?q=red")
    loaded_thumbnails(driver)
    ActionChains(driver).move_to_element(driver.find_element(By.CSS_SELECTOR, "h1")).perform()
    seen = driver.find_element(By.CSS_SELECTOR, ".tile .concepts")
    assert opacity(driver, seen) == 0  # only on hover or focus
    ActionChains(driver).move_to_element(driver.find_element(By.CSS_SELECTOR, ".tile a.thumb")).perform()
    wait_for(driver, lambda d: opacity(d, seen) == 1)
    assert seen.get_attribute("textContent").startswith(said[0]), seen.get_attribute("textContent")
    save_artifact(driver, f"{lang}-hover-concepts")
    driver.find_element(By.CSS_SELECTOR, ".tile a.thumb").click()
    wait_for(driver, lambda d: "/image/" in d.current_url)
    assert driver.find_element(By.CSS_SELECTOR, ".concepts-seen").text.startswith(said[1])
    save_artifact(driver, f"{lang}-viewer-concepts")
