"""The served function under load: throughput and latency by client concurrency, cold start, fork check.

Everything runs against real server processes started with the README's run command
(``functions-framework --target ocr --source function/main.py``, one gunicorn worker), 2 intra-op threads:

1. **Cold start** (``--cold N``, default 5): process start to the first successful OCR response (a single
   line), and the server's own figures (``ocrfn_cold_start_seconds``: process start to ready).
2. **Inference in the worker vs in-process**: the same pages, alternately through the server (``cost_time``
   of the response) and through an engine in this process; equal times show the sessions were created
   after gunicorn's fork (a session created before it runs single-threaded in the child, ~2x slower).
3. **Load curve**: closed-loop clients at concurrency 1, 2, 4, 8 (``--levels``) for ``--duration`` seconds
   each, cycling through the pages: requests/s, p50/p95 latency, errors, and ``/ready`` probe latency
   measured alongside (Knative's queue-proxy allows 100 ms).

Pages come from ``--data`` (an evaluation manifest, default ``../shared/eval/real``) or, when that is
missing, the project's rendered test pages. Prints markdown for BENCHMARKS.md.

Examples (from the repository root)::

    python3 benchmarks/http_load.py
    python3 benchmarks/http_load.py --duration 10 --levels 1,2,4 --cold 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import requests

_REPO = Path(__file__).resolve().parents[1]
for extra in (_REPO, _REPO / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from server import Server  # noqa: E402  (tests/server.py: the same launcher the tests use)

from benchmarks.evaluate import machine_info  # noqa: E402
from function.lifecycle import build_engine  # noqa: E402
from function.settings import load_settings  # noqa: E402

DEFAULT_DATA = _REPO.parent / "shared" / "eval" / "real"
TEST_PAGES = (
    "receipt.png",
    "two_column.png",
    "screenshot.png",
    "sign_photo.jpg",
    "tilted.png",
    "vertical.png",
)
LINE_IMAGE = _REPO / "tests" / "data" / "images" / "line_en.png"


def load_pages(data: Path) -> tuple[list[bytes], str]:
    """Page images as encoded bytes, and where they came from."""
    manifest = data / "manifest.json"
    if manifest.exists():
        entries = json.loads(manifest.read_text(encoding="utf-8"))
        pages = [(data / e["file"]).read_bytes() for e in entries if e["kind"] == "page"]
        return pages, f"{len(pages)} pages of {data}"
    images = _REPO / "tests" / "data" / "images"
    return [(images / name).read_bytes() for name in TEST_PAGES], f"{len(TEST_PAGES)} rendered test pages"


def ocr(url: str, image: bytes, timeout: float = 300.0) -> requests.Response:
    """POST one raw image to the server."""
    return requests.post(url + "/api/ocr", data=image, headers={"Content-Type": "image/png"}, timeout=timeout)


def metric_value(url: str, name: str) -> float | None:
    """One unlabelled sample from ``/metrics``."""
    for row in requests.get(url + "/metrics", timeout=10).text.splitlines():
        if row.startswith(name + " "):
            return float(row.split()[1])
    return None


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank) of *values*."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def cold_starts(workdir: Path, runs: int) -> list[dict[str, float]]:
    """Start a fresh server *runs* times; time to the first OCR answer and the server's own figures."""
    line = LINE_IMAGE.read_bytes()
    results = []
    for _ in range(runs):
        server = Server(workdir)
        try:
            first = server.first_ocr_seconds(line)
            results.append(
                {
                    "first_ocr": first,
                    "ready": metric_value(server.url, "ocrfn_cold_start_seconds") or float("nan"),
                    "load": metric_value(server.url, "ocrfn_model_load_seconds") or float("nan"),
                }
            )
        finally:
            server.stop()
    return results


def worker_vs_in_process(url: str, pages: Sequence[bytes], passes: int) -> tuple[float, float, float]:
    """Median inference time per page in the served worker and in this process, and the median ratio."""
    engine = build_engine(load_settings({"OCRFN_THREADS": "2"}))
    for page in pages[:2]:
        engine.run(page)
    served: list[list[float]] = [[] for _ in pages]
    local: list[list[float]] = [[] for _ in pages]
    for n in range(passes):
        for i, page in enumerate(pages):
            order = ("served", "local") if (i + n) % 2 == 0 else ("local", "served")
            for kind in order:
                if kind == "served":
                    served[i].append(ocr(url, page).json()["cost_time"])
                else:
                    local[i].append(engine.run(page).timings["total"])
    s = [statistics.median(x) for x in served]
    loc = [statistics.median(x) for x in local]
    return (
        statistics.median(s),
        statistics.median(loc),
        statistics.median(a / b for a, b in zip(s, loc, strict=True)),
    )


