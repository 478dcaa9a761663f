"""The web page in a real browser: Debian's Chromium driven by Playwright, against a real server.

`.ci/run` installs Debian's `chromium` when it is missing and sets ``OCRFN_REQUIRE_BROWSER=1``, so in CI a
missing browser fails the suite; elsewhere these tests are skipped with the reason. Screenshots go to
``artifacts/`` (ignored by git; CI keeps them as artifacts).
"""

from __future__ import annotations

import base64
import os
import re
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
from test_document import image_pdf, receipt, text_pdf, tiff, turned  # noqa: E402

IMAGES = DATA / "images"
MAX_PAGES = 3  # the test server's page cap (OCRFN_MAX_PAGES), small so a short PDF goes over it
ACCEPT = "image/*,application/pdf,.pdf,.tif,.tiff"


def squash(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running(tmp_path_factory.mktemp("webui"), {"OCRFN_MAX_PAGES": str(MAX_PAGES)}) as srv:
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
    # The server's own message, once: not a page wording of the fault followed by the server's.
    expect(status).to_have_text(
        "The data is not an image in a supported format (PNG, JPEG, WebP, BMP, TIFF, GIF or PDF)."
    )
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


def receipt_lines(expected) -> list[str]:
    return [squash(t) for t in expected["receipt.png"]["lines"]]


def page_texts(page: Page) -> list[list[str]]:
    """The listed lines, page by page, whitespace removed."""
    sections = page.locator("#lines section.page")
    return [
        [squash(t) for t in sections.nth(i).locator("li .text").all_inner_texts()]
        for i in range(sections.count())
    ]


def test_two_page_pdf_is_listed_by_page_and_copied_with_a_blank_line_between_pages(
    page, server, expected, tmp_path
):
    pdf = tmp_path / "two pages.pdf"
    pdf.write_bytes(image_pdf([receipt(), turned(receipt(), 90)]))
    page.goto(server.url + "/webui")
    assert page.locator("#file").get_attribute("accept") == ACCEPT
    upload(page, pdf)
    headings = page.locator("#lines h3")
    expect(headings).to_have_count(2, timeout=60_000)
    assert headings.all_inner_texts() == ["Page 1", "Page 2 · turned 90°"]
    want = receipt_lines(expected)
    assert want[0] == "美味小馆"
    assert page_texts(page) == [want, want]
    expect(page.locator("#count")).to_have_text(f"({2 * len(want)} lines · 2 pages)")
    timing = page.locator("#timing")
    expect(timing).to_contain_text("2 pages")
    expect(timing).to_contain_text("ms on the server")
    expect(timing).to_contain_text("model ")
    confidences = page.locator("#lines li .conf").all_inner_texts()
    assert len(confidences) == 2 * len(want) and all(c.endswith("%") for c in confidences)
    # No preview for a PDF: a note in its place, and no boxes.
    expect(page.locator("#note")).to_be_visible()
    expect(page.locator("#note")).to_contain_text("2 pages read")
    expect(page.locator("#note")).to_contain_text("not previewed")
    expect(page.locator("#canvas")).to_be_hidden()
    assert page.locator("#boxes polygon").count() == 0
    # Hovering a line still highlights it.
    page.locator("#lines li").nth(len(want) + 1).hover()
    expect(page.locator("#lines li").nth(len(want) + 1)).to_have_class("hi")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "webui-pdf.png"), full_page=True)

    page.locator("#copy").click()
    expect(page.locator("#status")).to_have_text(f"Copied {2 * len(want)} lines from 2 pages.")
    copied = page.evaluate("navigator.clipboard.readText()")
    first, second = copied.split("\n\n")
    assert [squash(t) for t in first.split("\n")] == want
    assert [squash(t) for t in second.split("\n")] == want

    # An image after a PDF is previewed again, without page headings.
    upload(page, IMAGES / "receipt.png")
    expect(page.locator("#boxes polygon")).to_have_count(len(want), timeout=30_000)
    expect(page.locator("#canvas")).to_be_visible()
    expect(page.locator("#note")).to_be_hidden()
    assert page.locator("#lines h3").count() == 0
    expect(page.locator("#count")).to_have_text(f"({len(want)})")


