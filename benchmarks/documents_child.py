"""One engine reading one document in a process of its own: the child side of ``documents.py``.

``documents.py`` starts this script once per (engine, document) pair, so memory peaks do not mix. It loads
the models, reads a one-page warm-up PDF (a page not in the document) :data:`WARMUP_READS` times, notes the
RSS, resets the peak RSS (``/proc/self/clear_refs``), reads the document page by page, then notes the peak
(``getrusage(RUSAGE_SELF).ru_maxrss``) and the RSS after every page, and writes a :class:`DocumentRun` as
JSON to ``--out``. Engines: ocrfn's ``read_document``, and RapidOCR 1.4.4 on pages rendered by pypdfium2.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

import numpy as np  # noqa: E402
import pypdfium2 as pdfium  # noqa: E402

from benchmarks.documents_generate import A4_POINTS  # noqa: E402

ENGINES = ("ocrfn", "rapidocr")
#: The warm-up page is read twice: ocrfn's RSS still rises by about 100 MB on the second read of the same
#: page (allocators settling), so one read would charge that to the document's first page.
WARMUP_READS = 2


# --------------------------------------------------------------------------------------------------------
# Memory accounting
# --------------------------------------------------------------------------------------------------------
def rss_mb() -> float:
    """The current resident set size of this process in MB (``VmRSS``)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for row in status:
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS in /proc/self/status")


def peak_rss_mb() -> float:
    """The peak resident set size of this process in MB (``ru_maxrss``, which Linux gives in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak_rss() -> bool:
    """Reset the peak RSS to the current RSS (Linux ≥ 4.0); ``False`` when the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------------------------------------
# The two pipelines (each runs in its own child process)
# --------------------------------------------------------------------------------------------------------
@dataclass
class PageOutcome:
    """One page as an engine returned it: text lines, their source, and what else the engine reports."""

    lines: list[str]
    source: str
    render_seconds: float | None = None
    angle: int | None = None
    timings: dict[str, float] = field(default_factory=dict)


#: Called by a pipeline after each page.
PageDone = Callable[[PageOutcome], None]


@dataclass
class DocumentRun:
    """What one engine did with one document in one fresh process."""

    engine: str
    document: str
    model: str
    pages: int
    load_seconds: float
    warmup_seconds: float
    total_seconds: float
    page_seconds: list[float]
    render_seconds: list[float]
    sources: list[str]
    angles: list[int | None]
    stage_seconds: list[dict[str, float]]
    options: str
    rss_loaded_mb: float
    rss_before_mb: float
    peak_before_mb: float
    peak_mb: float
    peak_reset: bool
    rss_after_page_mb: list[float]
    lines: list[list[str]]
    #: ocrfn with ``--repeat-document``: the seconds and the RSS after each page of every further pass.
    extra_pass_seconds: list[float] = field(default_factory=list)
    extra_pass_rss_mb: list[list[float]] = field(default_factory=list)
    peak_all_passes_mb: float | None = None


@dataclass(frozen=True)
class ChildJob:
    """What a child process is asked to do: one engine, one document, and the settings."""

    pdf: Path
    warmup: Path
    document: str
    threads: int
    dpi: int
    pages: int
    orient_page: str
    passes: int


def _measure(
    engine: str,
    document: str,
    model: str,
    options: str,
    load: float,
    warmup: Callable[[], None],
    read: Callable[[PageDone], None],
) -> DocumentRun:
    """Warm up, reset the peak RSS, then time ``read`` page by page; ``read`` calls back after each page."""
    rss_loaded = rss_mb()
    started = time.perf_counter()
    for _ in range(WARMUP_READS):
        warmup()
    warmup_seconds = time.perf_counter() - started
    rss_before, peak_before = rss_mb(), peak_rss_mb()
    reset = reset_peak_rss()
    stamps: list[float] = []
    rss_pages: list[float] = []
    outcomes: list[PageOutcome] = []

    def page_done(outcome: PageOutcome) -> None:
        stamps.append(time.perf_counter())
        rss_pages.append(rss_mb())
        outcomes.append(outcome)

    start = time.perf_counter()
    read(page_done)
    total = time.perf_counter() - start
    edges = [start, *stamps]
    return DocumentRun(
        engine=engine,
        document=document,
        model=model,
        pages=len(stamps),
        load_seconds=load,
        warmup_seconds=warmup_seconds,
        total_seconds=total,
        page_seconds=[b - a for a, b in itertools.pairwise(edges)],
        render_seconds=[o.render_seconds for o in outcomes if o.render_seconds is not None],
        sources=[o.source for o in outcomes],
        angles=[o.angle for o in outcomes],
        stage_seconds=[o.timings for o in outcomes],
        options=options,
        rss_loaded_mb=rss_loaded,
        rss_before_mb=rss_before,
        peak_before_mb=peak_before,
        peak_mb=peak_rss_mb(),
        peak_reset=reset,
        rss_after_page_mb=rss_pages,
        lines=[o.lines for o in outcomes],
    )


