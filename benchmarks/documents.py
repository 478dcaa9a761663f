"""Multi-page documents: a 50-page scanned PDF through ocrfn and through RapidOCR 1.4.4, in the same run.

The documents are generated here, deterministically (``--seed``), and written once to a temporary directory,
so both engines read the same bytes:

* **scanned PDF**: ``--pages`` A4 pages that are only images (no text layer), as a scanner writes them: a
  heading, paragraphs of Chinese, English and mixed text (the vocabulary of ``model/synth.py``) and a page
  footer, drawn with the Debian CJK fonts at 10-12 pt, then slightly rotated, blurred, noised, shaded and
  stored as JPEG at 200 dpi;
* **text-layer PDF**: the same number of A4 pages of Helvetica text (real text objects), written by hand.
  Only ocrfn runs it: it is there to show the text-layer fast path (RapidOCR reads no PDF at all).

Pipelines, with the same number of intra-op threads (``--threads``, default 2 = the Knative CPU limit):

* ocrfn: ``function.ocr.document.read_document`` with the shipped default model set and
  ``DocumentLimits(dpi=--dpi)``; per-page times come from its ``on_page`` callback;
* RapidOCR: each page rendered with pypdfium2 at the same dpi, then ``RapidOCR()(bgr_array)``.

Every (engine, document) pair runs in a fresh process, one after the other, so memory peaks do not mix. In
each process: load the models, read a one-page warm-up PDF (a page not in the document) twice, note the
RSS, reset the peak RSS (``/proc/self/clear_refs``), read the document, then note the peak
(``getrusage(RUSAGE_SELF).ru_maxrss``) and the RSS after every page. ``--repeat-document N`` makes ocrfn's
process read the document N times, to tell a high-water mark from growth per page. The share of the CPUs
used by other processes while each child ran is printed too (``/proc/stat`` minus the child's own CPU time).
Both engines' text is scored against the drawn text (line recall and character F1, as in
``benchmarks/scoring.py``) so a fast but blind run shows up.

RapidOCR reads only the first ``--peer-pages`` pages (default 25; 0 = all): it takes several seconds per
A4 page, and 50 of them would stretch the default run past 6 minutes on 2 cores. ocrfn always reads the
whole document, and the output also gives both engines' medians on the pages both read. The output is a
markdown block for BENCHMARKS.md.

Examples (from the repository root)::

    python3 benchmarks/documents.py
    python3 benchmarks/documents.py --peer-pages 0 --json /tmp/documents.json   # RapidOCR on all 50
    python3 benchmarks/documents.py --only ocrfn --pages 10 --dpi 300
    python3 benchmarks/documents.py --rounds 2     # both engines twice, alternating which goes first
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import io
import itertools
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
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
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from benchmarks.evaluate import machine_info, markdown_table, ms, pct  # noqa: E402
from benchmarks.scoring import PageScore, page_metrics, score_page  # noqa: E402
from tests.pdfs import assemble_pdf  # noqa: E402

DEFAULT_SEED = 20261124
#: A4 in PDF points (1/72 inch).
A4_POINTS = (595.28, 841.89)
#: The resolution the "scanner" writes the page images at.
SCAN_DPI = 200
ENGINES = ("ocrfn", "rapidocr")
#: The warm-up page is read twice: ocrfn's RSS still rises by about 100 MB on the second read of the same
#: page (allocators settling), so one read would charge that to the document's first page.
WARMUP_READS = 2
#: RapidOCR takes 3-7 s per A4 page at 200 dpi on 2 cores (the slow end when another process shares them):
#: half the document keeps the default run under 5 minutes even then.
DEFAULT_PEER_PAGES = 25
PEER_LABEL = "RapidOCR"


# --------------------------------------------------------------------------------------------------------
# Generated documents
# --------------------------------------------------------------------------------------------------------
def _synth() -> Any:
    """Import ``model/synth.py`` (a sibling script, not a package) for its vocabulary and font list."""
    model_dir = str(_REPO / "model")
    if model_dir not in sys.path:
        sys.path.insert(0, model_dir)
    import synth

    synth.check_fonts()
    return synth


class _Fonts:
    """Load each (face, size) once."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int, int], ImageFont.FreeTypeFont] = {}

    def get(self, face: Any, size: int) -> ImageFont.FreeTypeFont:
        """Return ``face`` (a ``synth.FontFace``) at ``size`` pixels."""
        key = (face.path, face.index, size)
        if key not in self._cache:
            self._cache[key] = ImageFont.truetype(face.path, size, index=face.index)
        return self._cache[key]


