"""Decoding bombs against a real server: every expensive step is inside the time budget and memory limit.

Nested PDF forms, text layers with very many characters, TIFFs with thousands of pages, progressive
JPEGs with thousands of scans, images that need more memory than the decoder may use. Each is answered
with a 4xx near its budget, memory comes back (the decoder process that choked is replaced), and the
server keeps serving.
"""

from __future__ import annotations

import io
import time
import xml.etree.ElementTree as ET

import pytest
import requests
from bombs import control_text_pdf, many_page_tiff, nested_forms_pdf, progressive_jpeg_bomb, text_layer_pdf
from conftest import image_bytes
from PIL import Image
from server import Server, running

IMAGE_BUDGET = 2.0
DOCUMENT_BUDGET = 3.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {
        "OCRFN_TIME_BUDGET": str(IMAGE_BUDGET),
        "OCRFN_DOCUMENT_TIME_BUDGET": str(DOCUMENT_BUDGET),
        "OCRFN_DECODER_MEMORY": str(512 * 1024 * 1024),
    }
    with running(tmp_path_factory.mktemp("bombs"), env) as srv:
        yield srv


def post(server: Server, data: bytes, content_type: str, query: str = "") -> requests.Response:
    return requests.post(
        server.url + "/api/ocr" + query, data=data, headers={"Content-Type": content_type}, timeout=120
    )


def assert_error(response: requests.Response, status: int, error: str) -> dict:
    assert response.status_code == status, response.text[:300]
    body = response.json()
    assert body["error"] == error and body["request_id"], body
    return body


def still_serving(server: Server) -> None:
    assert requests.get(server.url + "/ready", timeout=5).status_code == 200
    ok = post(server, image_bytes("line_en.png"), "image/png", "?detect=false")
    assert ok.status_code == 200 and ok.json()["data"][0]["text"].startswith("Invoice")


@pytest.mark.parametrize(
    ("depth", "status", "error"),
    [
        (17, 422, "time_budget_exceeded"),  # about 20 s of rendering: stopped at the budget
        (22, 400, "not_an_image"),  # gigabytes: the decoder process hits its memory limit first
    ],
)
def test_nested_pdf_forms_are_stopped_and_their_memory_returns(server, depth, status, error):
    bomb = nested_forms_pdf(depth)  # a few KB; minutes of rendering and gigabytes if left alone
    assert len(bomb) < 5000
    before = server.tree_rss()
    started = time.monotonic()
    body = assert_error(post(server, bomb, "application/pdf"), status, error)
    assert time.monotonic() - started < DOCUMENT_BUDGET + 2
    if status == 422:
        assert f"{DOCUMENT_BUDGET:g} s" in body["message"]
    time.sleep(0.5)  # the decoder process that rendered it is gone; its replacement starts small
    assert server.tree_rss() - before < 100e6
    still_serving(server)


def test_a_dense_text_layer_is_read_in_linear_time(server):
    pdf = text_layer_pdf(8000)  # 8000 separately placed characters, each its own run
    for query in ("", "?format=hocr"):
        started = time.monotonic()
        response = post(server, pdf, "application/pdf", query)
        assert response.status_code == 200, response.text[:300]
        assert time.monotonic() - started < DOCUMENT_BUDGET + 1
    ET.fromstring(response.content)  # the hOCR of it is well-formed


def test_a_compressed_text_layer_bomb_is_refused_by_its_character_count(server):
    bomb = text_layer_pdf(60_000, compress=True)
    assert len(bomb) < 200_000
    body = assert_error(post(server, bomb, "application/pdf"), 422, "image_too_large")
    assert "characters in its text layer" in body["message"]
    still_serving(server)


def test_hocr_of_a_text_layer_with_control_characters_is_well_formed_xml(server):
    response = post(server, control_text_pdf(), "application/pdf", "?format=hocr")
    assert response.status_code == 200
    root = ET.fromstring(response.content)  # raises on characters XML 1.0 forbids
    words = " ".join(e.text or "" for e in root.iter("{http://www.w3.org/1999/xhtml}span"))
    assert "Total" in words and "42" in words
    assert not any(ord(c) < 0x20 and c not in "\t\n\r" for c in response.text)


def test_a_tiff_with_thousands_of_pages_is_refused_at_once(server):
    tiff = many_page_tiff(20_000)
    started = time.monotonic()
    body = assert_error(post(server, tiff, "image/tiff"), 422, "too_many_pages")
    assert time.monotonic() - started < 3
    assert "more than 50 pages" in body["message"]
    # With a page selection the document is counted further, still bounded.
    body = assert_error(post(server, tiff, "image/tiff", "?pages=1-2"), 422, "too_many_pages")
    assert time.monotonic() - started < 6


def test_a_progressive_jpeg_with_thousands_of_scans_is_stopped_at_the_budget(server):
    bomb = progressive_jpeg_bomb(6000, 3000)  # about 15 s to decode in-process
    assert len(bomb) < 400_000
    started = time.monotonic()
    assert_error(post(server, bomb, "image/jpeg"), 422, "time_budget_exceeded")
    assert time.monotonic() - started < IMAGE_BUDGET + 2
    still_serving(server)


def test_an_image_needing_more_than_the_decoder_memory_is_a_422(tmp_path):
    buf = io.BytesIO()
    Image.new("RGBA", (7000, 5700), (255, 255, 255, 0)).save(buf, "PNG")  # 40 Mpx: ~0.3 GB decoded
    with running(tmp_path, {"OCRFN_DECODER_MEMORY": str(256 * 1024 * 1024)}) as small:
        before = small.tree_rss()
        body = assert_error(post(small, buf.getvalue(), "image/png"), 422, "image_too_large")
        assert "memory" in body["message"]
        time.sleep(0.5)
        assert small.tree_rss() - before < 100e6
        still_serving(small)


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"%PDF-1.4\n garbage", "damaged or not a PDF"), (b"%PDF-1.7\n" + b"\0" * 100, "damaged or not a PDF")],
)
def test_unreadable_pdfs_are_explained_without_library_text(server, data, reason):
    body = assert_error(post(server, data, "application/pdf"), 400, "not_an_image")
    assert reason in body["message"]
    assert "PDFium" not in body["message"] and "Error" not in body["message"]
