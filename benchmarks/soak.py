"""Soak: sustained load on one server process at the Knative concurrency, minute by minute.

One server (the README command, settings as in ``knative/service.yaml``: 2 threads, concurrency 1, queue
4, ``MALLOC_ARENA_MAX=2``) receives a closed loop of ``--clients`` (default 2 = ``containerConcurrency``)
for ``--minutes`` (default 10). The mix cycles through pages and single lines of varied sizes: the
evaluation set's pages and lines (``--data``) or, without it, the rendered test images. Printed per
minute: requests, errors, p50/p95 latency and the worker's RSS; then the verdicts: zero errors, p95 of the
last minute no more than 25% above the first (the minute-to-minute spread is printed too: it reflects
which pages of the mix fell into each minute), RSS growth after the first (warm-up) minute under 10%.

Example (from the repository root)::

    python3 benchmarks/soak.py --minutes 10
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import requests

_REPO = Path(__file__).resolve().parents[1]
for extra in (_REPO, _REPO / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from server import Server  # noqa: E402  (tests/server.py)

from benchmarks.evaluate import machine_info  # noqa: E402
from benchmarks.http_load import percentile  # noqa: E402

DEFAULT_DATA = _REPO.parent / "shared" / "eval" / "real"
KNATIVE_ENV = {
    "OCRFN_THREADS": "2",
    "OCRFN_CONCURRENCY": "1",
    "OCRFN_MAX_QUEUE": "4",
    "MALLOC_ARENA_MAX": "2",
}


def workload(data: Path) -> tuple[list[tuple[str, bytes]], str]:
    """(query, image) pairs: pages with detection, lines in single-line mode, interleaved."""
    manifest = data / "manifest.json"
    if manifest.exists():
        entries = json.loads(manifest.read_text(encoding="utf-8"))
        pages = [(data / e["file"]).read_bytes() for e in entries if e["kind"] == "page"]
        lines = [(data / e["file"]).read_bytes() for e in entries if e["kind"] == "line"]
        source = f"{len(pages)} pages and {len(lines)} lines of {data}"
    else:
        images = _REPO / "tests" / "data" / "images"
        pages = [(images / n).read_bytes() for n in ("receipt.png", "two_column.png", "screenshot.png")]
        lines = [(images / n).read_bytes() for n in ("line_en.png", "line_zh.png", "line_mixed.png")]
        source = "rendered test images"
    mix: list[tuple[str, bytes]] = []
    for i, page in enumerate(pages):
        mix.append(("", page))
        for line in lines[i * 3 : i * 3 + 3]:
            mix.append(("?detect=false", line))
    return mix, source


def worker_rss(server: Server) -> float:
    """RSS of the gunicorn worker and its decoder processes (everything but the master), in bytes."""
    return float(server.tree_rss(workers_only=True))


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args(argv)
    mix, source = workload(args.data)
    info = machine_info()
    records: list[tuple[float, float, int]] = []  # (finished at, latency, status)
    rss: list[tuple[float, float]] = []
    lock = threading.Lock()
    with tempfile.TemporaryDirectory(prefix="ocrfn-soak-") as tmp:
        server = Server(Path(tmp), KNATIVE_ENV)
        try:
            server.wait_ready()
            start = time.monotonic()
            stop = start + args.minutes * 60

            def client(offset: int) -> None:
                i = offset
                while time.monotonic() < stop:
                    query, image = mix[i % len(mix)]
                    began = time.monotonic()
                    try:
                        status = requests.post(
                            server.url + "/api/ocr" + query,
                            data=image,
                            headers={"Content-Type": "application/octet-stream"},
                            timeout=120,
                        ).status_code
                    except requests.RequestException:
                        status = 0
                    now = time.monotonic()
                    with lock:
                        records.append((now - start, now - began, status))
                    i += 1

            threads = [threading.Thread(target=client, args=(k * 11,)) for k in range(args.clients)]
            for t in threads:
                t.start()
            while time.monotonic() < stop:
                rss.append((time.monotonic() - start, worker_rss(server)))
                time.sleep(5)
            for t in threads:
                t.join()
            rss.append((time.monotonic() - start, worker_rss(server)))
        finally:
            server.stop()

    minutes = int(args.minutes + 0.999)
    print("### Soak: one server process under sustained load\n")
    print(f"- Machine: {info['cpu']}, {info['usable_cpus']} usable CPUs, Python {info['python']}")
    print(f"- Date: {info['date']}; {args.minutes:g} min, {args.clients} clients (closed loop), settings of")
    print(
        f"  knative/service.yaml ({', '.join(f'{k}={v}' for k, v in KNATIVE_ENV.items())}); mix: {source}\n"
    )
    print("| minute | requests | errors | p50 | p95 | worker RSS (end of minute) |")
    print("|---:|---:|---:|---:|---:|---:|")
    p95s, rss_end = [], []
    for m in range(minutes):
        rows = [r for r in records if m * 60 <= r[0] < (m + 1) * 60]
        ok = [lat for _, lat, status in rows if status == 200]
        errors = sum(1 for *_, status in rows if status != 200)
        in_minute = [v for t, v in rss if t < (m + 1) * 60]
        end_rss = in_minute[-1] if in_minute else float("nan")
        rss_end.append(end_rss)
        p95 = percentile(ok, 95) if ok else float("nan")
        p95s.append(p95)
        p50 = statistics.median(ok) if ok else float("nan")
        print(
            f"| {m + 1} | {len(rows)} | {errors} | {p50 * 1000:.0f} ms | {p95 * 1000:.0f} ms "
            f"| {end_rss / 1e6:.0f} MB |"
        )
    total_errors = sum(1 for *_, status in records if status != 200)
    growth = (rss_end[-1] - rss_end[0]) / rss_end[0]
    drift = (p95s[-1] - p95s[0]) / p95s[0]
    print(
        f"\nVerdicts: errors {total_errors} of {len(records)} (goal 0); p95 last vs first minute "
        f"{drift * 100:+.0f}% (goal: at most +25%; per-minute p95 ranged {min(p95s) * 1000:.0f}–"
        f"{max(p95s) * 1000:.0f} ms); RSS after the warm-up minute "
        f"{rss_end[0] / 1e6:.0f} → {rss_end[-1] / 1e6:.0f} MB, {growth * 100:+.1f}% (goal < 10%)."
    )
    return 0 if total_errors == 0 and drift <= 0.25 and growth < 0.10 else 1


if __name__ == "__main__":
    raise SystemExit(main())
