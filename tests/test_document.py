"""Multi-page documents: PDFs (image-only and with a text layer) and multi-page TIFFs, generated here."""

from __future__ import annotations

import ctypes
import io

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from conftest import image_bytes
from pdfs import assemble_pdf
from PIL import Image

from function.ocr import OcrOptions
from function.ocr.document import read_document, reading_plan
from function.ocr.errors import ImageTooLargeError, NotAnImageError, PageRangeError, TooManyPagesError
from function.ocr.pages import DocumentLimits, PageSelection, document_kind, load_pages


def squash(text: str) -> str:
    return "".join(text.split())


def receipt() -> Image.Image:
    return Image.open(io.BytesIO(image_bytes("receipt.png"))).convert("RGB")


def image_pdf(images: list[Image.Image], resolution: float = 100.0) -> bytes:
    """An image-only PDF (what a scanner writes): each image is one page at *resolution* dpi."""
    buf = io.BytesIO()
    images[0].save(buf, "PDF", resolution=resolution, save_all=True, append_images=images[1:])
    return buf.getvalue()


def text_pdf(lines: list[str]) -> bytes:
    """A one-page US Letter PDF whose text is a text layer (Helvetica 24 pt, 40 pt apart from the top)."""
    ops = [b"BT /F1 24 Tf 72 700 Td"]
    for i, line in enumerate(lines):
        ops.append((b"0 -40 Td " if i else b"") + b"(" + line.encode("latin-1") + b") Tj")
    content = b" ".join(ops) + b" ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return assemble_pdf(objects)


def scan_pdf(
    image: Image.Image, texts: list[tuple[str, float, float, bool]], page: tuple[float, float] | None = None
) -> bytes:
    """A one-page PDF holding *image* at 100 dpi and text objects ``(text, x_pt, y_pt, invisible)``.

    Without *page* (a size in points) the image fills the page, as a scanner makes it.
    """
    width, height = image.width * 0.72, image.height * 0.72
    document = pdfium.PdfDocument.new()
    try:
        sheet = document.new_page(*(page or (width, height)))
        picture = pdfium.PdfImage.new(document)
        picture.set_bitmap(pdfium.PdfBitmap.from_pil(image))
        picture.set_matrix(pdfium.PdfMatrix().scale(width, height))
        sheet.insert_obj(picture)
        for text, x, y, invisible in texts:
            obj = pdfium_c.FPDFPageObj_NewTextObj(document, b"Helvetica", ctypes.c_float(12))
            buffer = ctypes.create_string_buffer((text + "\0").encode("utf-16-le"))
            pdfium_c.FPDFText_SetText(obj, ctypes.cast(buffer, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
            if invisible:
                pdfium_c.FPDFTextObj_SetTextRenderMode(obj, pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE)
            pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, x, y)
            pdfium_c.FPDFPage_InsertObject(sheet, obj)
        sheet.gen_content()
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()
    finally:
        document.close()


def tiff(frames: list[Image.Image]) -> bytes:
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def test_document_kind():
    assert document_kind(image_pdf([receipt()])) == "pdf"
    assert document_kind(text_pdf(["x"])) == "pdf"
    assert document_kind(tiff([receipt(), receipt()])) == "tiff"
    assert document_kind(tiff([receipt()])) is None  # one page: an ordinary image
    assert document_kind(image_bytes("receipt.png")) is None


def test_image_pdf_pages_are_rendered_at_the_requested_resolution(engine, expected):
    pages = load_pages(image_pdf([receipt(), receipt().rotate(180)]), DocumentLimits(dpi=200))
    assert [p.number for p in pages] == [1, 2]
    first = pages[0]
    assert first.text is None and first.pixels is not None
    # 520x546 px placed at 100 dpi is 5.2x5.46 in; at 200 dpi that is 1040x1092 px.
    assert abs(first.width - 1040) <= 1 and abs(first.height - 1092) <= 1
    assert first.pixels.shape == (first.height, first.width, 3) and first.pixels.dtype == np.uint8
    lines = [squash(line.text) for line in engine.run(first.pixels).lines]
    assert lines == [squash(t) for t in expected["receipt.png"]["lines"]]


def test_text_layer_is_used_with_boxes_in_page_pixels():
    (page,) = load_pages(text_pdf(["Invoice 2024-0815", "Total 1286.75"]), DocumentLimits(dpi=144))
    assert page.pixels is None
    assert [run.text for run in page.text] == ["Invoice 2024-0815", "Total 1286.75"]
    assert (page.width, page.height) == (1224, 1584)  # 8.5x11 in at 144 dpi
    (x0, y0), _, (x1, y1), _ = page.text[0].box
    # Baseline 700 pt from the bottom of a 792 pt page, 24 pt type: about 92 pt from the top, at 2 px/pt.
    assert 140 <= x0 <= 160 and 140 <= y0 <= 200 and y1 - y0 > 20 and x1 > x0 + 300


def test_text_layer_can_be_ignored():
    (page,) = load_pages(text_pdf(["Invoice 2024-0815"]), DocumentLimits(dpi=100, use_text_layer=False))
    assert page.text is None and page.pixels is not None and page.pixels.shape[:2] == (1100, 850)


def test_multi_page_tiff():
    frames = [receipt(), receipt().convert("L"), receipt().resize((260, 273))]
    pages = load_pages(tiff(frames))
    assert [(p.number, p.width, p.height) for p in pages] == [(1, 520, 546), (2, 520, 546), (3, 260, 273)]
    assert all(p.pixels is not None and p.pixels.shape[2] == 3 for p in pages)
    assert all(p.dpi is None for p in pages)  # no resolution tag: none is made up
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:], dpi=(300, 300))
    assert [p.dpi for p in load_pages(buf.getvalue())] == [300.0, 300.0, 300.0]


