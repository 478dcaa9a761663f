"""Server settings against each other under load, on the same CPUs, interleaved: what pays on 2 cores.

Each setting is a set of environment variables for ``python -m function.server``; all its servers run
at once (an idle one costs nothing: its threads block), pinned to the same CPUs (``--cpus``), and are
loaded one at a time in rounds: setting A, B, ..., then again, ``--rounds`` times, so drift on a shared
machine falls on all of them alike. Per round a closed loop of ``--clients`` (default 2, the Service's
``containerConcurrency``) sends the page images for ``--duration`` seconds. Printed per setting: pages/s
(median over rounds, and the range), p50 and p95 latency (over all rounds' requests), errors.

Experiments (``--experiment``):

- ``concurrency``: one OCR job at a time with 2 intra-op threads (the shipped setting) against two jobs at
  once with 1 thread each (``OCRFN_CONCURRENCY=2 OCRFN_THREADS=1``).

Example (from the repository root)::

    python3 benchmarks/tuning.py --experiment concurrency --rounds 4 --duration 20
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
for extra in (_REPO, _REPO / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from server import Server, server_command  # noqa: E402  (tests/server.py)

from benchmarks.evaluate import machine_info  # noqa: E402
from benchmarks.http_load import DEFAULT_DATA, load_level, load_pages, ocr, percentile  # noqa: E402

EXPERIMENTS: dict[str, dict[str, dict[str, str]]] = {
    "concurrency": {
        "1 job x 2 threads (shipped)": {"OCRFN_CONCURRENCY": "1", "OCRFN_THREADS": "2"},
        "2 jobs x 1 thread": {"OCRFN_CONCURRENCY": "2", "OCRFN_THREADS": "1"},
        "2 jobs x 2 threads": {"OCRFN_CONCURRENCY": "2", "OCRFN_THREADS": "2"},
    },
}


def main(argv: Sequence[str] | None = None) -> int:
    """Start one server per setting, load them in rounds, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiment", choices=sorted(EXPERIMENTS), default="concurrency")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="evaluation manifest directory")
    parser.add_argument("--clients", type=int, default=2, help="closed-loop clients (default 2)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds over the settings (default 4)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per setting and round")
    parser.add_argument("--cpus", default="0,1", help="CPUs every server is pinned to (taskset -c)")
    args = parser.parse_args(argv)
    settings = EXPERIMENTS[args.experiment]
    pages, source = load_pages(args.data)
    info = machine_info()
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in settings}
    latencies: dict[str, list[float]] = {name: [] for name in settings}
    with tempfile.TemporaryDirectory(prefix="ocrfn-tuning-") as tmp:
        command = ["taskset", "-c", args.cpus, *server_command()]
        servers = {
            name: Server(Path(tmp), {"OCRFN_MAX_QUEUE": str(2 * args.clients), **env}, command=command)
            for name, env in settings.items()
        }
        try:
            for server in servers.values():
                server.wait_ready()
                for page in pages[:3]:  # untimed: first-call costs
                    ocr(server.url, page)
            for n in range(args.rounds):
                order = list(settings) if n % 2 == 0 else list(reversed(settings))
                for name in order:
                    row = load_level(
                        servers[name].url, pages, args.clients, args.duration, keep=latencies[name]
                    )
                    rows[name].append(row)
                print(f"round {n + 1}/{args.rounds} done", file=sys.stderr)
        finally:
            for server in servers.values():
                server.stop()

    print(f"### Tuning: {args.experiment}\n")
    print(
        f"- Machine: {info['cpu']}, {info['usable_cpus']} usable CPUs; servers pinned to CPUs {args.cpus}; "
        f"{info['date']}; pages: {source}; {args.clients} closed-loop clients, {args.rounds} rounds of "
        f"{args.duration:.0f} s per setting, settings alternating\n"
    )
    print("| setting | pages/s (median of rounds) | range | p50 | p95 | non-200 |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, results in rows.items():
        rates = [r["rps"] for r in results]
        times = latencies[name]
        print(
            f"| {name} | {statistics.median(rates):.2f} | {min(rates):.2f}–{max(rates):.2f} | "
            f"{percentile(times, 50) * 1000:.0f} ms | {percentile(times, 95) * 1000:.0f} ms | "
            f"{sum(int(r['errors']) for r in results)} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
