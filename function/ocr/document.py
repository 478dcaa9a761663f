"""Multi-page documents: PDF (rendered with pypdfium2) and multi-page TIFF, split into pages for OCR.

Every limit is checked before pixels are allocated: the page count (a document over ``max_pages`` is
refused whole, never truncated), each page's pixels at the rendering resolution, and the total pixels of
all pages. A PDF page that carries a text layer is returned with that text (and its boxes, in the pixel
coordinates of the rendered page) instead of pixels, so it need not be OCRed.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import pypdfium2 as pdfium
from PIL import Image

from .decode import pil_to_bgr
from .errors import EmptyImageError, ImageError, ImageTooLargeError, NotAnImageError

DEFAULT_DPI = 200
DEFAULT_MAX_PAGES = 50
DEFAULT_MAX_TOTAL_PIXELS = 400_000_000
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")


class TooManyPagesError(ImageError):
    """The document has more pages than the configured cap."""

    code = "too_many_pages"


@dataclass(frozen=True)
class TextRun:
    """A piece of a page's text layer and its box (TL, TR, BR, BL in pixels of the rendered page)."""

    text: str
    box: list[list[int]]


@dataclass(frozen=True)
class Page:
    """One page: its size at the rendering resolution, and either its pixels (BGR) or its text layer."""

    number: int
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
    """Split a PDF or multi-page TIFF into pages (see the module docstring for the limits)."""
    limits = limits or DocumentLimits()
    kind = document_kind(data)
    if kind == "pdf":
        return _pdf_pages(data, limits)
    if kind == "tiff":
        return _tiff_pages(data, limits)
    raise NotAnImageError("The data is not a PDF or a multi-page TIFF.")


def _check_count(count: int, limits: DocumentLimits) -> None:
    if count == 0:
        raise EmptyImageError("The document has no pages.")
    if count > limits.max_pages:
        raise TooManyPagesError(f"The document has {count} pages; the limit is {limits.max_pages}.")


class _PixelBudget:
    """Running total of pixels across a document's pages."""

    def __init__(self, limits: DocumentLimits) -> None:
        self.limits = limits
        self.total = 0

    def take(self, number: int, width: int, height: int) -> None:
        pixels = width * height
        if width <= 0 or height <= 0:
            raise EmptyImageError(f"Page {number} has zero width or height.")
        if pixels > self.limits.max_page_pixels:
            raise ImageTooLargeError(
                f"Page {number} is {width}x{height} px; the limit is {self.limits.max_page_pixels:,} pixels."
            )
        self.total += pixels
        if self.total > self.limits.max_total_pixels:
            raise ImageTooLargeError(
                f"The pages add up to more than {self.limits.max_total_pixels:,} pixels (at page {number})."
            )


def _pdf_pages(data: bytes, limits: DocumentLimits) -> list[Page]:
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise NotAnImageError(f"The PDF cannot be read ({exc}).") from None
    try:
        _check_count(len(pdf), limits)
        scale = limits.dpi / 72.0
        budget = _PixelBudget(limits)
        pages = []
        for index in range(len(pdf)):
            page = pdf[index]
            try:
                width_pt, height_pt = page.get_size()
                width, height = math.ceil(width_pt * scale), math.ceil(height_pt * scale)
                budget.take(index + 1, width, height)
                runs = _text_layer(page, height_pt, scale) if limits.use_text_layer else None
                if runs:
                    pages.append(Page(index + 1, width, height, text=runs))
                    continue
                bitmap = page.render(scale=scale)
                pixels = np.ascontiguousarray(bitmap.to_numpy()[:, :, :3])
                pages.append(Page(index + 1, pixels.shape[1], pixels.shape[0], pixels=pixels))
            finally:
                page.close()
        return pages
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


def _tiff_pages(data: bytes, limits: DocumentLimits) -> list[Page]:
    try:
        with Image.open(io.BytesIO(data), formats=["TIFF"]) as image:
            _check_count(image.n_frames, limits)
            budget = _PixelBudget(limits)
            pages = []
            for index in range(image.n_frames):
                image.seek(index)
                budget.take(index + 1, *image.size)
                image.load()
                pixels = pil_to_bgr(image)
                pages.append(Page(index + 1, pixels.shape[1], pixels.shape[0], pixels=pixels))
            return pages
    except ImageError:
        raise
    except Exception as exc:
        raise NotAnImageError("The TIFF data is truncated or corrupt.") from exc