def load_level(
    url: str,
    pages: Sequence[bytes],
    clients: int,
    duration: float,
    send: Callable[[bytes], int] | None = None,
    probe: str | None = "/ready",
    keep: list[float] | None = None,
    passes: int | None = None,
) -> dict[str, float]:
    """Closed loop: *clients* threads send pages back to back for *duration* seconds.

    With *passes*, *duration* is ignored: the clients share one list holding every page *passes* times
    and stop when it is done, so every server measured this way does exactly the same work (a fixed time
    window gives a slow server a different mix of large and small pages than a fast one).
    *send* posts one page and returns the status (default: ocrfn's ``/api/ocr``, raw bytes); *probe* is
    the path polled every 100 ms alongside (``None``: no probe); *keep* receives the latencies of the
    200 answers.
    """
    post = send or (lambda image: ocr(url, image).status_code)
    latencies: list[float] = []
    statuses: list[int] = []
    probes: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + duration
    work = iter(range(len(pages) * passes)) if passes is not None else None
    done = threading.Event()

    def next_page(i: int) -> int | None:
        """The next page index this client sends, or None when the level is over."""
        if work is None:
            return i if time.monotonic() < stop else None
        with lock:
            return next(work, None)

    def client(offset: int) -> None:
        i = offset
        while (k := next_page(i)) is not None:
            began = time.monotonic()
            status = post(pages[k % len(pages)])
            with lock:
                statuses.append(status)
                if status == 200:
                    latencies.append(time.monotonic() - began)
            i += 1

    def prober() -> None:
        while not done.is_set():
            began = time.monotonic()
            requests.get(f"{url}{probe}", timeout=5)
            probes.append(time.monotonic() - began)
            time.sleep(0.1)

    threads = [threading.Thread(target=client, args=(k * 7,)) for k in range(clients)]
    if probe is not None:
        threads.append(threading.Thread(target=prober))
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads[:clients]:
        t.join()
    elapsed = time.monotonic() - began
    done.set()
    for t in threads[clients:]:
        t.join()
    if keep is not None:
        keep.extend(latencies)
    return {
        "clients": clients,
        "requests": len(statuses),
        "ok": len(latencies),
        "errors": sum(1 for s in statuses if s != 200),
        "rps": len(latencies) / elapsed,
        "p50": percentile(latencies, 50) if latencies else float("nan"),
        "p95": percentile(latencies, 95) if latencies else float("nan"),
        "probe_p50": percentile(probes, 50) if probes else float("nan"),
        "probe_max": max(probes) if probes else float("nan"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="evaluation manifest directory")
    parser.add_argument("--levels", default="1,2,4,8", help="client concurrency levels (default 1,2,4,8)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per level (default 20)")
    parser.add_argument("--cold", type=int, default=5, help="cold starts to time (default 5)")
    parser.add_argument("--passes", type=int, default=3, help="passes for worker vs in-process (default 3)")
    parser.add_argument(
        "--queue", type=int, default=None, help="OCRFN_MAX_QUEUE of the server (default: twice the top level)"
    )
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",") if x]
    pages, source = load_pages(args.data)
    info = machine_info()

    with tempfile.TemporaryDirectory(prefix="ocrfn-bench-") as tmp:
        workdir = Path(tmp)
        cold = cold_starts(workdir, args.cold)
        # By default a queue long enough that no level is refused: the curve shows latency, not 429s.
        queue = args.queue if args.queue is not None else max(levels) * 2
        server = Server(workdir, {"OCRFN_MAX_QUEUE": str(queue)})
        try:
            server.wait_ready()
            served, local, ratio = worker_vs_in_process(server.url, pages, args.passes)
            curve = [load_level(server.url, pages, c, args.duration) for c in levels]
            rss = metric_value(server.url, "process_resident_memory_bytes") or float("nan")
        finally:
            server.stop()

    print("### ocrfn served over HTTP (one process)\n")
    print(
        f"- Machine: {info['cpu']}, {info['usable_cpus']} usable CPUs, Python {info['python']}, "
        f"onnxruntime {info['onnxruntime']}; {info['platform']}"
    )
    print(f"- Date: {info['date']}")
    print(
        f"- Server: `functions-framework --target ocr --source function/main.py`, OCRFN_THREADS=2, "
        f"default model set, OCRFN_MAX_QUEUE={queue}; images: {source}, sent raw (`image/png`)\n"
    )
    print(
        "Cold start (fresh process each time; first OCR = command start to the first 200 of a one-line "
        "request; ready = the server's `ocrfn_cold_start_seconds`):\n"
    )
    print("| | median | min | max |")
    print("|---|---:|---:|---:|")
    for key, label in (
        ("first_ocr", "command start → first OCR response"),
        ("ready", "process start → ready"),
        ("load", "session creation"),
    ):
        values = [c[key] for c in cold]
        print(f"| {label} | {statistics.median(values):.2f} s | {min(values):.2f} s | {max(values):.2f} s |")
    print(
        f"\nInference per page, median over pages ({args.passes} interleaved passes): served worker "
        f"{served * 1000:.1f} ms, in-process engine {local * 1000:.1f} ms, "
        f"median per-page ratio ×{ratio:.2f}.\n"
    )
    print(
        f"Load curve ({args.duration:.0f} s per level, closed loop; "
        "`/ready` probed every 100 ms alongside):\n"
    )
    print("| clients | requests | non-200 | req/s (200) | p50 | p95 | /ready p50 | /ready max |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in curve:
        print(
            f"| {row['clients']} | {row['requests']} | {row['errors']} | {row['rps']:.2f} | "
            f"{row['p50'] * 1000:.0f} ms | {row['p95'] * 1000:.0f} ms | {row['probe_p50'] * 1000:.1f} ms | "
            f"{row['probe_max'] * 1000:.1f} ms |"
        )
    print(f"\nServer RSS after the run: {rss / 1e6:.0f} MB.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
