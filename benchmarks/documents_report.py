"""Figures and the markdown report of ``documents.py``: one engine's runs of one document, aggregated."""

from __future__ import annotations

import math
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from benchmarks.documents_child import WARMUP_READS, DocumentRun  # noqa: E402
from benchmarks.documents_generate import SCAN_DPI  # noqa: E402
from benchmarks.evaluate import markdown_table, ms, pct  # noqa: E402
from benchmarks.scoring import PageScore, page_metrics, score_page  # noqa: E402

PEER_LABEL = "RapidOCR"


@dataclass
class ChildStats:
    """A child run and the machine around it: wall time, CPU used by others and stolen by the host."""

    run: DocumentRun
    wall_seconds: float
    others_share: float
    steal_share: float
    loadavg_before: float


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
