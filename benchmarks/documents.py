"""Multi-page documents: a 50-page scanned PDF through ocrfn and through RapidOCR 1.4.4, in the same run.

The documents (``documents_generate.py``) are generated deterministically (``--seed``) and written once to
a temporary directory, so both engines read the same bytes: a scanned PDF of ``--pages`` image-only A4
pages of Chinese, English and mixed text, and a text-layer PDF of as many pages of Helvetica text. Only
ocrfn reads the text-layer one: it is there to show the text-layer fast path (RapidOCR reads no PDF).

Pipelines, with the same number of intra-op threads (``--threads``, default 2 = the Knative CPU limit):

* ocrfn: ``function.ocr.document.read_document`` with the shipped default model set and
  ``DocumentLimits(dpi=--dpi)``; per-page times come from its ``on_page`` callback;
* RapidOCR: each page rendered with pypdfium2 at the same dpi, then ``RapidOCR()(bgr_array)``.

Every (engine, document) pair runs in a fresh process (``documents_child.py``: warm-up, peak RSS reset,
then the document page by page), one after the other, so memory peaks do not mix. ``--repeat-document N``
makes ocrfn's process read the document N times, to tell a high-water mark from growth per page. The share
of the CPUs used by other processes while each child ran is printed too (``/proc/stat`` minus the child's
own CPU time). Both engines' text is scored against the drawn text (line recall and character F1, as in
``benchmarks/scoring.py``) so a fast but blind run shows up; ``documents_report.py`` aggregates the runs
and writes the markdown block for BENCHMARKS.md.

RapidOCR reads only the first ``--peer-pages`` pages (default 25; 0 = all): it takes several seconds per
A4 page, and 50 of them would stretch the default run past 6 minutes on 2 cores. ocrfn always reads the
whole document, and the output also gives both engines' medians on the pages both read.

Examples (from the repository root)::

    python3 benchmarks/documents.py
    python3 benchmarks/documents.py --peer-pages 0 --json /tmp/documents.json   # RapidOCR on all 50
    python3 benchmarks/documents.py --only ocrfn --pages 10 --dpi 300
    python3 benchmarks/documents.py --rounds 2     # both engines twice, alternating which goes first
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from benchmarks.documents_child import ENGINES, DocumentRun  # noqa: E402
from benchmarks.documents_generate import (  # noqa: E402
    A4_POINTS,
    DEFAULT_SEED,
    scanned_pdf,
    text_pages,
    text_pdf,
)
from benchmarks.documents_report import ChildStats, figures, render_report  # noqa: E402
from benchmarks.evaluate import machine_info  # noqa: E402

CHILD = _REPO / "benchmarks" / "documents_child.py"
#: RapidOCR takes 3-7 s per A4 page at 200 dpi on 2 cores (the slow end when another process shares them):
#: half the document keeps the default run under 5 minutes even then.
DEFAULT_PEER_PAGES = 25


def cpu_seconds() -> tuple[float, float]:
    """Busy and steal seconds summed over all CPUs since boot (the ``cpu`` row of ``/proc/stat``)."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq) / hz, steal / hz


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
        str(CHILD),
        engine,
        "--pdf",
        str(pdf),
        "--warmup-pdf",
        str(warmup),
        "--document",
        document,
        "--pages",
        str(pages),
        "--out",
        str(out),
        "--threads",
        str(args.threads),
        "--dpi",
        str(args.dpi),
        "--orient-page",
        args.orient_page,
        "--passes",
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: generate the documents, run each engine in its own process, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _add_options(parser)
    args = parser.parse_args(argv)
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
