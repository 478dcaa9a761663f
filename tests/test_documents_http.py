"""PDFs and multi-page TIFFs over HTTP and through a bucket event, against real server processes."""

from __future__ import annotations

import json

import pytest
import requests
from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent
from conftest import image_bytes
from server import running
from test_document import image_pdf, receipt, text_pdf, tiff


def squash(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("docs-buckets")
    (root / "scans").mkdir()
    env = {"OCRFN_FILE_ROOT": str(root), "OCRFN_MAX_PAGES": "3", "OCRFN_PDF_DPI": "100"}
    with running(tmp_path_factory.mktemp("docs"), env) as srv:
        yield srv, root


def post(srv, data: bytes, content_type: str, query: str = "") -> requests.Response:
    return requests.post(
        srv.url + "/api/ocr" + query, data=data, headers={"Content-Type": content_type}, timeout=120
    )


def test_pdf_pages_in_order_with_their_source(server, expected):
    srv, _ = server
    response = post(srv, image_pdf([receipt(), receipt().rotate(180)]), "application/pdf")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"] == 0 and "data" not in body and body["model"] == "ppocrv6-small"
    assert [(p["page"], p["source"]) for p in body["pages"]] == [(1, "ocr"), (2, "ocr")]
    want = [squash(t) for t in expected["receipt.png"]["lines"]]
    assert [squash(line["text"]) for line in body["pages"][0]["data"]] == want
    assert squash(body["pages"][1]["data"][0]["text"]) == want[0]  # the upside-down page reads right way up
    assert (body["pages"][0]["width"], body["pages"][0]["height"]) == (
        520,
        546,
    )  # placed at 100 dpi, read at 100


def test_text_layer_pages_are_marked_and_exact(server):
    srv, _ = server
    body = post(srv, text_pdf(["Invoice 2024-0815", "Total 1286.75"]), "application/pdf").json()
    (page,) = body["pages"]
    assert page["source"] == "text-layer"
    assert [line["text"] for line in page["data"]] == ["Invoice 2024-0815", "Total 1286.75"]
    assert all(line["confidence"] == 1.0 for line in page["data"])


def test_text_format_separates_pages_with_form_feeds(server):
    srv, _ = server
    text = post(srv, tiff([receipt(), receipt(), receipt()]), "image/tiff", "?format=text").text
    pages = text.split("\f")
    assert len(pages) == 3 and all(squash(p.splitlines()[0]) == "美味小馆" for p in pages)


def test_multi_page_tiff_as_base64_json(server):
    srv, _ = server
    import base64

    payload = {"image_base64": base64.b64encode(tiff([receipt(), receipt().convert("L")])).decode()}
    body = requests.post(srv.url + "/api/ocr", json=payload, timeout=120).json()
    assert [p["page"] for p in body["pages"]] == [1, 2]


def test_page_cap_is_a_422_not_a_truncation(server):
    srv, _ = server
    response = post(srv, image_pdf([receipt()] * 4), "application/pdf")
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "too_many_pages" and "4 pages; the limit is 3" in body["message"]


def test_single_images_keep_their_shape(server):
    srv, _ = server
    body = post(srv, image_bytes("receipt.png"), "image/png").json()
    assert "data" in body and "pages" not in body


def test_pdf_through_a_bucket_event_and_progress_in_logs(server):
    srv, root = server
    (root / "scans" / "contract.pdf").write_bytes(image_pdf([receipt(), receipt()]))
    headers, data = to_binary(
        CloudEvent(
            {"type": "dev.ocrfn.ocr.request", "source": "t", "datacontenttype": "application/json"},
            {"url": "file://scans/contract.pdf", "version": "v1"},
        )
    )
    headers["Prefer"] = "reply"
    headers["X-Request-Id"] = "pdf-event-1"
    response = requests.post(srv.url + "/", data=data, headers=headers, timeout=120)
    assert response.status_code == 200, response.text
    result = json.loads((root / "scans" / "ocr-results" / "contract.pdf.json").read_text(encoding="utf-8"))
    assert [p["page"] for p in result["pages"]] == [1, 2] and result["source"]["version"] == "v1"
    progress = [
        json.loads(line)
        for line in srv.stdout().splitlines()
        if '"pdf-event-1"' in line and "progress" in line
    ]
    assert [p["progress"] for p in progress] == ["page 1/2", "page 2/2"]
    metrics = requests.get(srv.url + "/metrics", timeout=5).text
    assert 'ocrfn_document_pages_total{source="ocr"}' in metrics
