"""Documents read page by page: each page OCRed, or its PDF text layer taken as it is.

:mod:`.pages` splits a PDF or multi-page TIFF into pages (in the engine's decoder: in-process, or in
the server's decoder process); this module OCRs them within one time budget for the whole document.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field, replace

from .engine import OcrEngine, OcrOptions, OcrResult, TextLine
from .errors import TimeBudgetError
from .pages import DocumentLimits, PageSelection, document_kind


@dataclass(frozen=True)
class PageResult:
    """The lines of one page, and where they came from: ``ocr`` or the PDF's ``text-layer``.

    ``angle`` is how far the page's content was turned clockwise (0/90/180/270): as found by the page
    orientation step, or a text-layer page's ``/Rotate``; ``None`` when the orientation step was off.
    Boxes are always in the pixels of the page as given. ``dpi`` is the page's resolution when known.
    ``timings`` holds the OCR stages' seconds (empty for a text-layer page).
    """

    number: int
    width: int
    height: int
    source: str
    lines: list[TextLine]
    angle: int | None = None
    dpi: float | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of_image(cls, result: OcrResult) -> PageResult:
        """Treat a single image's result as page 1 of 1 (for outputs that are made of pages, like hOCR)."""
        return cls(1, result.width, result.height, "ocr", result.lines, result.angle, None, result.timings)


@dataclass(frozen=True)
class DocumentResult:
    """Every page of a document, in order, and the time the whole document took (seconds)."""

    pages: list[PageResult]
    seconds: float


def reading_plan(
    data: bytes, options: OcrOptions, orient_page: bool | None = None, pages: PageSelection | None = None
) -> tuple[bool, OcrOptions]:
    """Decide how *data* is read: whether it is a document (PDF, multi-page TIFF) and with which options.

    *orient_page* ``None`` turns document pages upright and reads a single image as it is. A single image
    is page 1 of 1, so a *pages* selection beyond page 1 raises what any page out of range raises. Every
    entry point (HTTP API, events, command line) reads a file through this one decision.
    """
    document = document_kind(data) is not None
    options = replace(options, orient_page=document if orient_page is None else orient_page)
    if not document and pages is not None:
        pages.pick(1)
    return document, options


def read_document(
    engine: OcrEngine,
    data: bytes,
    options: OcrOptions | None = None,
    limits: DocumentLimits | None = None,
    on_page: Callable[[PageResult, int], None] | None = None,
    pages: PageSelection | None = None,
) -> DocumentResult:
    """OCR every page of a PDF or multi-page TIFF (text-layer pages are taken as they are).

    Without *options*, pages are turned upright before OCR (``OcrOptions(orient_page=True)``).
    ``options.time_budget`` bounds the whole document: each page gets what is left of it. *on_page* is
    called after each page with the page's result and the number of pages being read (for progress
    reporting). *pages* reads only those pages (numbers in the results stay the document's).
    """
    options = options or OcrOptions(orient_page=True)
    limits = limits or DocumentLimits()
    started = time.perf_counter()
    deadline = None if options.time_budget is None else time.monotonic() + options.time_budget
    done: list[PageResult] = []
    source = engine.decoder.pages(data, limits, options.words, pages, deadline)
    with closing(source):  # a decoder holding a process for this document gets it back at once
        while True:
            try:
                page = next(source, None)
            except TimeoutError:
                raise _over_budget(options.time_budget, f"while reading page {len(done) + 1}") from None
            if page is None:
                break
            if page.text is not None:
                lines = [TextLine(run.text, 1.0, run.box, run.words) for run in page.text]
                result = PageResult(
                    page.number, page.width, page.height, "text-layer", lines, page.rotation, page.dpi
                )
            else:
                budget = options.time_budget
                if budget is not None:
                    budget -= time.perf_counter() - started
                    if budget <= 0:
                        raise _over_budget(options.time_budget, f"at page {page.number} of {page.count}")
                ocr = engine.run(page.pixels, replace(options, time_budget=budget))
                result = PageResult(
                    page.number, ocr.width, ocr.height, "ocr", ocr.lines, ocr.angle, page.dpi, ocr.timings
                )
            done.append(result)
            if on_page is not None:
                on_page(result, page.reading)
    return DocumentResult(done, time.perf_counter() - started)


def _over_budget(seconds: float | None, where: str) -> TimeBudgetError:
    return TimeBudgetError(
        f"The document took longer than its time budget of {seconds or 0:g} s and was stopped {where}."
    )