def _fill_line(
    rng: np.random.Generator,
    synth: Any,
    fits: Callable[[str], bool],
    accept: Callable[[str], bool] | None = None,
) -> str:
    """Join random phrases with spaces for as long as ``fits`` accepts the line (one phrase at least).

    ``accept`` filters the phrases (the text-layer PDF takes printable ASCII only). A first phrase that does
    not fit on its own is cut to fit.
    """
    text = ""
    for _ in range(200):
        piece, _ = synth.random_text(rng)
        if accept is not None and not accept(piece):
            continue
        candidate = f"{text} {piece}" if text else piece
        if fits(candidate):
            text = candidate
            continue
        if not text:
            while piece and not fits(piece):
                piece = piece[:-1]
            text = piece.strip()
        break
    return text


def scan_page(seed: int, index: int, total: int) -> tuple[Image.Image, list[str]]:
    """Render page ``index`` of a scanned A4 document at :data:`SCAN_DPI`; return it and its text lines.

    The page depends only on ``(seed, index)`` and the installed fonts and library versions.
    """
    synth = _synth()
    rng = np.random.default_rng([seed, index])
    fonts = _Fonts()
    width = round(A4_POINTS[0] / 72 * SCAN_DPI)
    height = round(A4_POINTS[1] / 72 * SCAN_DPI)
    regular = [f for f in synth.FONTS if f.cjk and "Bold" not in f.path]
    bold = [f for f in synth.FONTS if f.cjk and "Bold" in f.path]
    body_px = round(float(rng.uniform(10.0, 12.0)) * SCAN_DPI / 72)
    body = fonts.get(regular[int(rng.integers(len(regular)))], body_px)
    heading = fonts.get(bold[int(rng.integers(len(bold)))], round(body_px * float(rng.uniform(1.4, 1.8))))
    footer = fonts.get(regular[0], round(body_px * 0.85))
    left = round(float(rng.uniform(0.75, 1.0)) * SCAN_DPI)
    top = round(float(rng.uniform(0.7, 1.0)) * SCAN_DPI)
    bottom = height - round(float(rng.uniform(0.8, 1.0)) * SCAN_DPI)
    column = width - 2 * left
    leading = round(body_px * float(rng.uniform(1.35, 1.65)))

    canvas = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(canvas)
    lines: list[str] = []
    title_width = column * float(rng.uniform(0.4, 0.8))
    title = _fill_line(rng, synth, lambda t: heading.getlength(t) <= title_width)
    draw.text((left, top), title, fill=0, font=heading)
    lines.append(title)
    y = top + round(heading.size * 2.2)
    while y + leading <= bottom:
        count = int(rng.integers(2, 9))
        for k in range(count):
            if y + leading > bottom:
                break
            indent = 2 * body_px if k == 0 else 0
            limit = (column - indent) * (float(rng.uniform(0.25, 0.9)) if k == count - 1 else 1.0)
            text = _fill_line(rng, synth, lambda t, limit=limit: body.getlength(t) <= limit)
            draw.text((left + indent, y), text, fill=0, font=body)
            lines.append(text)
            y += leading
        y += round(leading * float(rng.uniform(0.4, 1.0)))
    number = f"第 {index + 1} 页 / 共 {total} 页" if rng.random() < 0.5 else f"Page {index + 1} of {total}"
    draw.text(((width - footer.getlength(number)) / 2, bottom + 0.35 * SCAN_DPI), number, 0, font=footer)
    lines.append(number)

    # The scan: a slight skew, optics blur, uneven lighting, paper tint, ink that is not black, noise.
    canvas = canvas.rotate(
        float(rng.normal(0.0, 0.35)), resample=Image.Resampling.BICUBIC, fillcolor=255, expand=False
    )
    optics = float(rng.uniform(0.7, 0.9))  # the scanner's optics resolve less than its pixel pitch
    canvas = canvas.resize((round(width * optics), round(height * optics)), Image.Resampling.BOX)
    gray = np.asarray(canvas.resize((width, height), Image.Resampling.BILINEAR), np.float32) / 255.0
    ink = float(rng.uniform(15, 60))
    paper = np.float32(rng.uniform(228, 248)) + rng.normal(0, 3, 3).astype(np.float32)
    shade = np.linspace(1.0 - float(rng.uniform(0.0, 0.06)), 1.0, width, dtype=np.float32)[None, :, None]
    rgb = ink + (paper[None, None, :] - ink) * gray[:, :, None] * shade
    rgb += rng.standard_normal((height, width, 1), dtype=np.float32) * float(rng.uniform(2.0, 6.0))
    page = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    return page, lines


