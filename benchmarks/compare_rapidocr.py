"""Head-to-head: ocrfn's engine against the RapidOCR 1.4.4 library on the same images, in the same run.

Both engines get the same encoded image bytes and 2 intra-op threads (``--threads``); RapidOCR otherwise keeps
its defaults (PP-OCRv4 mobile det + rec, mobile v2.0 line classifier, ``text_score`` 0.5). Per image the two
run back to back, alternating which goes first, after an untimed warm-up. Accuracy:

* lines: each engine's recognition-only path: RapidOCR ``use_det=False, use_cls=False, use_rec=True``;
  ocrfn ``OcrOptions(detect=False)`` with no confidence cut-off (RapidOCR's rec-only path has none);
* pages: the full pipelines with their default settings.

Latency is wall time from encoded bytes to text lines. The output is a markdown block for BENCHMARKS.md.

Examples (from the repository root)::

    python3 benchmarks/compare_rapidocr.py
    python3 benchmarks/compare_rapidocr.py --repeat 3 --json /tmp/compare.json
    python3 benchmarks/compare_rapidocr.py --set NAME --only lines --limit 50
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from benchmarks.evaluate import (  # noqa: E402
    CaseRun,
    Summary,
    add_data_arguments,
    add_model_arguments,
    build_model_set,
    describe_model_set,
    machine_info,
    markdown_table,
    ms,
    page_space_row,
    pct,
    print_failures,
    run_ours,
    score_runs,
    select_cases,
    space_rows,
    summarize,
    timed,
    to_jsonable,
)
from benchmarks.scoring import Case, load_cases  # noqa: E402
from function.ocr import OcrEngine  # noqa: E402


# --------------------------------------------------------------------------------------------------------
# RapidOCR side
# --------------------------------------------------------------------------------------------------------
def make_rapidocr(threads: int) -> Any:
    """Build RapidOCR 1.4.4 with its default config except ``intra_op_num_threads``.

    In 1.4.4 the thread counts are ``Global`` settings of its ``config.yaml`` (``intra_op_num_threads``,
    ``inter_op_num_threads``, both ``-1`` = onnxruntime's default, i.e. all host cores). A constructor keyword
    of the same name overrides the ``Global`` value, which is then copied into the Det, Cls and Rec sections.
    Values outside ``1..os.cpu_count()`` are silently ignored, so the sessions are checked afterwards.
    """
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR(intra_op_num_threads=threads)
    sessions = {
        "det": engine.text_det.infer.session,
        "cls": engine.text_cls.infer.session,
        "rec": engine.text_rec.session.session,
    }
    for name, session in sessions.items():
        actual = session.get_session_options().intra_op_num_threads
        if actual != threads:
            raise SystemExit(f"RapidOCR {name} session has {actual} intra-op threads, wanted {threads}")
    return engine


def run_theirs(engine: Any, case: Case, data: bytes) -> CaseRun:
    """Run RapidOCR on ``case``: recognition only for lines, its full default pipeline for pages."""

    def call() -> list[str]:
        if case.kind == "line":
            result, _ = engine(data, use_det=False, use_cls=False, use_rec=True)
            return [item[0] for item in result or []]  # [[text, score]]
        result, _ = engine(data)
        return [item[1] for item in result or []]  # [[box, text, score], ...]; None when nothing is found

    # RapidOCR has no error hierarchy of its own worth naming here: any failure counts as an empty output.
    return timed(call, case.id, errors=(Exception,))


# --------------------------------------------------------------------------------------------------------
# Timing statistics
# --------------------------------------------------------------------------------------------------------
@dataclass
class LatencyStats:
    """Latency of one kind of case (lines or pages) for both engines, in milliseconds."""

    images: int
    passes: int
    ours_median_ms: float
    theirs_median_ms: float
    ours_mean_ms: float
    theirs_mean_ms: float
    ratio_of_medians: float
    median_of_ratios: float


def latency_stats(ours: dict[str, list[float]], theirs: dict[str, list[float]]) -> LatencyStats | None:
    """Per image, take the median over passes; then report medians/means over images and ours/theirs ratios.

    ``median_of_ratios`` is the median over images of (ours / theirs) for the same image, which cancels
    most of the drift of a shared machine because each pair ran back to back.
    """
    ids = list(ours)
    if not ids:
        return None
    ours_ms = [statistics.median(ours[i]) * 1000.0 for i in ids]
    theirs_ms = [statistics.median(theirs[i]) * 1000.0 for i in ids]
    ours_median, theirs_median = statistics.median(ours_ms), statistics.median(theirs_ms)
    return LatencyStats(
        images=len(ids),
        passes=len(ours[ids[0]]),
        ours_median_ms=ours_median,
        theirs_median_ms=theirs_median,
        ours_mean_ms=statistics.fmean(ours_ms),
        theirs_mean_ms=statistics.fmean(theirs_ms),
        ratio_of_medians=ours_median / theirs_median,
        median_of_ratios=statistics.median(o / t for o, t in zip(ours_ms, theirs_ms, strict=True)),
    )


# --------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------
def _pp(ours: float, theirs: float) -> str:
    return f"{(ours - theirs) * 100:+.2f} pp"


def comparison_rows(
    ours: Summary, theirs: Summary, lines: LatencyStats | None, pages: LatencyStats | None
) -> list[tuple[str, str, str, str]]:
    """Rows of the comparison table: metric, ocrfn, RapidOCR, difference (accuracy) or ratio (latency)."""
    rows: list[tuple[str, str, str, str]] = []
    if ours.lines and theirs.lines:
        a, b = ours.lines["all"], theirs.lines["all"]
        rows.append((f"Line CER, all ({a.count} lines)", pct(a.cer), pct(b.cer), _pp(a.cer, b.cer)))
        for lang in ("zh", "mixed", "en"):
            if lang in ours.lines and lang in theirs.lines:
                x, y = ours.lines[lang], theirs.lines[lang]
                rows.append((f"Line CER, {lang} ({x.count})", pct(x.cer), pct(y.cer), _pp(x.cer, y.cer)))
        rows.append(
            (
                "Line exact match",
                pct(a.exact_match, 1),
                pct(b.exact_match, 1),
                _pp(a.exact_match, b.exact_match),
            )
        )
        rows.append(
            (
                "Line CER, whitespace removed",
                pct(a.cer_no_ws),
                pct(b.cer_no_ws),
                _pp(a.cer_no_ws, b.cer_no_ws),
            )
        )
    if ours.spaces is not None and theirs.spaces is not None:
        x, y = ours.spaces, theirs.spaces
        differences = (
            _pp(x.cer, y.cer),
            _pp(x.cjk_kept_share, y.cjk_kept_share),
            f"{x.chinese_only_spaces - y.chinese_only_spaces:+d}",
        )
        for (label, mine), (_, other), difference in zip(
            space_rows(x), space_rows(y), differences, strict=True
        ):
            rows.append((label, mine, other, difference))
    if ours.pages is not None and theirs.pages is not None:
        p, q = ours.pages, theirs.pages
        rows.append(
            (
                f"Page line recall ({p.expected_lines} lines, {p.pages} pages)",
                pct(p.line_recall, 1),
                pct(q.line_recall, 1),
                _pp(p.line_recall, q.line_recall),
            )
        )
        rows.append(
            (
                f"Page char F1 ({p.full_pages} full pages)",
                pct(p.char_f1, 1),
                pct(q.char_f1, 1),
                _pp(p.char_f1, q.char_f1),
            )
        )
        (label, mine), (_, other) = page_space_row(p), page_space_row(q)
        rows.append((label, mine, other, _pp(p.spaced_kept_share, q.spaced_kept_share)))
    for label, stats in (("line", lines), ("page", pages)):
        if stats is None:
            continue
        rows.append(
            (
                f"Median latency per {label}",
                ms(stats.ours_median_ms),
                ms(stats.theirs_median_ms),
                f"×{stats.ratio_of_medians:.2f}",
            )
        )
        rows.append(
            (
                f"Mean latency per {label}",
                ms(stats.ours_mean_ms),
                ms(stats.theirs_mean_ms),
                f"×{stats.ours_mean_ms / stats.theirs_mean_ms:.2f}",
            )
        )
        rows.append((f"Median of per-{label} ratios (same image)", "", "", f"×{stats.median_of_ratios:.2f}"))
    return rows


def render_report(
    model_name: str,
    machine: dict[str, Any],
    settings: dict[str, Any],
    rows: Sequence[Sequence[str]],
) -> str:
    """The markdown block: a heading, machine and settings, and the comparison table."""
    m, s = machine, settings
    header = (
        "Metric",
        f"ocrfn (`{model_name}`)",
        f"RapidOCR {s['rapidocr_version']} (PP-OCRv4 mobile)",
        "ocrfn vs RapidOCR",
    )
    lines = [
        f"### ocrfn vs RapidOCR {s['rapidocr_version']} on the real evaluation set",
        "",
        f"- Machine: {m['cpu']}, {m['usable_cpus']} usable CPUs (os.cpu_count {m['cpu_count']}),"
        f" Python {m['python']}, onnxruntime {m['onnxruntime']}; {m['platform']}",
        f"- Date: {m['date']}",
        f"- Cases: {s['lines']} lines, {s['pages']} pages from `{s['data_name']}`; both engines get the same"
        f" encoded bytes and {s['threads']} intra-op threads; interleaved per image (alternating which runs"
        f" first), {s['warmup']} warm-up image(s) per kind, {s['repeat']} timed pass(es); latency = bytes in"
        " → text out, per image the median over passes.",
        "- Lines: RapidOCR `use_det=False, use_cls=False, use_rec=True`; ocrfn `detect=False`, no confidence"
        " cut-off. Pages: both full pipelines with default settings. Last column: accuracy difference in"
        " percentage points, latency ratio ocrfn / RapidOCR (below 1 = ocrfn faster).",
        "",
        markdown_table(header, rows),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run both engines interleaved and print the markdown comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_arguments(parser)
    add_model_arguments(parser)
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads for both (default 2)")
    parser.add_argument("--repeat", type=int, default=1, help="timed passes over all images (default 1)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed warm-up images per kind (default 2)")
    parser.add_argument("--json", type=Path, default=None, help="also write all figures and outputs here")
    parser.add_argument("--verbose", action="store_true", help="print each engine's failing cases")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be at least 1 and --warmup at least 0")

    line_cases, page_cases = select_cases(load_cases(args.data), args.only, args.limit)
    cases = line_cases + page_cases
    payloads = {c.id: c.path.read_bytes() for c in cases}

    with tempfile.TemporaryDirectory(prefix="ocrfn-compare-") as tmp:
        models = build_model_set(args, Path(tmp))
        ours_engine = OcrEngine(models, threads=args.threads)
    theirs_engine = make_rapidocr(args.threads)
    rapidocr_version = importlib.metadata.version("rapidocr_onnxruntime")

    for case in line_cases[: args.warmup] + page_cases[: args.warmup]:
        run_ours(ours_engine, case, payloads[case.id])
        run_theirs(theirs_engine, case, payloads[case.id])

    ours_runs: dict[str, CaseRun] = {}
    theirs_runs: dict[str, CaseRun] = {}
    ours_seconds: dict[str, list[float]] = {c.id: [] for c in cases}
    theirs_seconds: dict[str, list[float]] = {c.id: [] for c in cases}
    for rep in range(args.repeat):
        for index, case in enumerate(cases):
            data = payloads[case.id]
            if (index + rep) % 2 == 0:
                mine = run_ours(ours_engine, case, data)
                other = run_theirs(theirs_engine, case, data)
            else:
                other = run_theirs(theirs_engine, case, data)
                mine = run_ours(ours_engine, case, data)
            ours_seconds[case.id].append(mine.seconds)
            theirs_seconds[case.id].append(other.seconds)
            if rep == 0:
                ours_runs[case.id], theirs_runs[case.id] = mine, other
        print(f"pass {rep + 1}/{args.repeat} done", file=sys.stderr)

    def summary_of(runs: dict[str, CaseRun], seconds: dict[str, list[float]]) -> tuple[Summary, Any, Any]:
        line_scores, page_scores = score_runs(
            line_cases, [runs[c.id] for c in line_cases], page_cases, [runs[c.id] for c in page_cases]
        )
        summary = summarize(
            line_scores,
            page_scores,
            [statistics.median(seconds[c.id]) for c in line_cases],
            [statistics.median(seconds[c.id]) for c in page_cases],
        )
        return summary, line_scores, page_scores

    ours, ours_line_scores, ours_page_scores = summary_of(ours_runs, ours_seconds)
    theirs, theirs_line_scores, theirs_page_scores = summary_of(theirs_runs, theirs_seconds)
    line_latency = latency_stats(
        {c.id: ours_seconds[c.id] for c in line_cases}, {c.id: theirs_seconds[c.id] for c in line_cases}
    )
    page_latency = latency_stats(
        {c.id: ours_seconds[c.id] for c in page_cases}, {c.id: theirs_seconds[c.id] for c in page_cases}
    )

    machine = machine_info()
    settings = {
        "rapidocr_version": rapidocr_version,
        "threads": args.threads,
        "repeat": args.repeat,
        "warmup": args.warmup,
        "lines": len(line_cases),
        "pages": len(page_cases),
        "data_name": args.data.name,
    }
    rows = comparison_rows(ours, theirs, line_latency, page_latency)
    print(render_report(models.name, machine, settings, rows))
    for name, runs in (("ocrfn", ours_runs), ("RapidOCR", theirs_runs)):
        errors = [r for r in runs.values() if r.error]
        if errors:
            print(f"\n{name}: {len(errors)} case(s) raised an error (scored as empty output); see --verbose.")

    if args.verbose:
        print("\n## ocrfn failures")
        print_failures(ours_line_scores, ours_page_scores, ours_runs)
        print("\n## RapidOCR failures")
        print_failures(theirs_line_scores, theirs_page_scores, theirs_runs)

    if args.json is not None:
        report = {
            "machine": machine,
            "settings": {**settings, "data": str(args.data)},
            "model_set": describe_model_set(models),
            "ocrfn": {"summary": ours, "latency_lines": line_latency, "latency_pages": page_latency},
            "rapidocr": {"summary": theirs},
            "cases": [
                {
                    "id": c.id,
                    "kind": c.kind,
                    "ocrfn": {**asdict(ours_runs[c.id]), "seconds_all": ours_seconds[c.id]},
                    "rapidocr": {**asdict(theirs_runs[c.id]), "seconds_all": theirs_seconds[c.id]},
                }
                for c in cases
            ],
        }
        args.json.write_text(
            json.dumps(report, ensure_ascii=False, indent=1, default=to_jsonable), encoding="utf-8"
        )
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
