"""Multi-page documents: PDF (rendered with pypdfium2) and multi-page TIFF, split into pages for OCR.

Every limit is checked before pixels are allocated: the page count (a document over ``max_pages`` is
refused whole, never truncated), each page's pixels at the rendering resolution, and the total pixels of
all pages. A PDF page that carries a text layer is returned with that text (and its boxes, in the pixel
coordinates of the rendered page) instead of pixels, so it need not be OCRed.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import pypdfium2 as pdfium
from PIL import Image

from .decode import pil_to_bgr
from .engine import OcrEngine, OcrOptions, TextLine
from .errors import (
    EmptyImageError,
    ImageError,
    ImageTooLargeError,
    NotAnImageError,
    TimeBudgetError,
    TooManyPagesError,
)

DEFAULT_DPI = 200
DEFAULT_MAX_PAGES = 50
DEFAULT_MAX_TOTAL_PIXELS = 400_000_000
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")


@dataclass(frozen=True)
class TextRun:
    """A piece of a page's text layer and its box (TL, TR, BR, BL in pixels of the rendered page)."""

    text: str
    box: list[list[int]]


@dataclass(frozen=True)
class Page:
    """One page, ``number`` of ``count``: its rendered size, and its pixels (BGR) or its text layer."""

    number: int
    count: int
    width: int
    height: int
    pixels: np.ndarray | None = None
    text: list[TextRun] | None = None


@dataclass(frozen=True)
class DocumentLimits:
    """Resolution and bounds for one document."""

    dpi: int = DEFAULT_DPI
    max_pages: int = DEFAULT_MAX_PAGES
    max_page_pixels: int = 40_000_000
    max_total_pixels: int = DEFAULT_MAX_TOTAL_PIXELS
    use_text_layer: bool = True


def document_kind(data: bytes) -> str | None:
    """``"pdf"`` or ``"tiff"`` (a TIFF with more than one page) for documents; ``None`` for single images."""
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF-"):
        return "pdf"
    if data[:4] in _TIFF_MAGIC:
        try:
            with Image.open(io.BytesIO(data), formats=["TIFF"]) as image:
                return "tiff" if getattr(image, "n_frames", 1) > 1 else None
        except Exception:
            return None
    return None


def load_pages(data: bytes, limits: DocumentLimits | None = None) -> list[Page]:
    """Split a PDF or multi-page TIFF into pages, all at once (see :func:`iter_pages`)."""
    return list(iter_pages(data, limits))


def iter_pages(data: bytes, limits: DocumentLimits | None = None) -> Iterator[Page]:
    """Yield the pages of a PDF or multi-page TIFF one at a time, so only one is in memory.

    The page count and every page's size are checked against the limits before the first page is
    rendered, so an oversized document is refused before any work is done on it.
    """
    limits = limits or DocumentLimits()
    kind = document_kind(data)
    if kind == "pdf":
        yield from _pdf_pages(data, limits)
    elif kind == "tiff":
        yield from _tiff_pages(data, limits)
    else:
        raise NotAnImageError("The data is not a PDF or a multi-page TIFF.")


def _check_count(count: int, limits: DocumentLimits) -> None:
    if count == 0:
        raise EmptyImageError("The document has no pages.")
    if count > limits.max_pages:
        raise TooManyPagesError(f"The document has {count} pages; the limit is {limits.max_pages}.")


def _check_sizes(sizes: list[tuple[int, int]], limits: DocumentLimits) -> None:
    """Refuse a page with no pixels or too many, and pages that add up to too many."""
    total = 0
    for number, (width, height) in enumerate(sizes, 1):
        if width <= 0 or height <= 0:
            raise EmptyImageError(f"Page {number} has zero width or height.")
        if width * height > limits.max_page_pixels:
            raise ImageTooLargeError(
                f"Page {number} is {width}x{height} px; the limit is {limits.max_page_pixels:,} pixels."
            )
        total += width * height
        if total > limits.max_total_pixels:
            raise ImageTooLargeError(
                f"The pages add up to more than {limits.max_total_pixels:,} pixels (at page {number})."
            )


