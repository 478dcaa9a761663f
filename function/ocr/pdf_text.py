"""A PDF page's own text: runs and words with their boxes in the pixels of the rendered page.

pdfium extracts the text and maps PDF user space onto pixels (crop box offsets and ``/Rotate``
included). A scan whose text is not an invisible OCR layer is reported as having no usable text, so the
caller reads its pixels instead.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from .engine import Word
from .order import reading_order
from .page_orient import to_page
from .words import word_groups


@dataclass(frozen=True)
class TextRun:
    """A piece of a page's text layer and its box (TL, TR, BR, BL in pixels of the rendered page).

    ``words`` are its words with the boxes of their characters as the PDF places them.
    """

    text: str
    box: list[list[int]]
    words: tuple[Word, ...] = ()


def read_text_layer(page: pdfium.PdfPage, width: int, height: int, words: bool) -> list[TextRun]:
    """Read the page's text runs with their boxes and words; empty when the page has no usable text.

    Boxes are mapped by pdfium from PDF user space onto the rendered *width* × *height* pixels, so a
    page's crop box offset and its ``/Rotate`` are accounted for (a quad's first point stays the text's
    own top-left). Runs of a turned page are put in reading order on the upright page (pdfium lists
    them in the order they lie on the turned one).
    """
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        if count == 0 or _scan_with_visible_text(page, textpage, count):
            return []
        rotation = page.get_rotation()
        # pdfium adds its rotate argument to the page's own: cancelling it gives upright coordinates.
        undo = (4 - rotation // 90) % 4
        up_w, up_h = (height, width) if rotation in (90, 270) else (width, height)
        device_x, device_y = ctypes.c_int(), ctypes.c_int()

        def point(x: float, y: float) -> list[int]:
            pdfium_c.FPDF_PageToDevice(
                page, 0, 0, up_w, up_h, undo, x, y, ctypes.byref(device_x), ctypes.byref(device_y)
            )
            return [device_x.value, device_y.value]

        def box(left: float, bottom: float, right: float, top: float) -> list[list[int]]:
            return [point(left, top), point(right, top), point(right, bottom), point(left, bottom)]

        rects = [textpage.get_rect(i) for i in range(textpage.count_rects())]
        chars = (
            [(textpage.get_text_range(i, 1), textpage.get_charbox(i)) for i in range(count)] if words else []
        )
        owner = _rect_of_chars([b for _, b in chars], rects)
        runs = []
        for index, (left, bottom, right, top) in enumerate(rects):
            text = " ".join(textpage.get_text_bounded(left, bottom, right, top).split())
            if not text:
                continue
            mine = [chars[k] for k in np.flatnonzero(owner == index)]
            found = tuple(Word(word, 1.0, box(*bounds)) for word, bounds in _pdf_words(mine))
            runs.append(TextRun(text, box(left, bottom, right, top), found))
        if rotation:
            runs = [runs[k] for k in reading_order([np.array(r.box, np.float32) for r in runs])]
            runs = [_turn_run(r, rotation, width, height) for r in runs]
        return runs
    finally:
        textpage.close()


#: An image covering this share of the page makes it a scanned page.
SCAN_COVER = 0.5


def _scan_with_visible_text(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage, count: int) -> bool:
    """Tell a scanned page whose text is not its OCR layer (so the pixels must be read).

    A page mostly covered by an image is a scan. Its text layer is trusted only when most of its
    characters are invisible (render mode 3: the OCR layer scanners and OCRmyPDF put under the image);
    visible text on a scan is a stamp, a page number or a filled-in field, and the rest of the page
    would be lost if only that were taken.
    """
    left, bottom, right, top = page.get_bbox()
    area = max((right - left) * (top - bottom), 1e-6)
    cover = 0.0
    for image in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)):
        x0, y0, x1, y1 = image.get_bounds()
        overlap = max(0.0, min(x1, right) - max(x0, left)) * max(0.0, min(y1, top) - max(y0, bottom))
        cover = max(cover, overlap / area)
    if cover < SCAN_COVER:
        return False
    invisible = 0
    for index in range(count):
        text_object = pdfium_c.FPDFText_GetTextObject(textpage, index)
        if text_object and (
            pdfium_c.FPDFTextObj_GetTextRenderMode(text_object) == pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE
        ):
            invisible += 1
    return invisible * 2 < count


def _turn_run(run: TextRun, rotation: int, width: int, height: int) -> TextRun:
    """Map a run found on the upright page onto the page as displayed (turned *rotation* clockwise)."""
    words = tuple(replace(w, box=to_page(w.box, rotation, width, height)) for w in run.words)
    return TextRun(run.text, to_page(run.box, rotation, width, height), words)


def _rect_of_chars(
    boxes: list[tuple[float, float, float, float]], rects: list[tuple[float, float, float, float]]
) -> np.ndarray:
    """Index of the text rect that holds each character's centre (-1 for none)."""
    if not boxes or not rects:
        return np.full(len(boxes), -1)
    b = np.asarray(boxes, dtype=np.float64)
    r = np.asarray(rects, dtype=np.float64)
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    inside = (
        (cx[:, None] >= r[None, :, 0])
        & (cx[:, None] <= r[None, :, 2])
        & (cy[:, None] >= r[None, :, 1])
        & (cy[:, None] <= r[None, :, 3])
    )
    return np.where(inside.any(axis=1), inside.argmax(axis=1), -1)


def _pdf_words(
    chars: list[tuple[str, tuple[float, float, float, float]]],
) -> Iterator[tuple[str, tuple[float, float, float, float]]]:
    """Group a run's characters into words (see :func:`~.words.word_groups`) with their bounds."""
    for group in word_groups([c for c, _ in chars]):
        boxes = [chars[k][1] for k in group]
        bounds = (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
        yield "".join(chars[k][0] for k in group), bounds
