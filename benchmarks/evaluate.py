"""Evaluate ocrfn's engine with one model set on the real evaluation set.

Line cases (``kind=line``) run in single-line mode (no detection); page cases run the full pipeline. Scores
follow ``../shared/eval/README.md`` exactly (see :mod:`benchmarks.scoring`).

Examples (from the repository root)::

    python3 benchmarks/evaluate.py                          # default set of model/manifest.json
    python3 benchmarks/evaluate.py --set NAME --json out.json
    python3 benchmarks/evaluate.py --det /tmp/det.onnx --rec /tmp/rec.onnx --charset /tmp/dict.txt
    python3 benchmarks/evaluate.py --det D.onnx --det-mean 0.5 0.5 0.5 --det-std 0.5 0.5 0.5 \\
        --rec ch_PP-OCRv4_rec_infer.onnx --charset onnx-metadata --only lines --verbose
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

import onnxruntime as ort  # noqa: E402

from benchmarks.scoring import (  # noqa: E402
    Case,
    LineGroupMetrics,
    LineScore,
    PageMetrics,
    PageScore,
    SpaceMetrics,
    line_metrics,
    load_cases,
    page_metrics,
    score_line,
    score_page,
    space_metrics,
)
from function.ocr import (  # noqa: E402
    ClassifierSpec,
    DetectorSpec,
    ModelError,
    ModelSet,
    OcrEngine,
    OcrError,
    OcrOptions,
    RecognizerSpec,
    load_model_set,
)

DEFAULT_DATA = _REPO.parent / "shared" / "eval" / "real"
DEFAULT_MODEL_DIR = _REPO / "model"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HALF = (0.5, 0.5, 0.5)
#: ``--charset`` value that means "read the class list from the recognizer's ONNX metadata".
ONNX_METADATA = "onnx-metadata"

# Single-line mode is scored without a confidence cut-off: every character the recognizer emits counts,
# as in RapidOCR's rec-only path (which does not filter). Pages keep the engine's default cut-off.
LINE_OPTIONS = OcrOptions(detect=False, min_confidence=0.0)
PAGE_OPTIONS = OcrOptions(detect=True)


# --------------------------------------------------------------------------------------------------------
# Command line: model selection and case selection (shared with compare_rapidocr.py)
# --------------------------------------------------------------------------------------------------------
def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--data``, ``--limit`` and ``--only``."""
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="directory holding manifest.json and the images it names (default: %(default)s)",
    )
    parser.add_argument("--limit", type=int, default=None, help="at most N line cases and N page cases")
    parser.add_argument("--only", choices=("lines", "pages"), default=None, help="run one kind of case only")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options that choose ocrfn's model set (a shipped set, or explicit candidate files)."""
    group = parser.add_argument_group("model set (a shipped set, or explicit --det/--rec/--charset)")
    group.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR, help="default: %(default)s")
    group.add_argument("--set", dest="set_name", default=None, help="a set of model/manifest.json")
    group.add_argument("--name", default="candidate", help="label of an explicit set (default: %(default)s)")
    group.add_argument("--det", type=Path, default=None, help="detector ONNX file")
    group.add_argument("--rec", type=Path, default=None, help="recognizer ONNX file")
    group.add_argument(
        "--charset",
        default=None,
        help=f"recognizer character file (one class per line), or '{ONNX_METADATA}' to read the "
        "recognizer's ONNX metadata key 'character'",
    )
    group.add_argument("--cls", type=Path, default=None, help="optional 0/180 line classifier ONNX file")
    group.add_argument("--det-mean", type=float, nargs=3, default=IMAGENET_MEAN, metavar=("R", "G", "B"))
    group.add_argument("--det-std", type=float, nargs=3, default=IMAGENET_STD, metavar=("R", "G", "B"))
    group.add_argument("--rec-mean", type=float, nargs=3, default=HALF, metavar=("R", "G", "B"))
    group.add_argument("--rec-std", type=float, nargs=3, default=HALF, metavar=("R", "G", "B"))
    group.add_argument("--rec-height", type=int, default=48, help="recognizer input height (default 48)")


def _triple(values: Sequence[float]) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in values)
    return (a, b, c)