def test_page_cap_refuses_the_whole_document():
    with pytest.raises(TooManyPagesError, match="3 pages; the limit is 2"):
        load_pages(image_pdf([receipt()] * 3), DocumentLimits(max_pages=2))
    # A TIFF is counted only up to the cap (Pillow's own count reads every frame, quadratically).
    with pytest.raises(TooManyPagesError, match="more than 2 pages; the limit is 2"):
        load_pages(tiff([receipt()] * 3), DocumentLimits(max_pages=2))
    # Counted as people write it: "more than 1 page", "the limit is 1 page".
    with pytest.raises(TooManyPagesError, match=r"has 2 pages; the limit is 1 page\."):
        load_pages(image_pdf([receipt()] * 2), DocumentLimits(max_pages=1))
    with pytest.raises(TooManyPagesError, match=r"more than 1 page; the limit is 1 page\."):
        load_pages(tiff([receipt()] * 2), DocumentLimits(max_pages=1))


def test_pixel_caps_are_checked_before_rendering():
    with pytest.raises(ImageTooLargeError, match="Page 1"):
        load_pages(text_pdf(["x"]), DocumentLimits(dpi=600, max_page_pixels=10_000_000))  # 5100x6600
    with pytest.raises(ImageTooLargeError, match="at page 2"):
        load_pages(image_pdf([receipt()] * 3), DocumentLimits(dpi=200, max_total_pixels=2_000_000))


def test_broken_documents_are_not_images():
    with pytest.raises(NotAnImageError):
        load_pages(b"%PDF-1.4\nthis is not really a pdf")
    with pytest.raises(NotAnImageError):
        load_pages(image_bytes("receipt.png"))


def test_pages_feed_the_engine_like_images(engine):
    pages = load_pages(tiff([receipt(), receipt().rotate(180)]))
    results = [engine.run(p.pixels, OcrOptions()) for p in pages]
    assert [squash(results[0].lines[0].text), squash(results[1].lines[0].text)] == ["美味小馆", "美味小馆"]


def turned(image: Image.Image, angle: int) -> Image.Image:
    """*image* with its content turned *angle* degrees clockwise (PIL turns counter-clockwise)."""
    return image.rotate(-angle, expand=True)


def with_rotate(pdf: bytes, angle: int) -> bytes:
    """The PDF with ``/Rotate angle`` on every page (how viewers and scanners mark a turned page)."""
    document = pdfium.PdfDocument(pdf)
    try:
        for index in range(len(document)):
            document[index].set_rotation(angle)
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()
    finally:
        document.close()


def bounds(box: list[list[int]]) -> tuple[int, int, int, int]:
    xs, ys = [p[0] for p in box], [p[1] for p in box]
    return min(xs), min(ys), max(xs), max(ys)


