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

from .errors import ImageTooLargeError
from .geometry import to_page
from .lines import Word
from .order import reading_order
from .words import word_groups


@dataclass(frozen=True)
class TextRun:
    """A piece of a page's text layer and its box (TL, TR, BR, BL in pixels of the rendered page).

    ``words`` are its words with the boxes of their characters as the PDF places them.
    """

    text: str
    box: list[list[int]]
    words: tuple[Word, ...] = ()


def read_text_layer(
    page: pdfium.PdfPage, number: int, width: int, height: int, words: bool, max_chars: int
) -> list[TextRun]:
    """Read page *number*'s text runs with their boxes and words; empty when it has no usable text.

    Boxes are mapped by pdfium from PDF user space onto the rendered *width* × *height* pixels, so a
    page's crop box offset and its ``/Rotate`` are accounted for (a quad's first point stays the text's
    own top-left). Runs of a turned page are put in reading order on the upright page (pdfium lists
    them in the order they lie on the turned one). Time and memory are linear in the characters: each
    character is read once and given to its run in one sweep. More than *max_chars* characters is an
    :class:`~.errors.ImageTooLargeError` (a compressed content stream can hold millions).
    """
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        if count == 0:
            return []
        if count > max_chars:
            raise ImageTooLargeError(
                f"Page {number} has {count:,} characters in its text layer; the limit is {max_chars:,}."
            )
        if _scan_with_visible_text(page, textpage, count):
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
        texts = _char_texts(textpage, count)
        boxes = [textpage.get_charbox(i) for i in range(count)]
        members: list[list[int]] = [[] for _ in rects]
        for char, rect in enumerate(_rect_of_chars(boxes, rects, texts)):
            if rect >= 0:
                members[rect].append(char)
        runs = []
        for index, (left, bottom, right, top) in enumerate(rects):
            mine = [(texts[k], boxes[k]) for k in members[index]]
            text = " ".join("".join(c for c, _ in mine).split())
            if not text:
                continue
            found = tuple(Word(word, 1.0, box(*bounds)) for word, bounds in _pdf_words(mine)) if words else ()
            runs.append(TextRun(text, box(left, bottom, right, top), found))
        if rotation:
            runs = [runs[k] for k in reading_order([np.array(r.box, np.float32) for r in runs])]
            runs = [_turn_run(r, rotation, width, height) for r in runs]
        return runs
    finally:
        textpage.close()


def _char_texts(textpage: pdfium.PdfTextPage, count: int) -> list[str]:
    """Each character's text, in one call when pdfium's text view matches its character list."""
    whole = textpage.get_text_range(0, count)
    if len(whole) == count:
        return list(whole)
    return [textpage.get_text_range(i, 1) for i in range(count)]


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


#: How many runs ahead of the current one a character's run is looked for (runs follow the characters).
_LOOKAHEAD = 4


def _rect_of_chars(
    boxes: list[tuple[float, float, float, float]],
    rects: list[tuple[float, float, float, float]],
    texts: list[str],
) -> list[int]:
    """Index of the text rect that holds each character's centre (-1 for none), in one sweep.

    pdfium builds its rects from consecutive characters, so both lists are in the same order: each
    character is looked for in the current rect and the few after it, never in all of them. A blank
    outside every rect (pdfium's generated spaces have no box of their own) stays with the current one.
    """
    owners = []
    current = 0
    for (left, bottom, right, top), text in zip(boxes, texts, strict=True):
        cx, cy = (left + right) / 2, (bottom + top) / 2
        found = -1
        for k in range(current, min(current + _LOOKAHEAD, len(rects))):
            r_left, r_bottom, r_right, r_top = rects[k]
            if r_left <= cx <= r_right and r_bottom <= cy <= r_top:
                found = current = k
                break
        if found < 0 and not text.strip() and owners and owners[-1] == current:
            found = current
        owners.append(found)
    return owners


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
