"""PDFs and multi-page TIFFs over HTTP and through a bucket event, against real server processes."""

from __future__ import annotations

import base64
import io
import json
import re
import unicodedata
import xml.etree.ElementTree as ET

import pytest
import requests
from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent
from conftest import image_bytes
from PIL import Image
from server import running
from test_document import image_pdf, receipt, text_pdf, tiff, turned

XHTML = "{http://www.w3.org/1999/xhtml}"


def squash(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("docs-buckets")
    (root / "scans").mkdir()
    env = {
        "OCRFN_FILE_ROOT": str(root),
        "OCRFN_MAX_PAGES": "3",
        "OCRFN_PDF_DPI": "100",
        "OCRFN_RESULT_FORMATS": "json,text,hocr",
    }
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
    assert (body["pages"][0]["width"], body["pages"][0]["height"]) == (520, 546)  # placed at 100 dpi
    assert [p["angle"] for p in body["pages"]] == [0, 180]


def test_turned_pages_read_upright_unless_told_not_to(server, expected):
    srv, _ = server
    pdf = image_pdf([turned(receipt(), 270), turned(receipt(), 90)])
    body = post(srv, pdf, "application/pdf").json()
    assert [(p["angle"], p["width"], p["height"]) for p in body["pages"]] == [(270, 546, 520), (90, 546, 520)]
    want = [squash(t) for t in expected["receipt.png"]["lines"]]
    assert all([squash(line["text"]) for line in p["data"]] == want for p in body["pages"])
    plain = post(srv, pdf, "application/pdf", "?orient_page=false").json()
    assert [p["angle"] for p in plain["pages"]] == [None, None]


def test_single_images_can_ask_for_the_page_orientation(server, expected):
    srv, _ = server
    png = io.BytesIO()
    turned(receipt(), 90).save(png, "PNG")
    body = post(srv, png.getvalue(), "image/png", "?orient_page=true").json()
    assert body["angle"] == 90 and (body["width"], body["height"]) == (546, 520)
    assert [squash(line["text"]) for line in body["data"]] == [
        squash(t) for t in expected["receipt.png"]["lines"]
    ]


def test_text_layer_pages_are_marked_and_exact(server):
    srv, _ = server
    body = post(srv, text_pdf(["Invoice 2024-0815", "Total 1286.75"]), "application/pdf").json()
    (page,) = body["pages"]
    assert page["source"] == "text-layer"
    assert [line["text"] for line in page["data"]] == ["Invoice 2024-0815", "Total 1286.75"]
    assert all(line["confidence"] == 1.0 for line in page["data"])


def test_text_layer_can_be_refused_per_request(server):
    srv, _ = server
    pdf = text_pdf(["Invoice 2024-0815", "Total 1286.75"])
    (page,) = post(srv, pdf, "application/pdf", "?text_layer=false").json()["pages"]
    assert page["source"] == "ocr" and page["angle"] == 0
    assert [squash(line["text"]) for line in page["data"]] == ["Invoice2024-0815", "Total1286.75"]
    assert all(line["confidence"] < 1.0 for line in page["data"])


def test_text_format_separates_pages_with_form_feeds(server):
    srv, _ = server
    text = post(srv, tiff([receipt(), receipt(), receipt()]), "image/tiff", "?format=text").text
    pages = text.split("\f")
    assert len(pages) == 3 and all(squash(p.splitlines()[0]) == "美味小馆" for p in pages)


def test_multi_page_tiff_as_base64_json(server):
    srv, _ = server
    payload = {"image_base64": base64.b64encode(tiff([receipt(), receipt().convert("L")])).decode()}
    body = requests.post(srv.url + "/api/ocr", json=payload, timeout=120).json()
    assert [p["page"] for p in body["pages"]] == [1, 2]


def test_page_cap_is_a_422_not_a_truncation(server):
    srv, _ = server
    response = post(srv, image_pdf([receipt()] * 4), "application/pdf")
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "too_many_pages" and "4 pages; the limit is 3" in body["message"]


def test_pages_select_what_is_read(server):
    srv, _ = server
    four = image_pdf([receipt()] * 4)  # over the module server's cap of 3 pages...
    body = post(srv, four, "application/pdf", "?pages=2,4").json()  # ...but two are selected
    assert [p["page"] for p in body["pages"]] == [2, 4]
    assert squash(body["pages"][0]["data"][0]["text"]) == "美味小馆"
    payload = {"image_base64": base64.b64encode(four).decode(), "pages": "3-"}
    body = requests.post(srv.url + "/api/ocr", json=payload, timeout=120).json()
    assert [p["page"] for p in body["pages"]] == [3, 4]
    response = post(srv, four, "application/pdf", "?pages=1-4")
    assert response.status_code == 422 and response.json()["error"] == "too_many_pages"
    response = post(srv, four, "application/pdf", "?pages=5")
    assert response.status_code == 422 and response.json()["error"] == "page_out_of_range"
    assert "the document has 4 pages" in response.json()["message"]
    response = post(srv, four, "application/pdf", "?pages=two")
    assert response.status_code == 400 and response.json()["error"] == "invalid_field"
    image = image_bytes("receipt.png")
    assert post(srv, image, "image/png", "?pages=1").status_code == 200  # an image is page 1 of 1
    assert post(srv, image, "image/png", "?pages=2").json()["error"] == "page_out_of_range"


def test_single_images_keep_their_shape(server):
    srv, _ = server
    body = post(srv, image_bytes("receipt.png"), "image/png").json()
    assert "data" in body and "pages" not in body and "angle" not in body


def hocr_pages(response: requests.Response) -> list[ET.Element]:
    """Parse an hOCR answer as XML (it must be well-formed XHTML) and return its ocr_page elements."""
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/xhtml+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{XHTML}html"
    metas = {m.get("name"): m.get("content") for m in root.iter(f"{XHTML}meta") if m.get("name")}
    assert metas["ocr-system"].startswith("ocrfn")
    assert {"ocr_page", "ocr_line", "ocrx_word"} <= set(metas["ocr-capabilities"].split())
    return [e for e in root.iter() if e.get("class") == "ocr_page"]


def props(element: ET.Element) -> dict[str, list[str]]:
    """The hOCR properties in an element's title: ``bbox 1 2 3 4; x_wconf 95`` -> {name: values}."""
    out = {}
    for part in element.get("title", "").split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def box_of(element: ET.Element) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (int(v) for v in props(element)["bbox"])
    assert x0 <= x1 and y0 <= y1
    return x0, y0, x1, y1


def test_hocr_has_pages_lines_and_words_with_boxes(server):
    srv, _ = server
    pdf = image_pdf([receipt(), turned(receipt(), 90)])
    json_pages = post(srv, pdf, "application/pdf").json()["pages"]
    pages = hocr_pages(post(srv, pdf, "application/pdf", "?format=hocr"))
    assert len(pages) == 2
    for number, (page, expect) in enumerate(zip(pages, json_pages, strict=True)):
        assert props(page)["ppageno"] == [str(number)] and props(page)["scan_res"] == ["100", "100"]
        assert box_of(page) == (0, 0, expect["width"], expect["height"])
        lines = [e for e in page.iter() if e.get("class") == "ocr_line"]
        assert [squash("".join(e.itertext())) for e in lines] == [squash(d["text"]) for d in expect["data"]]
        for line in lines:
            lx0, ly0, lx1, ly1 = box_of(line)
            words = [e for e in line if e.get("class") == "ocrx_word"]
            assert words and all(0 <= int(props(w)["x_wconf"][0]) <= 100 for w in words)
            for word in words:  # words lie inside their line (a pixel of rounding allowed)
                x0, y0, x1, y1 = box_of(word)
                assert lx0 - 1 <= x0 <= x1 <= lx1 + 1 and ly0 - 1 <= y0 <= y1 <= ly1 + 1
    # On the page turned 90° clockwise the text runs downwards: textangle 270, words top to bottom.
    turned_lines = [e for e in pages[1].iter() if e.get("class") == "ocr_line"]
    assert all(props(line)["textangle"] == ["270"] for line in turned_lines)
    tops = [box_of(w)[1] for w in turned_lines[0]]
    assert tops == sorted(tops) and len(tops) > 1


def test_an_ocred_pdf_page_keeps_its_spaces_in_json_and_hocr_words(server, expected):
    srv, _ = server
    page = Image.open(io.BytesIO(image_bytes("spacing_page.png"))).convert("RGB")
    pdf = image_pdf([page])
    (json_page,) = post(srv, pdf, "application/pdf").json()["pages"]
    texts = [unicodedata.normalize("NFKC", d["text"]) for d in json_page["data"]]
    assert texts == expected["spacing_page.png"]["lines"]
    (hocr_page,) = hocr_pages(post(srv, pdf, "application/pdf", "?format=hocr"))
    words = [[w.text for w in e] for e in hocr_page.iter() if e.get("class") == "ocr_line"]
    assert ["日", "期", "2024-08-15", "12:36"] in words
    assert ["Thank", "you!", "欢", "迎", "再", "次", "光", "临"] in words


def test_hocr_of_a_text_layer_page_and_of_a_single_image(server):
    srv, _ = server
    (page,) = hocr_pages(
        post(srv, text_pdf(["Invoice 2024-0815", "Total 1286.75"]), "application/pdf", "?format=hocr")
    )
    lines = [e for e in page.iter() if e.get("class") == "ocr_line"]
    assert [[w.text for w in line] for line in lines] == [["Invoice", "2024-0815"], ["Total", "1286.75"]]
    (image_page,) = hocr_pages(post(srv, image_bytes("receipt.png"), "image/png", "?format=hocr"))
    assert box_of(image_page) == (0, 0, 520, 546) and "scan_res" not in props(image_page)
    words = [e.text for e in image_page.iter() if e.get("class") == "ocrx_word"]
    assert words[:4] == ["美", "味", "小", "馆"]


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
    results = root / "scans" / "ocr-results"
    result = json.loads((results / "contract.pdf.json").read_text(encoding="utf-8"))
    assert [p["page"] for p in result["pages"]] == [1, 2] and result["source"]["version"] == "v1"
    # The other formats asked for by OCRFN_RESULT_FORMATS sit next to the JSON record.
    text = (results / "contract.pdf.txt").read_text(encoding="utf-8").split("\f")
    assert len(text) == 2 and all(squash(page.splitlines()[0]) == "美味小馆" for page in text)
    hocr = ET.fromstring((results / "contract.pdf.hocr").read_bytes())
    assert len([e for e in hocr.iter() if e.get("class") == "ocr_page"]) == 2
    assert sorted(p.name for p in results.iterdir()) == [
        "contract.pdf.hocr",
        "contract.pdf.json",
        "contract.pdf.txt",
    ]
    progress = [
        json.loads(line)
        for line in srv.stdout().splitlines()
        if '"pdf-event-1"' in line and "progress" in line
    ]
    assert [p["progress"] for p in progress] == ["page 1/2", "page 2/2"]
    metrics = requests.get(srv.url + "/metrics", timeout=5).text
    assert 'ocrfn_document_pages_total{source="ocr"}' in metrics
    assert 'ocrfn_inference_stage_duration_seconds_count{stage="orient_page"}' in metrics
    documents = float(re.search(r"^ocrfn_document_duration_seconds_count (\S+)$", metrics, re.M).group(1))
    pages = float(re.search(r"^ocrfn_document_page_count_sum (\S+)$", metrics, re.M).group(1))
    assert documents >= 1 and pages >= 2