def test_turned_pages_are_read_upright_and_report_their_angle(engine, expected):
    want = [squash(t) for t in expected["receipt.png"]["lines"]]
    pdf = image_pdf([turned(receipt(), a) for a in (0, 90, 180, 270)])
    result = read_document(engine, pdf, limits=DocumentLimits(dpi=100))
    assert [p.angle for p in result.pages] == [0, 90, 180, 270]
    for page in result.pages:
        assert [squash(line.text) for line in page.lines] == want, f"page {page.number}"
        upright = (page.width, page.height) if page.angle in (0, 180) else (page.height, page.width)
        assert upright == (520, 546)
        for line in page.lines:
            x0, y0, x1, y1 = bounds(line.box)
            assert 0 <= x0 < x1 <= page.width and 0 <= y0 < y1 <= page.height
    # Boxes are on the page as given, first point at the text's own top-left: on the page turned 90°
    # clockwise the title is near the right edge and reads downwards.
    title = result.pages[1].lines[0].box
    assert bounds(title)[0] > result.pages[1].width * 0.75
    assert title[1][1] > title[0][1] and abs(title[1][0] - title[0][0]) < 5


def test_page_orientation_can_be_turned_off(engine):
    pdf = image_pdf([turned(receipt(), 90)])
    (page,) = read_document(engine, pdf, OcrOptions(), DocumentLimits(dpi=100)).pages
    assert page.angle is None


def test_pdf_rotate_is_followed_for_rendered_and_text_layer_pages(engine, expected):
    scanned = with_rotate(image_pdf([receipt()]), 90)
    (page,) = read_document(engine, scanned, limits=DocumentLimits(dpi=100)).pages
    assert page.angle == 90 and (page.width, page.height) == (546, 520)
    assert [squash(line.text) for line in page.lines] == [squash(t) for t in expected["receipt.png"]["lines"]]

    born_digital = with_rotate(text_pdf(["Invoice 2024-0815", "Total 1286.75", "Paid by card"]), 90)
    (page,) = read_document(engine, born_digital, limits=DocumentLimits(dpi=72)).pages
    assert page.source == "text-layer" and page.angle == 90 and (page.width, page.height) == (792, 612)
    assert [line.text for line in page.lines] == ["Invoice 2024-0815", "Total 1286.75", "Paid by card"]
    first = page.lines[0].box  # 700 pt up a 792 pt page, turned 90° clockwise: near the right edge
    assert first[0][0] > 650 and first[1][1] > first[0][1]


def test_word_boxes_from_the_ctc_alignment_match_the_words_on_the_page(engine):
    lines = [
        "Invoice No. 2024-0815 dated 12 June",
        "Total due: 1,286.75 EUR",
        "Pay to ACME Trading within 30 days",
    ]
    pdf = text_pdf(lines)
    # The same page twice: its text layer says where each word really is; OCR reads the rendered pixels.
    (truth,) = load_pages(pdf, DocumentLimits(dpi=150))
    (pixels,) = load_pages(pdf, DocumentLimits(dpi=150, use_text_layer=False))
    real = [(w.text, bounds(w.box)) for run in truth.text for w in run.words]
    read = engine.run(pixels.pixels, OcrOptions(words=True))
    found = [(w.text, bounds(w.box)) for line in read.lines for w in line.words]
    assert [t for t, _ in found] == [t for t, _ in real] == " ".join(lines).split()
    overlaps = []
    for (_, (a0, ay0, a1, ay1)), (_, (b0, by0, b1, by1)) in zip(real, found, strict=True):
        overlaps.append((min(a1, b1) - max(a0, b0)) / (max(a1, b1) - min(a0, b0)))
        assert a0 <= (b0 + b1) / 2 <= a1  # the box is centred on its own word
        assert by0 <= (ay0 + ay1) / 2 <= by1
    assert min(overlaps) >= 0.6 and float(np.median(overlaps)) >= 0.85, overlaps


def test_words_are_only_computed_when_asked(engine):
    result = engine.run(image_bytes("receipt.png"))
    assert result.lines and all(line.words == () for line in result.lines)
    chinese = engine.run(image_bytes("receipt.png"), OcrOptions(words=True)).lines[0]
    # Ideographs are words of their own, left to right along the line.
    assert [w.text for w in chinese.words] == list(squash(chinese.text))
    lefts = [bounds(w.box)[0] for w in chinese.words]
    assert lefts == sorted(lefts)


def test_words_follow_vertical_and_upside_down_lines(engine):
    column = engine.run(image_bytes("vertical.png"), OcrOptions(words=True)).lines[0]
    assert [w.text for w in column.words] == list(column.text) == list("床前明月光")
    tops = [bounds(w.box)[1] for w in column.words]
    assert tops == sorted(tops)  # read top to bottom, each character inside its column
    x0, y0, x1, y1 = bounds(column.box)
    for word in column.words:
        wx0, wy0, wx1, wy1 = bounds(word.box)
        assert x0 - 1 <= wx0 < wx1 <= x1 + 1 and y0 - 1 <= wy0 < wy1 <= y1 + 1
    flipped = engine.run(image_bytes("upside_down.png"), OcrOptions(words=True)).lines[1]
    assert [w.text for w in flipped.words] == ["Fragile,", "Handle", "With", "Care"]
    lefts = [bounds(w.box)[0] for w in flipped.words]
    assert lefts == sorted(lefts, reverse=True)  # upside down: the first word is at the right