def scanned_pdf(path: Path, seed: int, first: int, count: int, total: int) -> tuple[list[list[str]], str]:
    """Write pages ``first .. first+count-1`` as an image-only PDF at ``path``.

    Each page image is encoded as JPEG once and embedded as it is (no re-encoding), at :data:`SCAN_DPI`, so
    the page is exactly A4. Pages are generated one at a time. Returns the pages' text lines and the
    SHA-256 of the page images (the PDF's own bytes differ between runs: pdfium writes a fresh file ID).
    """
    pdf = pdfium.PdfDocument.new()
    truth: list[list[str]] = []
    digest = hashlib.sha256()
    try:
        for index in range(first, first + count):
            image, lines = scan_page(seed, index, total)
            quality = 70 + (index * 7) % 21  # 70..90, varies by page like scanner settings
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=quality)
            digest.update(buffer.getvalue())
            buffer.seek(0)
            page = pdf.new_page(*A4_POINTS)
            picture = pdfium.PdfImage.new(pdf)
            picture.load_jpeg(buffer, inline=True)
            picture.set_matrix(pdfium.PdfMatrix().scale(*A4_POINTS))
            page.insert_obj(picture)
            page.gen_content()
            page.close()
            truth.append(lines)
        with path.open("wb") as out:
            pdf.save(out)
    finally:
        pdf.close()
    return truth, digest.hexdigest()


def _pdf_string(text: str) -> bytes:
    """Encode ``text`` as a PDF literal string (Latin-1, with ``\\``, ``(`` and ``)`` escaped)."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("latin-1") + b")"


def text_pages(seed: int, pages: int) -> list[list[str]]:
    """The lines of a text-layer document: a heading, ASCII lines of at most 72 characters, a footer."""
    synth = _synth()
    out: list[list[str]] = []

    def ascii_only(text: str) -> bool:
        return text.isascii() and text.isprintable()

    for index in range(pages):
        rng = np.random.default_rng([seed, 2_000_000 + index])
        heading = _fill_line(rng, synth, lambda t: len(t) <= 40, ascii_only)
        body = [_fill_line(rng, synth, lambda t: len(t) <= 72, ascii_only) for _ in range(44)]
        out.append([heading, *body, f"Page {index + 1} of {pages}"])
    return out


def text_pdf(pages: Sequence[Sequence[str]]) -> bytes:
    """A PDF with one A4 page per entry of ``pages``: real Helvetica text objects, 16 pt heading, 11 pt body.

    The first line of each page is the heading, the last the footer; written object by object with a
    cross-reference table, since pypdfium2 cannot add text in a standard font portably.
    """
    width, height = (round(v) for v in A4_POINTS)
    count = len(pages)
    # Objects: 1 catalog, 2 page tree, 3 font, then per page a page object and its content stream.
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, lines in enumerate(pages):
        head, *body, foot = lines
        ops = [b"BT /F1 16 Tf 64 %d Td " % (height - 80) + _pdf_string(head) + b" Tj ET"]
        ops.append(b"BT /F1 11 Tf 15 TL 64 %d Td" % (height - 120))
        ops += [_pdf_string(line) + b" '" for line in body]
        ops.append(b"ET")
        ops.append(b"BT /F1 9 Tf %d 40 Td " % (width // 2 - 30) + _pdf_string(foot) + b" Tj ET")
        content = b"\n".join(ops)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R >> >> >>" % (width, height, 5 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    return assemble_pdf(objects)


# --------------------------------------------------------------------------------------------------------
# Memory and CPU accounting
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


def cpu_seconds() -> tuple[float, float]:
    """Busy and steal seconds summed over all CPUs since boot (the ``cpu`` row of ``/proc/stat``)."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq) / hz, steal / hz


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


