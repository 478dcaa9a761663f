"""Multi-page documents split into pages: PDF (rendered with pypdfium2) and multi-page TIFF.

Every limit is checked before pixels are allocated: the page count (a document over ``max_pages`` is
refused whole, never truncated; counting stops as soon as the cap is passed), each page's pixels at the
rendering resolution, and the total pixels of all pages. A PDF page that carries a text layer is
returned with that text (and its boxes, in the pixel coordinates of the rendered page; see
:mod:`.pdf_text`) instead of pixels, so it need not be OCRed.

This is the decoding side of documents: it needs no models, and the server runs it in its decoder
process (:mod:`.sandbox`); :mod:`.document` OCRs the pages.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import pypdfium2 as pdfium
from PIL import Image

from .decode import pil_to_bgr
from .errors import (
    EmptyImageError,
    ImageError,
    ImageTooLargeError,
    NotAnImageError,
    PageRangeError,
    TooManyPagesError,
)
from .pdf_text import TextRun, read_text_layer

DEFAULT_DPI = 200
DEFAULT_MAX_PAGES = 50
DEFAULT_MAX_TOTAL_PIXELS = 400_000_000
DEFAULT_MAX_PAGE_CHARS = 100_000
#: With a page selection the whole TIFF is counted, up to this many times the page cap.
COUNTED_PAGES_FACTOR = 20
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


@dataclass(frozen=True)
class Page:
    """One page, ``number`` of ``count`` in the document: its size, and its pixels (BGR) or its text layer.

    ``reading`` is how many pages this read yields (``count``, or fewer when pages were selected).

    ``dpi`` is the resolution of the pixels when known (the rendering resolution of a PDF, the TIFF's tag).
    ``rotation`` is a text-layer page's ``/Rotate`` (clockwise degrees): how far its text is turned.
    """

    number: int
    count: int
    width: int
    height: int
    pixels: np.ndarray | None = None
    text: list[TextRun] | None = None
    dpi: float | None = None
    rotation: int = 0
    reading: int = 0


@dataclass(frozen=True)
class DocumentLimits:
    """Resolution and bounds for one document (``max_page_chars``: characters a text layer may have)."""

    dpi: int = DEFAULT_DPI
    max_pages: int = DEFAULT_MAX_PAGES
    max_page_pixels: int = 40_000_000
    max_total_pixels: int = DEFAULT_MAX_TOTAL_PIXELS
    use_text_layer: bool = True
    max_page_chars: int = DEFAULT_MAX_PAGE_CHARS


#: The most page numbers a selection may name (ranges are not expanded beyond the document's pages).
MAX_SELECTION_PARTS = 100


@dataclass(frozen=True)
class PageSelection:
    """Which pages of a document to read: 1-based, inclusive ranges such as ``1-3,7,10-``."""

    ranges: tuple[tuple[int, int | None], ...]

    @classmethod
    def parse(cls, text: str) -> PageSelection:
        """Parse ``"2"``, ``"1-3,7"`` or ``"5-"`` (to the end); a malformed one raises ``ValueError``."""
        parts = [part.strip() for part in text.split(",")]
        if not text.strip() or len(parts) > MAX_SELECTION_PARTS:
            raise ValueError(f"name pages as 1-3,7 or 5- (at most {MAX_SELECTION_PARTS} parts)")
        ranges: list[tuple[int, int | None]] = []
        for part in parts:
            first, dash, last = part.partition("-")
            try:
                start = int(first)
                end = (int(last) if last.strip() else None) if dash else start
            except ValueError:
                raise ValueError(f"{part!r} is not a page number or range such as 1-3 or 5-") from None
            if start < 1 or (end is not None and end < start):
                raise ValueError(f"{part!r}: pages count from 1 and a range must not run backwards")
            ranges.append((start, end))
        return cls(tuple(ranges))

    def pick(self, count: int) -> list[int]:
        """Return the 0-based indices of the selected pages of a *count*-page document, in order."""
        for start, _ in self.ranges:
            if start > count:
                pages = _pages(count)
                raise PageRangeError(f"Page {start} was asked for, but the document has {pages}.")
        chosen: set[int] = set()
        for start, end in self.ranges:
            chosen.update(range(start - 1, min(end or count, count)))
        return sorted(chosen)

    def __str__(self) -> str:
        """Give the selection back in the syntax it was parsed from."""
        return ",".join(str(a) if b == a else f"{a}-{'' if b is None else b}" for a, b in self.ranges)


def document_kind(data: bytes) -> str | None:
    """``"pdf"`` or ``"tiff"`` (a TIFF with more than one page) for documents; ``None`` for single images.

    Decided from the first bytes and the TIFF's first directory alone: constant time whatever the file.
    """
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF-"):
        return "pdf"
    if data[:4] in _TIFF_MAGIC:
        return "tiff" if _tiff_next_directory(data) else None
    return None


def _tiff_next_directory(data: bytes) -> int:
    """Offset of a TIFF's second image file directory (0 for a single-page TIFF or unreadable header)."""
    order = "<" if data[:2] == b"II" else ">"
    big = data[2:4] in (b"+\x00", b"\x00+")
    offset_format, count_format, entry = (
        (order + "Q", order + "Q", 20) if big else (order + "I", order + "H", 12)
    )
    try:
        (first,) = struct.unpack_from(offset_format, data, 8 if big else 4)
        (entries,) = struct.unpack_from(count_format, data, first)
        (following,) = struct.unpack_from(
            offset_format, data, first + struct.calcsize(count_format) + entries * entry
        )
    except struct.error:
        return 0
    return following


def load_pages(
    data: bytes, limits: DocumentLimits | None = None, words: bool = True, pages: PageSelection | None = None
) -> list[Page]:
    """Split a PDF or multi-page TIFF into pages, all at once (see :func:`iter_pages`)."""
    return list(iter_pages(data, limits, words, pages))


def iter_pages(
    data: bytes, limits: DocumentLimits | None = None, words: bool = True, pages: PageSelection | None = None
) -> Iterator[Page]:
    """Yield the pages of a PDF or multi-page TIFF one at a time, so only one is in memory.

    The page count and every page's size are checked against the limits before the first page is
    rendered, so an oversized document is refused before any work is done on it. *words* says whether
    text-layer runs carry their words (reading every character's box costs time and memory). *pages*
    reads only those pages; the page cap then applies to how many are selected.
    """
    limits = limits or DocumentLimits()
    kind = document_kind(data)
    if kind == "pdf":
        yield from _pdf_pages(data, limits, words, pages)
    elif kind == "tiff":
        yield from _tiff_pages(data, limits, pages)
    else:
        raise NotAnImageError("The data is not a PDF or a multi-page TIFF.")


def _select(count: int, limits: DocumentLimits, pages: PageSelection | None, exact: bool = True) -> list[int]:
    """Return the 0-based indices to read: the selection (or every page), refused whole beyond the cap.

    *exact* ``False`` means counting stopped early: the document has more than *count* - 1 pages.
    """
    if count == 0:
        raise EmptyImageError("The document has no pages.")
    if not exact:
        raise TooManyPagesError(
            f"The document has more than {_pages(count - 1)}; the limit is {_pages(limits.max_pages)}."
        )
    chosen = list(range(count)) if pages is None else pages.pick(count)
    if len(chosen) > limits.max_pages:
        which = "The document has" if pages is None else f"The selection {pages} names"
        raise TooManyPagesError(f"{which} {_pages(len(chosen))}; the limit is {_pages(limits.max_pages)}.")
    return chosen


def _pages(count: int) -> str:
    """``1 page``, ``2 pages``."""
    return "1 page" if count == 1 else f"{count} pages"


def _check_sizes(sizes: list[tuple[int, tuple[int, int]]], limits: DocumentLimits) -> None:
    """Refuse a page with no pixels or too many, and pages that add up to too many (``(number, size)``)."""
    total = 0
    for number, (width, height) in sizes:
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


#: What pdfium's load error codes (FPDF_ERR_*) tell the sender; other codes mean damage.
_PDF_LOAD_ERRORS = {
    2: "it is damaged or not a PDF",
    3: "it is damaged or not a PDF",
    4: "it is encrypted with a password",
    5: "it uses an unsupported security handler",
}


def _pdf_pages(
    data: bytes, limits: DocumentLimits, words: bool, pages: PageSelection | None
) -> Iterator[Page]:
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        reason = _PDF_LOAD_ERRORS.get(getattr(exc, "err_code", None), "it is damaged or not a PDF")
        raise NotAnImageError(f"The PDF cannot be read: {reason}.") from None
    try:
        count = len(pdf)
        chosen = _select(count, limits, pages)
        scale = limits.dpi / 72.0
        points = {i: pdf.get_page_size(i) for i in chosen}
        _check_sizes(
            [(i + 1, (math.ceil(w * scale), math.ceil(h * scale))) for i, (w, h) in points.items()], limits
        )
        for index, (width_pt, height_pt) in points.items():
            page = pdf[index]
            try:
                width, height = math.ceil(width_pt * scale), math.ceil(height_pt * scale)
                runs = (
                    read_text_layer(page, index + 1, width, height, words, limits.max_page_chars)
                    if limits.use_text_layer
                    else None
                )
                if runs:
                    rotation = page.get_rotation()
                    result = Page(
                        index + 1, count, width, height, text=runs, dpi=limits.dpi, rotation=rotation
                    )
                else:
                    pixels = np.ascontiguousarray(page.render(scale=scale).to_numpy()[:, :, :3])
                    h, w = pixels.shape[:2]
                    result = Page(index + 1, count, w, h, pixels=pixels, dpi=limits.dpi)
                result = replace(result, reading=len(chosen))
            finally:
                page.close()
            yield result
    except pdfium.PdfiumError:
        raise NotAnImageError("The PDF cannot be rendered: a page is damaged.") from None
    finally:
        pdf.close()


def _tiff_pages(data: bytes, limits: DocumentLimits, pages: PageSelection | None) -> Iterator[Page]:
    try:
        with Image.open(io.BytesIO(data), formats=["TIFF"]) as image:
            cap = limits.max_pages if pages is None else limits.max_pages * COUNTED_PAGES_FACTOR
            count = _count_frames(image, cap)
            chosen = _select(count, limits, pages, exact=count <= cap)
            sizes = []
            for index in chosen:
                image.seek(index)  # reads the frame's header only
                sizes.append((index + 1, image.size))
            _check_sizes(sizes, limits)
            for index in chosen:
                image.seek(index)
                image.load()
                pixels = pil_to_bgr(image)
                h, w = pixels.shape[:2]
                dpi = _tiff_dpi(image)
                yield Page(index + 1, count, w, h, pixels=pixels, dpi=dpi, reading=len(chosen))
    except ImageError:
        raise
    except Exception as exc:
        raise NotAnImageError("The TIFF data is truncated or corrupt.") from exc


def _count_frames(image: Image.Image, cap: int) -> int:
    """Count a TIFF's frames by seeking, stopping at *cap* + 1 (Pillow's own count reads every frame)."""
    count = 1
    while count <= cap:
        try:
            image.seek(count)
        except EOFError:
            break
        count += 1
    return count


def _tiff_dpi(image: Image.Image) -> float | None:
    """Read the frame's resolution (dots per inch) from its own tags; ``None`` when absent or implausible."""
    tags = getattr(image, "tag_v2", {})
    try:
        value = float(tags.get(282, 0))  # XResolution
    except (TypeError, ValueError):
        return None
    unit = tags.get(296, 2)  # ResolutionUnit: 2 inch (the default), 3 centimetre, 1 none
    if unit == 3:
        value *= 2.54
    elif unit != 2:
        return None
    return round(value, 2) if 10 <= value <= 10_000 else None