def extract_metadata_charset(rec_path: Path, workdir: Path) -> Path:
    """Write the ``character`` metadata of ``rec_path`` to a charset file in ``workdir`` and return it."""
    session = ort.InferenceSession(str(rec_path), providers=["CPUExecutionProvider"])
    metadata = session.get_modelmeta().custom_metadata_map
    if "character" not in metadata:
        raise SystemExit(f"{rec_path} has no 'character' metadata; pass --charset FILE")
    out = workdir / f"{rec_path.stem}.charset.txt"
    out.write_text("\n".join(metadata["character"].splitlines()) + "\n", encoding="utf-8")
    return out


def build_model_set(args: argparse.Namespace, workdir: Path) -> ModelSet:
    """Return the model set chosen on the command line; ``workdir`` receives any extracted charset."""
    explicit = [args.det, args.rec, args.charset]
    if any(v is not None for v in explicit):
        if args.set_name is not None:
            raise SystemExit("use either --set or --det/--rec/--charset, not both")
        if any(v is None for v in explicit):
            raise SystemExit("--det, --rec and --charset go together")
        charset = (
            extract_metadata_charset(args.rec, workdir)
            if args.charset == ONNX_METADATA
            else Path(args.charset)
        )
        return ModelSet(
            name=args.name,
            detector=DetectorSpec(path=args.det, mean=_triple(args.det_mean), std=_triple(args.det_std)),
            recognizer=RecognizerSpec(
                path=args.rec,
                charset=charset,
                height=args.rec_height,
                mean=_triple(args.rec_mean),
                std=_triple(args.rec_std),
            ),
            classifier=None if args.cls is None else ClassifierSpec(path=args.cls),
        )
    try:
        return load_model_set(args.model_dir, name=args.set_name)
    except ModelError as exc:
        raise SystemExit(f"{exc} (or pass --det/--rec/--charset for a candidate)") from exc


def describe_model_set(models: ModelSet) -> dict[str, Any]:
    """A JSON-ready description of a model set (names of its files and their settings)."""
    return {
        "name": models.name,
        "detector": {
            "file": str(models.detector.path),
            "mean": models.detector.mean,
            "std": models.detector.std,
        },
        "recognizer": {
            "file": str(models.recognizer.path),
            "charset": str(models.recognizer.charset),
            "height": models.recognizer.height,
        },
        "classifier": None if models.classifier is None else str(models.classifier.path),
    }


def select_cases(cases: Sequence[Case], only: str | None, limit: int | None) -> tuple[list[Case], list[Case]]:
    """Split ``cases`` into (lines, pages), honouring ``--only`` and taking at most ``limit`` of each."""
    lines = [c for c in cases if c.kind == "line"] if only in (None, "lines") else []
    pages = [c for c in cases if c.kind == "page"] if only in (None, "pages") else []
    if limit is not None:
        lines, pages = lines[:limit], pages[:limit]
    return lines, pages


def machine_info() -> dict[str, Any]:
    """CPU model, core counts, Python and onnxruntime versions, and the current UTC time."""
    cpu = platform.processor() or platform.machine()
    try:
        for row in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if row.lower().startswith("model name"):
                cpu = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# --------------------------------------------------------------------------------------------------------
# Running the engine
# --------------------------------------------------------------------------------------------------------
@dataclass
class CaseRun:
    """What one engine produced for one case, and how long the call took (seconds, bytes in → lines out)."""

    case_id: str
    lines: list[str]
    seconds: float
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


def timed(
    call: Callable[[], list[str]], case_id: str, errors: tuple[type[BaseException], ...] = (OcrError,)
) -> CaseRun:
    """Time ``call`` (returning the output text lines); an exception in ``errors`` gives an empty output."""
    started = time.perf_counter()
    try:
        lines = call()
        error = None
    except errors as exc:
        lines, error = [], f"{type(exc).__name__}: {exc}"
    return CaseRun(case_id=case_id, lines=lines, seconds=time.perf_counter() - started, error=error)


def run_ours(engine: OcrEngine, case: Case, data: bytes | None = None) -> CaseRun:
    """Run ocrfn's engine on ``case``: single-line mode for lines, full pipeline for pages."""
    payload = case.path.read_bytes() if data is None else data
    options = LINE_OPTIONS if case.kind == "line" else PAGE_OPTIONS
    timings: dict[str, float] = {}

    def call() -> list[str]:
        result = engine.run(payload, options)
        timings.update(result.timings)
        return [line.text for line in result.lines]

    run = timed(call, case.id)
    run.timings = timings
    return run


# --------------------------------------------------------------------------------------------------------
# Scoring runs
# --------------------------------------------------------------------------------------------------------
def line_text(run: CaseRun) -> str:
    """The single-line output of a run (several lines, should an engine return them, joined by a space)."""
    return " ".join(run.lines)