def test_a_scan_with_a_stamped_page_number_is_read_from_its_pixels(engine, expected):
    # Visible text on a page-filling image is a stamp; taking only it would lose the scanned content.
    pdf = scan_pdf(receipt(), [("Page 1 of 3", 300, 8, False)])
    (page,) = read_document(engine, pdf).pages
    assert page.source == "ocr"
    read = [squash(line.text) for line in page.lines]
    assert set(squash(t) for t in expected["receipt.png"]["lines"]) <= set(read)
    assert "Page1of3" in read


def test_an_invisible_ocr_layer_over_a_scan_is_the_text_layer(engine):
    pdf = scan_pdf(receipt(), [("Hidden OCR line one", 20, 300, True), ("line two", 20, 280, True)])
    (page,) = read_document(engine, pdf).pages
    assert page.source == "text-layer"
    assert [line.text for line in page.lines] == ["Hidden OCR line one", "line two"]


def test_a_born_digital_page_with_a_small_picture_keeps_its_text_layer(engine):
    logo = receipt().resize((130, 136))  # about 94 x 98 pt on a US Letter page: a logo
    pdf = scan_pdf(logo, [("Quarterly report 2026", 72, 600, False)], page=(612, 792))
    (page,) = read_document(engine, pdf).pages
    assert page.source == "text-layer" and [line.text for line in page.lines] == ["Quarterly report 2026"]


def test_page_selections_parse_and_pick():
    selection = PageSelection.parse(" 1-3, 7,10- ")
    assert str(selection) == "1-3,7,10-"
    assert selection.pick(12) == [0, 1, 2, 6, 9, 10, 11]
    assert PageSelection.parse("2,2,1-2").pick(3) == [0, 1]  # each page once, in document order
    assert PageSelection.parse("3-9").pick(4) == [2, 3]  # a range may run past the end
    with pytest.raises(PageRangeError, match="Page 5 was asked for, but the document has 4 pages"):
        PageSelection.parse("1,5").pick(4)
    for bad in ("", "0", "3-1", "a", "1,,2", "-3", "1-2-3", ",".join(["1"] * 101)):
        with pytest.raises(ValueError):
            PageSelection.parse(bad)


def test_selected_pages_are_the_only_ones_read_and_the_cap_counts_the_selection():
    frames = [receipt().resize((100 + 10 * i, 100)) for i in range(6)]
    limits = DocumentLimits(max_pages=2)
    pages = load_pages(tiff(frames), limits, pages=PageSelection.parse("2,5"))
    assert [(p.number, p.count, p.reading, p.width) for p in pages] == [(2, 6, 2, 110), (5, 6, 2, 140)]
    with pytest.raises(TooManyPagesError, match="The selection 1-3 names 3 pages; the limit is 2"):
        load_pages(tiff(frames), limits, pages=PageSelection.parse("1-3"))
    pdf = image_pdf(frames)
    assert [p.number for p in load_pages(pdf, limits, pages=PageSelection.parse("6"))] == [6]


def test_single_line_mode_does_not_turn_a_strip_as_a_page(engine):
    line = engine.run(image_bytes("line_en.png"), OcrOptions(detect=False, orient_page=True))
    assert line.angle == 0 and "orient_page" not in line.timings
    assert line.lines[0].text == "Invoice No. 2024-0815 Total: $1,286.75"


def test_reading_plan_is_one_decision_for_every_entry_point() -> None:
    """Documents are read upright unless asked otherwise, images as given; an image is page 1 of 1."""
    pdf, png = image_pdf([receipt()]), image_bytes("receipt.png")
    asked = OcrOptions(words=True, min_confidence=0.3)
    document, options = reading_plan(pdf, asked)
    assert document and options.orient_page and options.words and options.min_confidence == 0.3
    assert reading_plan(pdf, asked, orient_page=False)[1].orient_page is False
    document, options = reading_plan(png, asked, pages=PageSelection.parse("1"))
    assert not document and not options.orient_page
    assert reading_plan(png, asked, orient_page=True)[1].orient_page
    with pytest.raises(PageRangeError, match="Page 2 was asked for"):
        reading_plan(png, asked, pages=PageSelection.parse("2-"))
    assert asked.orient_page is False  # the caller's options are left as they were