def child_main(args: argparse.Namespace) -> int:
    """Run one engine on one document in this process and write the :class:`DocumentRun` as JSON."""
    runner = run_ocrfn if args.child == "ocrfn" else run_rapidocr
    job = ChildJob(
        pdf=args.pdf,
        warmup=args.warmup_pdf,
        document=args.document,
        threads=args.threads,
        dpi=args.dpi,
        pages=args.child_pages,
        orient_page=args.orient_page,
        passes=args.child_passes,
    )
    run = runner(job)
    args.child_out.write_text(json.dumps(run.__dict__), encoding="utf-8")
    return 0


# --------------------------------------------------------------------------------------------------------
# The parent: generate, run the children, report
# --------------------------------------------------------------------------------------------------------
@dataclass
class ChildStats:
    """A child run and the machine around it: wall time, CPU used by others and stolen by the host."""

    run: DocumentRun
    wall_seconds: float
    others_share: float
    steal_share: float
    loadavg_before: float


def run_child(
    engine: str,
    document: str,
    pdf: Path,
    warmup: Path,
    pages: int,
    args: argparse.Namespace,
    tmp: Path,
    passes: int = 1,
) -> ChildStats:
    """Run ``engine`` on ``pdf`` in a fresh interpreter and collect its result and the machine's load."""
    out = tmp / f"{engine}-{document}-{time.monotonic_ns()}.json"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        engine,
        "--pdf",
        str(pdf),
        "--warmup-pdf",
        str(warmup),
        "--document",
        document,
        "--child-pages",
        str(pages),
        "--child-out",
        str(out),
        "--threads",
        str(args.threads),
        "--dpi",
        str(args.dpi),
        "--orient-page",
        args.orient_page,
        "--child-passes",
        str(passes),
    ]
    load = os.getloadavg()[0]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, steal0 = cpu_seconds()
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=_REPO)
    wall = time.perf_counter() - started
    busy1, steal1 = cpu_seconds()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    cpus = len(os.sched_getaffinity(0))
    run = DocumentRun(**json.loads(out.read_text(encoding="utf-8")))
    print(
        f"{engine} on the {document} PDF: {run.pages} pages in {run.total_seconds:.1f} s",
        file=sys.stderr,
    )
    return ChildStats(
        run=run,
        wall_seconds=wall,
        others_share=max(0.0, (busy1 - busy0 - own) / (wall * cpus)),
        steal_share=(steal1 - steal0) / (wall * cpus),
        loadavg_before=load,
    )


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, linearly interpolated between the closest ranks."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class EngineFigures:
    """One engine on one document, over all rounds: throughput, page latency, memory, accuracy."""

    pages: int
    rounds: int
    total_seconds: float
    pages_per_second: float
    median_ms: float
    p95_ms: float
    max_ms: float
    median_ms_first: float
    render_median_ms: float | None
    rss_loaded_mb: float
    rss_before_mb: float
    peak_mb: float
    growth_mb: float
    rss_first_page_mb: float
    rss_last_page_mb: float
    rss_pages_min_mb: float
    rss_pages_max_mb: float
    line_recall: float
    char_f1: float
    expected_lines: int
    found_lines: int
    others_share: float
    steal_share: float
    stage_median_ms: dict[str, float]
    angles: dict[str, int]
    options: str
    #: ``--repeat-document``: per further pass (seconds, RSS min, RSS max after its pages), and the peak.
    extra_passes: list[tuple[float, float, float]]
    peak_all_passes_mb: float | None