def run_ocrfn(job: ChildJob) -> DocumentRun:
    """Read the PDF with ocrfn's ``read_document`` (default model set, limits at the job's dpi).

    ``orient_page`` ``default`` passes no options (``read_document``'s own defaults, as the function
    uses them); ``on``/``off`` pass ``OcrOptions(orient_page=...)``. With ``passes`` above 1 the same
    process reads the document again that many times, recording only time and RSS: a process whose memory
    is bounded stops growing once it has seen every page.
    """
    from function.ocr import OcrEngine, OcrOptions, load_model_set
    from function.ocr.document import read_document
    from function.ocr.pages import DocumentLimits

    started = time.perf_counter()
    models = load_model_set()
    engine = OcrEngine(models, threads=job.threads)
    load = time.perf_counter() - started
    limits = _limits(DocumentLimits, job.dpi, job.pages)
    forced = job.orient_page == "on"
    options = None if job.orient_page == "default" else OcrOptions(orient_page=forced)
    described = "read_document's defaults" if options is None else f"OcrOptions(orient_page={forced})"
    data, warm = job.pdf.read_bytes(), job.warmup.read_bytes()

    def read(page_done: PageDone) -> None:
        def on_page(result: Any, _count: int) -> None:
            # angle and timings are newer fields of PageResult; older versions lack them.
            page_done(
                PageOutcome(
                    lines=[line.text for line in result.lines],
                    source=result.source,
                    angle=getattr(result, "angle", None),
                    timings=dict(getattr(result, "timings", None) or {}),
                )
            )

        read_document(engine, data, options, limits, on_page=on_page)

    run = _measure(
        "ocrfn",
        job.document,
        models.name,
        described,
        load,
        lambda: read_document(engine, warm, options, limits),
        read,
    )
    for _ in range(job.passes - 1):
        rss: list[float] = []
        run.extra_pass_rss_mb.append(rss)
        # Keep only the time: holding on to a pass's result would add its size to the next pass's RSS.
        run.extra_pass_seconds.append(
            read_document(engine, data, options, limits, on_page=_record_rss(rss)).seconds
        )
    if job.passes > 1:
        run.peak_all_passes_mb = peak_rss_mb()
    return run


def _record_rss(samples: list[float]) -> Callable[[Any, int], None]:
    """An ``on_page`` callback that appends the RSS after each page to ``samples``."""

    def on_page(_page: Any, _count: int) -> None:
        samples.append(rss_mb())

    return on_page


def _limits(limits_type: Any, dpi: int, pages: int) -> Any:
    """``DocumentLimits`` at ``dpi``, raised (only) where ``pages`` A4 pages at ``dpi`` would exceed them."""
    default = limits_type(dpi=dpi)
    width, height = (math.ceil(v * dpi / 72) for v in A4_POINTS)
    return limits_type(
        dpi=dpi,
        max_pages=max(default.max_pages, pages),
        max_page_pixels=max(default.max_page_pixels, width * height),
        max_total_pixels=max(default.max_total_pixels, pages * width * height),
    )


def run_rapidocr(job: ChildJob) -> DocumentRun:
    """Render each page with pypdfium2 at the job's dpi and run RapidOCR's default pipeline on the pixels."""
    from benchmarks.compare_rapidocr import make_rapidocr

    started = time.perf_counter()
    engine = make_rapidocr(job.threads)
    load = time.perf_counter() - started
    scale = job.dpi / 72.0

    def read_pdf(data: bytes, limit: int, page_done: PageDone | None) -> None:
        document = pdfium.PdfDocument(data)
        try:
            for index in range(min(limit, len(document))):
                t0 = time.perf_counter()
                page = document[index]
                try:
                    # pdfium renders BGR(x); RapidOCR takes a 3-channel array as BGR, like cv2.imread.
                    pixels = np.ascontiguousarray(page.render(scale=scale).to_numpy()[:, :, :3])
                finally:
                    page.close()
                render = time.perf_counter() - t0
                result, elapsed = engine(pixels)
                if page_done is not None:
                    # result: [[box, text, score], ...] or None; elapsed: [det, cls, rec] seconds or None.
                    stages = dict(zip(("detect", "classify", "recognize"), elapsed or (), strict=False))
                    page_done(PageOutcome([item[1] for item in result or []], "ocr", render, None, stages))
        finally:
            document.close()

    data, warm = job.pdf.read_bytes(), job.warmup.read_bytes()
    return _measure(
        "rapidocr",
        job.document,
        "PP-OCRv4 mobile",
        "RapidOCR() defaults",
        load,
        lambda: read_pdf(warm, 1, None),
        lambda page_done: read_pdf(data, job.pages, page_done),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run one engine on one document in this process and write the :class:`DocumentRun` as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("engine", choices=ENGINES)
    parser.add_argument("--pdf", type=Path, required=True, help="the document")
    parser.add_argument("--warmup-pdf", type=Path, required=True, help="a one-page PDF read before it")
    parser.add_argument("--document", default="scanned", help="the document's name in the report")
    parser.add_argument("--pages", type=int, required=True, help="pages to read")
    parser.add_argument("--out", type=Path, required=True, help="where the DocumentRun JSON goes")
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads")
    parser.add_argument("--dpi", type=int, default=200, help="rendering resolution")
    parser.add_argument("--orient-page", choices=("default", "on", "off"), default="default")
    parser.add_argument("--passes", type=int, default=1, help="ocrfn: read the document this many times")
    args = parser.parse_args(argv)
    runner = run_ocrfn if args.engine == "ocrfn" else run_rapidocr
    job = ChildJob(
        pdf=args.pdf,
        warmup=args.warmup_pdf,
        document=args.document,
        threads=args.threads,
        dpi=args.dpi,
        pages=args.pages,
        orient_page=args.orient_page,
        passes=args.passes,
    )
    args.out.write_text(json.dumps(runner(job).__dict__), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