def score_runs(
    line_cases: Sequence[Case],
    line_runs: Sequence[CaseRun],
    page_cases: Sequence[Case],
    page_runs: Sequence[CaseRun],
) -> tuple[list[LineScore], list[PageScore]]:
    """Score line runs and page runs against their cases (runs in the same order as the cases)."""
    line_scores = [
        score_line(c.id, c.lang, c.expected_text or "", line_text(r), c.case_insensitive)
        for c, r in zip(line_cases, line_runs, strict=True)
    ]
    page_scores = [
        score_page(
            c.id, c.lang, c.expected_lines, r.lines, c.truth_completeness == "full", c.case_insensitive
        )
        for c, r in zip(page_cases, page_runs, strict=True)
    ]
    return line_scores, page_scores


def median_ms(runs: Sequence[CaseRun]) -> float | None:
    """Median wall time of ``runs`` in milliseconds (``None`` when there are none)."""
    return statistics.median(r.seconds for r in runs) * 1000.0 if runs else None


@dataclass
class Summary:
    """All headline figures of one engine on one case selection."""

    lines: dict[str, LineGroupMetrics]
    pages: PageMetrics | None
    line_median_ms: float | None
    page_median_ms: float | None
    spaces: SpaceMetrics | None = None


def summarize(
    line_scores: Sequence[LineScore],
    page_scores: Sequence[PageScore],
    line_seconds: Sequence[float],
    page_seconds: Sequence[float],
) -> Summary:
    """Aggregate scores and latencies into a :class:`Summary`."""
    return Summary(
        lines=line_metrics(line_scores) if line_scores else {},
        pages=page_metrics(page_scores) if page_scores else None,
        line_median_ms=statistics.median(line_seconds) * 1000.0 if line_seconds else None,
        page_median_ms=statistics.median(page_seconds) * 1000.0 if page_seconds else None,
        spaces=space_metrics(line_scores) if line_scores else None,
    )


def pct(value: float | None, digits: int = 2) -> str:
    """Format a fraction as a percentage (``-`` for missing)."""
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def ms(value: float | None) -> str:
    """Format milliseconds (``-`` for missing)."""
    return "-" if value is None else f"{value:.1f} ms"


def summary_rows(summary: Summary) -> list[tuple[str, str]]:
    """The (metric, value) rows of the evaluation table."""
    rows: list[tuple[str, str]] = []
    if summary.lines:
        overall = summary.lines["all"]
        rows.append((f"Line CER, all ({overall.count} lines)", pct(overall.cer)))
        for lang in ("zh", "mixed", "en"):
            if lang in summary.lines:
                group = summary.lines[lang]
                rows.append((f"Line CER, {lang} ({group.count})", pct(group.cer)))
        rows.append(("Line exact match", pct(overall.exact_match, 1)))
        rows.append(("Line CER, whitespace removed", pct(overall.cer_no_ws)))
    if summary.spaces is not None:
        rows += space_rows(summary.spaces)
    if summary.pages is not None:
        p = summary.pages
        rows.append(
            (
                f"Page line recall ({p.found_lines}/{p.expected_lines} lines, {p.pages} pages)",
                pct(p.line_recall, 1),
            )
        )
        rows.append((f"Page char F1 ({p.full_pages} full pages, pooled)", pct(p.char_f1, 1)))
        rows.append(("Page line recall, mean per page", pct(p.line_recall_page_mean, 1)))
        rows.append(("Page char F1, mean per full page", pct(p.char_f1_page_mean, 1)))
        rows.append(page_space_row(p))
    if summary.line_median_ms is not None:
        rows.append(("Median latency per line", ms(summary.line_median_ms)))
    if summary.page_median_ms is not None:
        rows.append(("Median latency per page", ms(summary.page_median_ms)))
    return rows


def space_rows(spaces: SpaceMetrics) -> list[tuple[str, str]]:
    """The space-sensitive line rows: space-kept CER, CJK-adjacent spaces, spaces in Chinese-only lines."""
    return [
        (f"Line CER, spaces kept ({spaces.lines} lines with spaces)", pct(spaces.cer)),
        (
            f"CJK-adjacent spaces kept (of {spaces.cjk_spaces} in the truth; output has)",
            f"{spaces.cjk_spaces_kept} ({pct(spaces.cjk_kept_share, 0)}); {spaces.cjk_spaces_output}",
        ),
        (
            f"Spaces in Chinese-only lines ({spaces.chinese_only_lines} lines)",
            str(spaces.chinese_only_spaces),
        ),
    ]