def figures(
    stats: Sequence[ChildStats], truth: Sequence[Sequence[str]], lang: str, first: int
) -> EngineFigures:
    """Aggregate one engine's runs of one document: totals by median, page times pooled, memory by max.

    ``first`` is the number of leading pages whose median is also reported (the peer's page count).
    """
    runs = [s.run for s in stats]
    pages = runs[0].pages
    total = statistics.median(r.total_seconds for r in runs)
    times = [t * 1000.0 for r in runs for t in r.page_seconds]
    head = [t * 1000.0 for r in runs for t in r.page_seconds[:first]]
    renders = [t * 1000.0 for r in runs for t in r.render_seconds]
    worst = max(runs, key=lambda r: r.peak_mb - r.rss_before_mb)
    scores: list[PageScore] = [
        score_page(f"p{i + 1}", lang, truth[i], lines, full=True) for i, lines in enumerate(runs[0].lines)
    ]
    metrics = page_metrics(scores)
    stages: dict[str, list[float]] = {}
    for run in runs:
        for page in run.stage_seconds:
            for stage, seconds in page.items():
                stages.setdefault(stage, []).append(seconds * 1000.0)
    angles: dict[str, int] = {}
    for angle in runs[0].angles:
        key = "not run" if angle is None else f"{angle}°"
        angles[key] = angles.get(key, 0) + 1
    return EngineFigures(
        pages=pages,
        rounds=len(runs),
        total_seconds=total,
        pages_per_second=pages / total,
        median_ms=statistics.median(times),
        p95_ms=percentile(times, 0.95),
        max_ms=max(times),
        median_ms_first=statistics.median(head),
        render_median_ms=statistics.median(renders) if renders else None,
        rss_loaded_mb=max(r.rss_loaded_mb for r in runs),
        rss_before_mb=worst.rss_before_mb,
        peak_mb=max(r.peak_mb for r in runs),
        growth_mb=worst.peak_mb - worst.rss_before_mb,
        rss_first_page_mb=worst.rss_after_page_mb[0],
        rss_last_page_mb=worst.rss_after_page_mb[-1],
        rss_pages_min_mb=min(worst.rss_after_page_mb),
        rss_pages_max_mb=max(worst.rss_after_page_mb),
        line_recall=metrics.line_recall,
        char_f1=metrics.char_f1,
        expected_lines=metrics.expected_lines,
        found_lines=metrics.found_lines,
        others_share=statistics.fmean(s.others_share for s in stats),
        steal_share=statistics.fmean(s.steal_share for s in stats),
        stage_median_ms={k: statistics.median(v) for k, v in stages.items()},
        angles=angles,
        options=runs[0].options,
        extra_passes=[
            (seconds, min(rss), max(rss))
            for seconds, rss in zip(runs[0].extra_pass_seconds, runs[0].extra_pass_rss_mb, strict=True)
        ],
        peak_all_passes_mb=runs[0].peak_all_passes_mb,
    )


def _mb(value: float) -> str:
    return f"{value:.0f} MB"


def _ratio(ours: float, theirs: float) -> str:
    return f"×{ours / theirs:.2f}" if theirs else "-"


def scanned_rows(ours: EngineFigures | None, theirs: EngineFigures | None) -> list[tuple[str, str, str, str]]:
    """Rows of the side-by-side table for the scanned PDF (a missing engine gets ``-``)."""
    both = ours is not None and theirs is not None

    def row(
        label: str,
        show: Callable[[EngineFigures], str],
        compare: Callable[[EngineFigures], float] | None = None,
    ) -> tuple[str, str, str, str]:
        """One metric for both engines; *compare* gives the number whose ratio is shown."""
        cells = ["-" if fig is None else show(fig) for fig in (ours, theirs)]
        ratio = "" if compare is None else (_ratio(compare(ours), compare(theirs)) if both else "-")
        return (label, cells[0], cells[1], ratio)

    same_pages = not both or ours.pages == theirs.pages
    rows = [
        row("Pages read", lambda f: str(f.pages)),
        row(
            "Total time",
            lambda f: f"{f.total_seconds:.1f} s",
            (lambda f: f.total_seconds) if same_pages else None,
        ),
        row("Pages/s", lambda f: f"{f.pages_per_second:.2f}", lambda f: f.pages_per_second),
        row("Median per page", lambda f: ms(f.median_ms), lambda f: f.median_ms),
        row("p95 per page", lambda f: ms(f.p95_ms), lambda f: f.p95_ms),
    ]
    if not same_pages:
        rows.append(
            row(
                f"Median per page, the same first {theirs.pages} pages",
                lambda f: ms(f.median_ms_first),
                lambda f: f.median_ms_first,
            )
        )
    if theirs is not None and theirs.render_median_ms is not None:
        rows.append(("of which rendering (pypdfium2), median", "", ms(theirs.render_median_ms), ""))
    rows += [
        row("RSS after model load", lambda f: _mb(f.rss_loaded_mb), lambda f: f.rss_loaded_mb),
        row(
            "RSS before the document (after the warm-up)",
            lambda f: _mb(f.rss_before_mb),
            lambda f: f.rss_before_mb,
        ),
        row("Peak RSS", lambda f: _mb(f.peak_mb), lambda f: f.peak_mb),
        row(
            "RSS growth during the document (peak − before)",
            lambda f: _mb(f.growth_mb),
            lambda f: max(f.growth_mb, 1.0),
        ),
        row(
            "RSS after page 1 → after the last page",
            lambda f: f"{f.rss_first_page_mb:.0f} → {f.rss_last_page_mb:.0f} MB",
        ),
        row(
            "RSS after each page, min–max", lambda f: f"{f.rss_pages_min_mb:.0f}–{f.rss_pages_max_mb:.0f} MB"
        ),
    ]
    if ours is not None:
        for number, (seconds, low, high) in enumerate(ours.extra_passes, 2):
            label = f"Pass {number} in the same process: time; RSS after each page"
            rows.append((label, f"{seconds:.1f} s; {low:.0f}–{high:.0f} MB", "", ""))
        if ours.peak_all_passes_mb is not None:
            label = f"Peak RSS over all {len(ours.extra_passes) + 1} passes"
            rows.append((label, _mb(ours.peak_all_passes_mb), "", ""))
    rows += [
        row(
            "Line recall vs the drawn text",
            lambda f: f"{pct(f.line_recall, 1)} ({f.found_lines}/{f.expected_lines})",
        ),
        row("Char F1 vs the drawn text", lambda f: pct(f.char_f1, 1)),
        row(
            "CPU used by other processes / stolen by the host",
            lambda f: f"{pct(f.others_share, 0)} / {pct(f.steal_share, 0)}",
        ),
    ]
    return rows