def _pdf_pages(data: bytes, limits: DocumentLimits) -> Iterator[Page]:
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise NotAnImageError(f"The PDF cannot be read ({exc}).") from None
    try:
        _check_count(len(pdf), limits)
        scale = limits.dpi / 72.0
        points = [pdf.get_page_size(i) for i in range(len(pdf))]
        _check_sizes([(math.ceil(w * scale), math.ceil(h * scale)) for w, h in points], limits)
        for index, (width_pt, height_pt) in enumerate(points):
            page = pdf[index]
            try:
                width, height = math.ceil(width_pt * scale), math.ceil(height_pt * scale)
                runs = _text_layer(page, height_pt, scale) if limits.use_text_layer else None
                if runs:
                    result = Page(index + 1, len(points), width, height, text=runs)
                else:
                    pixels = np.ascontiguousarray(page.render(scale=scale).to_numpy()[:, :, :3])
                    result = Page(index + 1, len(points), pixels.shape[1], pixels.shape[0], pixels=pixels)
            finally:
                page.close()
            yield result
    except pdfium.PdfiumError as exc:
        raise NotAnImageError(f"The PDF cannot be rendered ({exc}).") from None
    finally:
        pdf.close()


def _text_layer(page: pdfium.PdfPage, height_pt: float, scale: float) -> list[TextRun]:
    """Read the page's text runs with their boxes; empty when the page has no usable text."""
    textpage = page.get_textpage()
    try:
        if textpage.count_chars() == 0:
            return []
        runs = []
        for i in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(i)
            text = " ".join(textpage.get_text_bounded(left, bottom, right, top).split())
            if not text:
                continue
            x0, x1 = round(left * scale), round(right * scale)
            y0, y1 = round((height_pt - top) * scale), round((height_pt - bottom) * scale)
            runs.append(TextRun(text, [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]))
        return runs
    finally:
        textpage.close()


def _tiff_pages(data: bytes, limits: DocumentLimits) -> Iterator[Page]:
    try:
        with Image.open(io.BytesIO(data), formats=["TIFF"]) as image:
            _check_count(image.n_frames, limits)
            sizes = []
            for index in range(image.n_frames):
                image.seek(index)  # reads the frame's header only
                sizes.append(image.size)
            _check_sizes(sizes, limits)
            for index in range(image.n_frames):
                image.seek(index)
                image.load()
                pixels = pil_to_bgr(image)
                yield Page(index + 1, image.n_frames, pixels.shape[1], pixels.shape[0], pixels=pixels)
    except ImageError:
        raise
    except Exception as exc:
        raise NotAnImageError("The TIFF data is truncated or corrupt.") from exc


@dataclass(frozen=True)
class PageResult:
    """The lines of one page, and where they came from: ``ocr`` or the PDF's ``text-layer``."""

    number: int
    width: int
    height: int
    source: str
    lines: list[TextLine]


@dataclass(frozen=True)
class DocumentResult:
    """Every page of a document, in order, and the time the whole document took (seconds)."""

    pages: list[PageResult]
    seconds: float


def read_document(
    engine: OcrEngine,
    data: bytes,
    options: OcrOptions | None = None,
    limits: DocumentLimits | None = None,
    on_page: Callable[[PageResult, int], None] | None = None,
) -> DocumentResult:
    """OCR every page of a PDF or multi-page TIFF (text-layer pages are taken as they are).

    ``options.time_budget`` bounds the whole document: each page gets what is left of it. *on_page* is
    called after each page with the page's result and the number of pages (for progress reporting).
    """
    options = options or OcrOptions()
    started = time.perf_counter()
    pages: list[PageResult] = []
    for page in iter_pages(data, limits):
        if page.text is not None:
            lines = [TextLine(text=run.text, confidence=1.0, box=run.box) for run in page.text]
            result = PageResult(page.number, page.width, page.height, "text-layer", lines)
        else:
            budget = options.time_budget
            if budget is not None:
                budget -= time.perf_counter() - started
                if budget <= 0:
                    raise TimeBudgetError(
                        f"The document took longer than its time budget of {options.time_budget:g} s "
                        f"and was stopped at page {page.number} of {page.count}."
                    )
            ocr = engine.run(page.pixels, replace(options, time_budget=budget))
            result = PageResult(page.number, ocr.width, ocr.height, "ocr", ocr.lines)
        pages.append(result)
        if on_page is not None:
            on_page(result, page.count)
    return DocumentResult(pages, time.perf_counter() - started)