def page_space_row(pages: PageMetrics) -> tuple[str, str]:
    """The page row: found expected lines with a space that are found with their spaces."""
    return (
        f"Page lines with spaces found with them ({pages.spaced_found} found)",
        f"{pages.spaced_kept} ({pct(pages.spaced_kept_share, 1)})",
    )


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Render a markdown table with the first column left-aligned and the others right-aligned."""
    align = [":---"] + ["---:"] * (len(header) - 1)
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)


def print_failures(
    line_scores: Sequence[LineScore], page_scores: Sequence[PageScore], runs: dict[str, CaseRun]
) -> None:
    """Print every line that is not an exact match and every page with a missing line or F1 < 1."""
    print("\nLine failures (normalised truth → output, edit distance):")
    for s in line_scores:
        if not s.exact:
            error = runs[s.case_id].error
            note = f"  [{error}]" if error else ""
            print(f"  {s.case_id} [{s.lang}] d={s.distance}/{s.truth_len}: {s.truth!r} → {s.output!r}{note}")
    print("\nPage failures:")
    for p in page_scores:
        if p.missing or (p.char_f1 is not None and p.char_f1 < 1.0):
            f1 = "" if p.char_f1 is None else f", char F1 {p.char_f1 * 100:.1f}%"
            print(f"  {p.case_id} [{p.lang}] found {p.found}/{p.expected}{f1}")
            for missing in p.missing:
                print(f"      missing: {missing!r}")
            error = runs[p.case_id].error
            if error:
                print(f"      error: {error}")


def to_jsonable(value: Any) -> Any:
    """``json.dumps`` fallback: dataclasses become dicts, paths strings."""
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: evaluate one model set and print (and optionally save) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_arguments(parser)
    add_model_arguments(parser)
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads (default 2)")
    parser.add_argument(
        "--json", type=Path, default=None, help="also write figures and per-case results here"
    )
    parser.add_argument("--verbose", action="store_true", help="print every failing case")
    args = parser.parse_args(argv)

    line_cases, page_cases = select_cases(load_cases(args.data), args.only, args.limit)
    with tempfile.TemporaryDirectory(prefix="ocrfn-eval-") as tmp:
        models = build_model_set(args, Path(tmp))
        engine = OcrEngine(models, threads=args.threads)

    # Warm-up (not timed): the first run of each mode pays for allocations and kernel selection.
    for case in line_cases[:1] + page_cases[:1]:
        run_ours(engine, case)

    line_runs = [run_ours(engine, c) for c in line_cases]
    page_runs = [run_ours(engine, c) for c in page_cases]
    line_scores, page_scores = score_runs(line_cases, line_runs, page_cases, page_runs)
    summary = summarize(
        line_scores, page_scores, [r.seconds for r in line_runs], [r.seconds for r in page_runs]
    )

    machine = machine_info()
    print(
        f"ocrfn model set {models.name!r}: det {models.detector.path}, rec {models.recognizer.path}"
        f"{'' if models.classifier is None else ', cls ' + str(models.classifier.path)}; "
        f"threads {args.threads}; data {args.data}"
    )
    print(
        f"{machine['cpu']}, {machine['usable_cpus']} usable CPUs, onnxruntime {machine['onnxruntime']}, "
        f"{machine['date']}\n"
    )
    print(markdown_table(("Metric", "Value"), summary_rows(summary)))
    errors = [r for r in line_runs + page_runs if r.error]
    if errors:
        print(f"\n{len(errors)} case(s) raised an OCR error (scored as empty output); see --verbose.")
    if args.verbose:
        print_failures(line_scores, page_scores, {r.case_id: r for r in line_runs + page_runs})

    if args.json is not None:
        report = {
            "engine": "ocrfn",
            "model_set": describe_model_set(models),
            "threads": args.threads,
            "data": str(args.data),
            "machine": machine,
            "summary": summary,
            "lines": [
                {**asdict(s), "seconds": r.seconds, "error": r.error}
                for s, r in zip(line_scores, line_runs, strict=True)
            ],
            "pages": [
                {**asdict(s), "output": r.lines, "seconds": r.seconds, "timings": r.timings, "error": r.error}
                for s, r in zip(page_scores, page_runs, strict=True)
            ],
        }
        args.json.write_text(
            json.dumps(report, ensure_ascii=False, indent=1, default=to_jsonable), encoding="utf-8"
        )
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