def text_layer_rows(fig: EngineFigures) -> list[tuple[str, str]]:
    """Rows of the ocrfn-only table for the text-layer PDF."""
    return [
        ("Pages read (all from the text layer)", str(fig.pages)),
        ("Total time", f"{fig.total_seconds:.2f} s"),
        ("Pages/s", f"{fig.pages_per_second:.0f}"),
        ("Median / p95 per page", f"{ms(fig.median_ms)} / {ms(fig.p95_ms)}"),
        ("RSS before the document → peak", f"{fig.rss_before_mb:.0f} → {fig.peak_mb:.0f} MB"),
        ("RSS growth during the document", _mb(fig.growth_mb)),
        ("Line recall / char F1 vs the text", f"{pct(fig.line_recall, 1)} / {pct(fig.char_f1, 1)}"),
    ]


def stage_summary(fig: EngineFigures) -> str:
    """Per-stage medians per page, e.g. ``detect 120 ms, recognize 600 ms``."""
    return ", ".join(f"{stage} {value:.0f} ms" for stage, value in fig.stage_median_ms.items())


def render_report(
    machine: dict[str, Any],
    settings: dict[str, Any],
    ours: EngineFigures | None,
    theirs: EngineFigures | None,
    text_layer: EngineFigures | None,
) -> str:
    """The markdown block: heading, machine and settings, the side-by-side table, the text-layer table."""
    m, s = machine, settings
    peer = f"{PEER_LABEL} {s['rapidocr_version']}" if s["rapidocr_version"] else PEER_LABEL
    lines = [
        f"### A {s['pages']}-page scanned PDF: ocrfn vs {peer}",
        "",
        f"- Machine: {m['cpu']}, {m['usable_cpus']} usable CPUs (os.cpu_count {m['cpu_count']}),"
        f" Python {m['python']}, onnxruntime {m['onnxruntime']}, pypdfium2 {s['pypdfium2_version']};"
        f" {m['platform']}",
        f"- Date: {m['date']}; load average (1, 5, 15 min) before the run: {s['loadavg']}; MALLOC_ARENA_MAX"
        f" {s['malloc_arena_max'] or 'not set'}",
        f"- Scanned PDF: {s['pages']} A4 pages, image only (JPEG at {SCAN_DPI} dpi, seed {s['seed']}),"
        f" {s['scan_lines']} text lines of Chinese, English and mixed text, {s['scan_mb']:.1f} MB,"
        f" page images' sha256 {s['scan_sha']}. Text-layer PDF: {s['pages']} A4 pages of Helvetica text,"
        f" {s['text_lines']} lines, {s['text_kb']:.0f} KB.",
        f"- Both render at {s['dpi']} dpi with pypdfium2 and use {s['threads']} intra-op threads. ocrfn:"
        f" `read_document`, model set `{s['model']}` (options below); {peer}: pypdfium2 render, then"
        " `RapidOCR()(bgr)` with its defaults. One fresh process per engine and document, run one after"
        f" the other ({s['order']}); models loaded and one warm-up page (not in the document) read"
        f" {WARMUP_READS} times, untimed, before the document. Per-page time = between consecutive page"
        " completions (render + OCR); total = the whole document; peak RSS = `ru_maxrss`, reset after the"
        " warm-up. Ratio column: ocrfn / peer (pages/s above 1 = ocrfn faster; times and memory below 1 ="
        " ocrfn less).",
    ]
    if s["limits_note"]:
        lines.append(f"- {s['limits_note']}")
    if theirs is not None and theirs.pages < s["pages"]:
        lines.append(
            f"- **{PEER_LABEL} read only the first {theirs.pages} of the {s['pages']} pages**"
            f" (`--peer-pages {theirs.pages}`); its totals and pages/s are for those pages, and the row"
            f" 'the same first {theirs.pages} pages' compares like with like."
        )
    ours_model = s["model"] if ours is not None else "ocrfn"
    lines += [
        "",
        markdown_table(
            ("Scanned PDF", f"ocrfn (`{ours_model}`)", peer, "ocrfn / peer"), scanned_rows(ours, theirs)
        ),
    ]
    notes = []
    if ours is not None:
        angles = ", ".join(f"{k} ×{v}" for k, v in ours.angles.items())
        notes.append(
            f"ocrfn options: {ours.options}; page orientation per page: {angles}."
            + (f" Per-page stage medians: {stage_summary(ours)}." if ours.stage_median_ms else "")
        )
    if theirs is not None and theirs.stage_median_ms:
        notes.append(
            f"{PEER_LABEL} per-page stage medians (its own elapse figures): {stage_summary(theirs)}."
        )
    if notes:
        lines += ["", *notes]
    if text_layer is not None:
        lines += [
            "",
            f"Text-layer PDF, ocrfn only (`read_document` takes the text layer, no OCR; {peer} reads no"
            " PDF):",
            "",
            markdown_table(("Text-layer PDF", "ocrfn"), text_layer_rows(text_layer)),
        ]
    return "\n".join(lines)


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pages", type=int, default=50, help="pages of each document (default 50)")
    parser.add_argument(
        "--peer-pages",
        type=int,
        default=DEFAULT_PEER_PAGES,
        help="RapidOCR reads only the first N pages: it takes several seconds per A4 page (default"
        f" {DEFAULT_PEER_PAGES}; 0 = all)",
    )
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads for both (default 2)")
    parser.add_argument("--dpi", type=int, default=200, help="rendering resolution for both (default 200)")
    parser.add_argument(
        "--only",
        choices=("ocrfn", "rapidocr", "both"),
        default="both",
        help="run one engine (ocrfn also reads the text-layer PDF) or both (default)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="scanned-PDF runs per engine, alternating order (default 1)"
    )
    parser.add_argument(
        "--orient-page",
        choices=("default", "on", "off"),
        default="default",
        help="ocrfn's page orientation step: read_document's default (no options passed), or forced",
    )
    parser.add_argument(
        "--repeat-document",
        type=int,
        default=1,
        metavar="N",
        help="memory check: ocrfn's process reads the scanned PDF N times in all; the table's times are"
        " from the first pass, the later passes add time and RSS rows (default 1)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="document generator seed")
    parser.add_argument("--json", type=Path, default=None, help="also write all figures and outputs here")
    # Internal: one child process = one engine on one document.
    parser.add_argument("--child", choices=ENGINES, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--pdf", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--warmup-pdf", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--document", default="scanned", help=argparse.SUPPRESS)
    parser.add_argument("--child-pages", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-passes", type=int, default=1, help=argparse.SUPPRESS)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: generate the documents, run each engine in its own process, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _add_options(parser)
    args = parser.parse_args(argv)
    if args.child is not None:
        return child_main(args)
    if min(args.pages, args.threads, args.dpi, args.rounds, args.repeat_document) < 1:
        parser.error("--pages, --threads, --dpi, --rounds and --repeat-document must be at least 1")
    if args.peer_pages < 0:
        parser.error("--peer-pages must be at least 0 (0 = all pages)")
    peer_pages = min(args.pages, args.peer_pages or args.pages)

    from function.ocr.pages import DocumentLimits

    default_limits = DocumentLimits(dpi=args.dpi)
    width, height = (math.ceil(v * args.dpi / 72) for v in A4_POINTS)
    raised = []
    if args.pages > default_limits.max_pages:
        raised.append(f"max_pages {default_limits.max_pages} → {args.pages}")
    if args.pages * width * height > default_limits.max_total_pixels:
        raised.append(f"max_total_pixels → {args.pages * width * height:,}")
    limits_note = f"ocrfn's document limits were raised for this run: {', '.join(raised)}." if raised else ""

    loads = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ocrfn-documents-") as tmp_name:
        tmp = Path(tmp_name)
        started = time.perf_counter()
        scan_path, warm_path, text_path = tmp / "scanned.pdf", tmp / "warmup.pdf", tmp / "text.pdf"
        scan_truth, scan_sha = scanned_pdf(scan_path, args.seed, 0, args.pages, args.pages)
        scanned_pdf(warm_path, args.seed, args.pages, 1, args.pages + 1)  # a page not in the document
        text_truth = text_pages(args.seed, args.pages)
        text_bytes = text_pdf(text_truth)
        text_path.write_bytes(text_bytes)
        scan_bytes = scan_path.read_bytes()
        print(
            f"generated the documents in {time.perf_counter() - started:.1f} s "
            f"({len(scan_bytes) / 1e6:.1f} MB scanned)",
            file=sys.stderr,
        )

        engines = [e for e in ENGINES if args.only in (e, "both")]
        runs: dict[str, list[ChildStats]] = {e: [] for e in engines}
        order: list[str] = []
        for round_index in range(args.rounds):
            for engine in engines if round_index % 2 == 0 else engines[::-1]:
                pages = args.pages if engine == "ocrfn" else peer_pages
                passes = args.repeat_document if engine == "ocrfn" else 1
                runs[engine].append(
                    run_child(engine, "scanned", scan_path, warm_path, pages, args, tmp, passes)
                )
                order.append(engine)
        text_stats: ChildStats | None = None
        if "ocrfn" in engines:
            text_stats = run_child("ocrfn", "text-layer", text_path, warm_path, args.pages, args, tmp)
            order.append("ocrfn text-layer")

    ours = figures(runs["ocrfn"], scan_truth, "mixed", peer_pages) if "ocrfn" in runs else None
    theirs = figures(runs["rapidocr"], scan_truth, "mixed", peer_pages) if "rapidocr" in runs else None
    text_layer = figures([text_stats], text_truth, "en", args.pages) if text_stats is not None else None

    try:
        rapidocr_version = importlib.metadata.version("rapidocr_onnxruntime")
    except importlib.metadata.PackageNotFoundError:
        rapidocr_version = ""
    model = runs["ocrfn"][0].run.model if "ocrfn" in runs else "-"
    machine = machine_info()
    settings = {
        "pages": args.pages,
        "peer_pages": peer_pages,
        "threads": args.threads,
        "dpi": args.dpi,
        "rounds": args.rounds,
        "seed": args.seed,
        "model": model,
        "rapidocr_version": rapidocr_version,
        "pypdfium2_version": importlib.metadata.version("pypdfium2"),
        "scan_lines": sum(len(p) for p in scan_truth),
        "scan_mb": len(scan_bytes) / 1e6,
        "scan_sha": scan_sha[:12],
        "text_lines": sum(len(p) for p in text_truth),
        "text_kb": len(text_bytes) / 1e3,
        "order": ", then ".join(order),
        "loadavg": " / ".join(f"{v:.2f}" for v in loads),
        "limits_note": limits_note,
        "malloc_arena_max": os.environ.get("MALLOC_ARENA_MAX"),
    }
    print(render_report(machine, settings, ours, theirs, text_layer))

    if args.json is not None:
        report = {
            "machine": machine,
            "settings": settings,
            "scanned": {
                "ocrfn": ours.__dict__ if ours else None,
                "rapidocr": theirs.__dict__ if theirs else None,
            },
            "text_layer": {"ocrfn": text_layer.__dict__ if text_layer else None},
            "runs": [
                {**s.__dict__, "run": s.run.__dict__}
                for s in [*(x for v in runs.values() for x in v), *([text_stats] if text_stats else [])]
            ],
            "truth": {"scanned": scan_truth, "text_layer": text_truth},
        }
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
