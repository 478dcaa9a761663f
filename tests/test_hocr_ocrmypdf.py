"""hOCR as OCRmyPDF consumes it: OCRmyPDF's own parser and text-layer renderer turn ocrfn's hOCR into a
searchable PDF, whose text (read back with pdfium) must be what ocrfn recognized, where ocrfn found it."""

from __future__ import annotations

import io
from pathlib import Path

import ocrmypdf
import pypdfium2 as pdfium
import pytest
import requests
from ocrmypdf.font import MultiFontManager
from ocrmypdf.fpdf_renderer import Fpdf2PdfRenderer
from ocrmypdf.hocrtransform import HocrParser
from server import running
from test_document import image_pdf, receipt, turned


def squash(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running(tmp_path_factory.mktemp("hocr")) as srv:
        yield srv


def hocr_of(server, data: bytes, content_type: str, query: str) -> str:
    response = requests.post(
        f"{server.url}/api/ocr?format=hocr{query}",
        data=data,
        headers={"Content-Type": content_type},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    return response.text


def text_layer(hocr: str, tmp_path: Path, dpi: float | None = None) -> tuple[pdfium.PdfDocument, object]:
    """Render the hOCR to an invisible text layer with OCRmyPDF, as `ocrmypdf --pdf-renderer fpdf2` does."""
    (tmp_path / "page.hocr").write_text(hocr, encoding="utf-8")
    page = HocrParser(tmp_path / "page.hocr").parse()
    fonts = MultiFontManager(Path(ocrmypdf.__file__).parent / "data")
    renderer = Fpdf2PdfRenderer(
        page=page, dpi=dpi or page.dpi, multi_font_manager=fonts, invisible_text=True, image=None
    )
    renderer.render(tmp_path / "layer.pdf")
    return pdfium.PdfDocument(tmp_path / "layer.pdf"), page


def test_a_scanned_pdf_page_becomes_searchable_with_text_where_it_was_read(server, tmp_path, expected):
    hocr = hocr_of(server, image_pdf([receipt()]), "application/pdf", "")
    pdf, page = text_layer(hocr, tmp_path)
    assert page.dpi == 200  # the rendering resolution, from scan_res
    assert pdf.get_page_size(0) == pytest.approx((520 * 72 / 100, 546 * 72 / 100), abs=0.5)  # the PDF's page
    textpage = pdf[0].get_textpage()
    # pdfium joins words on one baseline into one line (an item and its price): compare the text in order.
    assert squash(textpage.get_text_range()) == squash("".join(expected["receipt.png"]["lines"]))
    # The first character of the title sits where ocrfn's first word box is (pixels at 200 dpi -> points).
    first_word = page.children[0].children[0].children[0]
    assert first_word.text == "美"
    left, bottom, right, top = textpage.get_charbox(0)
    height_pt = pdf.get_page_size(0)[1]
    scale = 72 / 200
    assert left == pytest.approx(first_word.bbox.left * scale, abs=4)
    assert right == pytest.approx(first_word.bbox.right * scale, abs=4)
    assert height_pt - top == pytest.approx(first_word.bbox.top * scale, abs=8)
    assert height_pt - bottom == pytest.approx(first_word.bbox.bottom * scale, abs=8)


def test_a_turned_photo_keeps_its_reading_order_in_the_text_layer(server, tmp_path, expected):
    png = io.BytesIO()
    turned(receipt(), 90).save(png, "PNG")
    hocr = hocr_of(server, png.getvalue(), "image/png", "&orient_page=true")
    pdf, page = text_layer(hocr, tmp_path, dpi=72)
    first_line = page.children[0].children[0]
    assert first_line.textangle == 270  # runs downwards on the page as sent
    text = pdf[0].get_textpage().get_text_range()
    assert squash(text) == squash("".join(expected["receipt.png"]["lines"]))
