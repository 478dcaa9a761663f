"""The web page in a real browser: Debian's Chromium driven by Playwright, against a real server.

`.ci/run` installs Debian's `chromium` when it is missing and sets ``OCRFN_REQUIRE_BROWSER=1``, so in CI a
missing browser fails the suite; elsewhere these tests are skipped with the reason. Screenshots go to
``artifacts/`` (ignored by git; CI keeps them as artifacts).
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest
from conftest import DATA, ROOT
from server import running

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("OCRFN_ARTIFACTS", ROOT / "artifacts"))

if CHROMIUM is None:
    if os.environ.get("OCRFN_REQUIRE_BROWSER") == "1":
        raise RuntimeError(
            "Debian's chromium is required here (OCRFN_REQUIRE_BROWSER=1) but is not installed"
        )
    pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

IMAGES = DATA / "images"


def squash(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running(tmp_path_factory.mktemp("webui")) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page = context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith((server.url, "blob:", "data:")) else outside.append(r.url),
    )
    yield page
    context.close()
    assert outside == []  # fully offline: no CDN, fonts or scripts from elsewhere


def upload(page: Page, path: Path) -> None:
    page.set_input_files("#file", str(path))


def test_upload_shows_lines_boxes_and_timing(page, server, expected):
    page.goto(server.url + "/webui")
    upload(page, IMAGES / "receipt.png")
    want = [squash(t) for t in expected["receipt.png"]["lines"]]
    expect(page.locator("#lines li")).to_have_count(len(want), timeout=30_000)
    got = [squash(t) for t in page.locator("#lines li .text").all_inner_texts()]
    assert got == want
    assert page.locator("#boxes polygon").count() == len(want)
    expect(page.locator("#timing")).to_contain_text("ms on the server")
    confidences = page.locator("#lines li .conf").all_inner_texts()
    assert all(c.endswith("%") and 50 <= float(c[:-1]) <= 100 for c in confidences)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "webui-receipt.png"), full_page=True)
    assert (ARTIFACTS / "webui-receipt.png").stat().st_size > 10_000


def test_hover_links_lines_and_boxes(page, server):
    page.goto(server.url + "/webui")
    upload(page, IMAGES / "receipt.png")
    expect(page.locator("#lines li")).not_to_have_count(0, timeout=30_000)
    page.locator("#lines li").nth(2).hover()
    expect(page.locator("#boxes polygon").nth(2)).to_have_class("hi")
    assert page.locator("#boxes polygon.hi").count() == 1
    page.locator("#boxes polygon").nth(0).hover(force=True)
    expect(page.locator("#lines li").nth(0)).to_have_class("hi")


def test_copy_all_text(page, server):
    page.goto(server.url + "/webui")
    upload(page, IMAGES / "receipt.png")
    expect(page.locator("#copy")).to_be_enabled(timeout=30_000)
    page.locator("#copy").click()
    expect(page.locator("#status")).to_contain_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.split("\n") == page.locator("#lines li .text").all_inner_texts()


def test_single_line_mode(page, server, expected):
    page.goto(server.url + "/webui")
    page.locator("#single").check()
    upload(page, IMAGES / "line_en.png")
    expect(page.locator("#lines li")).to_have_count(1, timeout=30_000)
    assert page.locator("#lines li .text").inner_text() == expected["line_en.png"]["lines"][0]
    assert page.locator("#boxes polygon").count() == 1


def test_not_an_image_shows_a_clear_error(page, server, tmp_path):
    page.goto(server.url + "/webui")
    bogus = tmp_path / "notes.png"
    bogus.write_text("these are notes, not pixels", encoding="utf-8")
    upload(page, bogus)
    status = page.locator("#status")
    expect(status).to_have_class("error", timeout=30_000)
    expect(status).to_contain_text("not an image")
    assert page.locator("#lines li").count() == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "webui-error.png"))


def test_browser_at_root_gets_the_page_and_keyboard_reaches_the_controls(page, server):
    page.goto(server.url + "/")
    expect(page).to_have_title("ocrfn: OCR an image")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "choose"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") in ("file", "single")


def test_phone_width_has_no_horizontal_scroll_and_no_layout_jump(browser, server):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(server.url + "/webui")
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
        header_before = page.locator("#drop").bounding_box()
        upload(page, IMAGES / "receipt.png")
        page.wait_for_function("document.querySelectorAll('#lines li').length > 0", timeout=30_000)
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
        # The controls above the image stay where they were while the result arrives.
        assert page.locator("#drop").bounding_box() == header_before
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "webui-phone.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("how", ["drop", "paste"])
def test_drop_and_paste_an_image(page, server, expected, how):
    page.goto(server.url + "/webui")
    data = base64.b64encode((IMAGES / "receipt.png").read_bytes()).decode()
    page.evaluate(
        """([data, how]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "receipt.png", { type: "image/png" }));
            const event = how === "drop"
                ? new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true })
                : new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true });
            (how === "drop" ? document.getElementById("drop") : document).dispatchEvent(event);
        }""",
        [data, how],
    )
    want = [squash(t) for t in expected["receipt.png"]["lines"]]
    expect(page.locator("#lines li")).to_have_count(len(want), timeout=30_000)
    assert [squash(t) for t in page.locator("#lines li .text").all_inner_texts()] == want
