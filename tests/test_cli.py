"""The command line (``python -m function``) on images and documents, run as users run it."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET

import pytest
from conftest import DATA, ROOT
from PIL import Image
from test_document import image_pdf, receipt, turned
from test_openapi import SPEC, assert_valid


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "function", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def squash(text: str) -> str:
    return "".join(text.split())


def test_images_and_documents_print_their_lines(tmp_path, expected):
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(image_pdf([receipt(), turned(receipt(), 90)]))
    image = DATA / "images" / "receipt.png"
    proc = cli(str(image), str(pdf))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    want = [squash(t) for t in expected["receipt.png"]["lines"]]
    assert out[0] == f"== {image}" and [squash(x) for x in out[1 : 1 + len(want)]] == want
    assert f"== {pdf}" in out and "-- page 1 (ocr)" in out and "-- page 2 (ocr, turned 90°)" in out
    second = out[out.index("-- page 2 (ocr, turned 90°)") + 1 :]
    assert [squash(x) for x in second] == want


def test_spaces_on_the_page_are_in_the_printed_text(tmp_path, expected):
    pdf = tmp_path / "receipt.pdf"
    page = Image.open(DATA / "images" / "spacing_page.png").convert("RGB")
    pdf.write_bytes(image_pdf([page]))
    proc = cli(str(DATA / "images" / "spacing_date.png"), str(pdf))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert "日期 2024-08-15 12:36" in out[: out.index(f"== {pdf}")]
    printed = [unicodedata.normalize("NFKC", x) for x in out[out.index("-- page 1 (ocr)") + 1 :]]
    # The lines whose spaces sit beside Chinese or between digit runs (what restoration puts back).
    for line in ("日期 2024-08-15 12:36", "单号 20240815-0032 收银员 03", "实收 ¥128.50 找零 ¥21.50"):
        assert line in expected["spacing_page.png"]["lines"] and line in printed


def test_json_and_hocr_output(tmp_path):
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(image_pdf([turned(receipt(), 180)]))
    proc = cli("--json", str(pdf))
    assert proc.returncode == 0, proc.stderr
    (page,) = json.loads(proc.stdout)["pages"]
    assert page["angle"] == 180 and squash(page["data"][0]["text"]) == "美味小馆"
    proc = cli("--hocr", str(DATA / "images" / "receipt.png"))
    assert proc.returncode == 0, proc.stderr
    words = [e.text for e in ET.fromstring(proc.stdout).iter() if e.get("class") == "ocrx_word"]
    assert words[:4] == ["美", "味", "小", "馆"]


def test_unreadable_files_are_reported_and_fail_the_run(tmp_path):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4\nnot really")
    proc = cli(str(bad), str(DATA / "images" / "receipt.png"))
    assert proc.returncode == 1
    assert str(bad) in proc.stderr and "Traceback" not in proc.stderr
    assert "美味小馆" in squash(proc.stdout)  # the good file is still read


def test_pages_of_a_document_can_be_chosen(tmp_path):
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(image_pdf([receipt(), turned(receipt(), 90), receipt()]))
    proc = cli("--pages", "2-", str(pdf))
    assert proc.returncode == 0, proc.stderr
    headings = [line for line in proc.stdout.splitlines() if line.startswith("-- page")]
    assert headings == ["-- page 2 (ocr, turned 90°)", "-- page 3 (ocr)"]
    proc = cli("--pages", "x", str(pdf))
    assert proc.returncode == 2 and "--pages" in proc.stderr


def test_json_lines_are_the_http_apis_answer_bodies_in_file_order(tmp_path):
    """--json: one line per file, in order, each valid against the OpenAPI schema of the API's answer."""
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(image_pdf([receipt(), turned(receipt(), 90)]))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    image = DATA / "images" / "line_en.png"
    proc = cli("--json", str(image), str(broken), str(pdf), str(tmp_path / "missing.png"))
    assert proc.returncode == 1  # some files could not be read
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) == 4
    schemas = SPEC["components"]["schemas"]
    single, bad, document, missing = lines
    assert_valid(single, schemas["OcrResult"], "image")
    assert single["code"] == 0 and single["data"][0]["text"].startswith("Invoice")
    assert single["model"] == "ppocrv6-small" and single["width"] == 604
    assert_valid(document, schemas["DocumentResult"], "document")
    assert [p["angle"] for p in document["pages"]] == [0, 90]
    for error in (bad, missing):
        assert_valid(error, schemas["Error"], "error")
    assert (bad["code"], bad["error"]) == (400, "not_an_image") and str(broken) in bad["message"]
    assert (missing["code"], missing["error"]) == (400, "unreadable_file")
    assert f"{broken}: not_an_image" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--min-confidence", "5"], "option --min-confidence must be a number from 0 to 1"),
        (["--min-confidence", "nan"], "option --min-confidence must be a number from 0 to 1"),
        (["--min-confidence", "half"], "option --min-confidence must be a number from 0 to 1"),
        (["--pages", "0"], "option --pages: '0': pages count from 1"),
        (["--pages", "3-1"], "option --pages:"),
        (["--pages", "x"], "option --pages:"),
    ],
)
def test_options_the_api_refuses_are_refused_with_exit_2(args, message):
    proc = cli(*args, str(DATA / "images" / "line_en.png"))
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stdout == "" and "Traceback" not in proc.stderr


def test_the_cli_and_the_api_refuse_the_same_values_in_the_same_words():
    """The rule is one function: its API wording, for the same values the CLI refuses."""
    from function.errors import ServiceError
    from function.options import parse_options

    for name, value in (("min_confidence", "5"), ("pages", "0"), ("pages", "3-1")):
        with pytest.raises(ServiceError) as api:
            parse_options({name: value}, "field")
        proc = cli(f"--{name.replace('_', '-')}", value, str(DATA / "images" / "line_en.png"))
        assert api.value.status == 400 and api.value.error == "invalid_field"
        worded = api.value.message.removeprefix(f"field {name}")
        assert proc.returncode == 2 and worded in proc.stderr


def test_a_page_beyond_a_single_image_is_refused_like_the_api_does():
    proc = cli("--json", "--pages", "2", str(DATA / "images" / "line_en.png"))
    assert proc.returncode == 1
    answer = json.loads(proc.stdout)
    assert (answer["code"], answer["error"]) == (422, "page_out_of_range")