def test_text_layer_pdf_and_multi_page_tiff(page, server, expected, tmp_path):
    born_digital = tmp_path / "invoice.pdf"
    born_digital.write_bytes(text_pdf(["Invoice 2024-0815", "Total 1286.75"]))
    page.goto(server.url + "/webui")
    upload(page, born_digital)
    expect(page.locator("#lines h3")).to_have_text(["Page 1 · text layer"], timeout=30_000)
    assert page.locator("#lines li .text").all_inner_texts() == ["Invoice 2024-0815", "Total 1286.75"]
    expect(page.locator("#count")).to_have_text("(2 lines · 1 page)")
    expect(page.locator("#note")).to_contain_text("1 page read")

    scanned = tmp_path / "scan.tiff"
    scanned.write_bytes(tiff([receipt(), receipt()]))
    upload(page, scanned)
    expect(page.locator("#lines h3")).to_have_text(["Page 1", "Page 2"], timeout=60_000)
    assert page_texts(page) == [receipt_lines(expected)] * 2


def test_turned_photo_is_read_upright_and_boxes_stay_on_the_image(page, server, expected, tmp_path):
    photo = tmp_path / "turned.png"
    turned(receipt(), 90).save(photo, "PNG")
    width, height = 546, 520  # the receipt (520x546) turned a quarter
    page.goto(server.url + "/webui")
    page.get_by_label("Turned photo (find 90°/180°/270°)").check()
    with page.expect_request(lambda r: "/api/ocr" in r.url) as sent:
        upload(page, photo)
    assert "orient_page=true" in sent.value.url
    want = receipt_lines(expected)
    expect(page.locator("#lines li")).to_have_count(len(want), timeout=30_000)
    assert [squash(t) for t in page.locator("#lines li .text").all_inner_texts()] == want
    expect(page.locator("#timing")).to_contain_text("page turned 90°, read upright")
    expect(page.locator("#status")).to_contain_text("turned 90°")
    assert page.locator("#lines h3").count() == 0
    # The boxes are in the pixels of the image as sent: inside its viewBox and on the preview.
    svg = page.locator("#boxes")
    assert svg.get_attribute("viewBox") == f"0 0 {width} {height}"
    assert page.eval_on_selector("#preview", "(img) => [img.naturalWidth, img.naturalHeight]") == [
        width,
        height,
    ]
    polygons = page.locator("#boxes polygon")
    assert polygons.count() == len(want)
    for points in [polygons.nth(i).get_attribute("points") for i in range(polygons.count())]:
        xy = [float(v) for v in re.split(r"[ ,]", points)]
        assert len(xy) == 8
        assert all(0 <= x <= width for x in xy[0::2]) and all(0 <= y <= height for y in xy[1::2])
    image = page.locator("#preview").bounding_box()
    for i in range(polygons.count()):
        box = polygons.nth(i).bounding_box()
        assert image["x"] - 1 <= box["x"] and box["x"] + box["width"] <= image["x"] + image["width"] + 1
        assert image["y"] - 1 <= box["y"] and box["y"] + box["height"] <= image["y"] + image["height"] + 1
    # The title of a page turned 90° clockwise runs down its right edge, in a tall box.
    title = polygons.nth(0).bounding_box()
    assert title["x"] > image["x"] + image["width"] * 0.75 and title["height"] > title["width"]
    page.locator("#lines li").nth(0).hover()
    expect(polygons.nth(0)).to_have_class("hi")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "webui-turned.png"), full_page=True)


def test_images_are_sent_without_orient_page_unless_asked(page, server):
    page.goto(server.url + "/webui")
    with page.expect_request(lambda r: "/api/ocr" in r.url) as sent:
        upload(page, IMAGES / "line_en.png")
    assert "orient_page" not in sent.value.url
    expect(page.locator("#timing")).to_contain_text("ms on the server", timeout=30_000)
    expect(page.locator("#timing")).not_to_contain_text("turned")


def test_pdf_over_the_page_cap_shows_too_many_pages(page, server, tmp_path):
    small = receipt().resize((130, 137))
    pdf = tmp_path / "long.pdf"
    pdf.write_bytes(image_pdf([small] * (MAX_PAGES + 1)))
    page.goto(server.url + "/webui")
    upload(page, pdf)
    status = page.locator("#status")
    expect(status).to_have_class("error", timeout=30_000)
    expect(status).to_have_text(
        f"The document has {MAX_PAGES + 1} pages; the limit is {MAX_PAGES} pages. "
        "Split the document into smaller files."
    )
    assert page.locator("#lines li").count() == 0
    expect(page.locator("#copy")).to_be_disabled()
    expect(page.locator("#canvas")).to_be_hidden()
