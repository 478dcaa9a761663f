"""Served throughput: ocrfn's server against rapidocr_api, the peer's own HTTP server, on the same CPUs.

Both servers are started as their users start them, each pinned with ``taskset`` to the same CPUs
(``--cpus``, default ``0,1``): ocrfn with ``python -m function.server`` (``OCRFN_THREADS=2``, the Knative
settings, ``OCRFN_MAX_QUEUE`` long enough that no level is refused), and ``rapidocr_api`` 0.2.0 (uvicorn,
one worker, RapidOCR 3.10 with its defaults) from the peers' venv (``benchmarks/peers-env.txt``). Then the
load curve of ``benchmarks/http_load.py``: closed-loop clients at 1, 2, 4 and 8 (``--levels``) for
``--duration`` seconds each, the same page images cycled, each level run against one server and then the
other (the first alternates), never both at once. With ``--passes N`` every level instead sends every page
N times to each server: the same work for both, so the ratio does not depend on which pages a time window
happened to hold (at 1 page/s a 40 s window is barely more than one pass over the 34 eval pages, whose
times differ by a factor of 100). Printed per level and server: pages/s answered 200,
p50/p95 latency, errors; and each server's RSS (its whole process tree) after the run.

ocrfn gets the image raw (``image/png``), rapidocr_api as its documented multipart field ``image_file``.

Example (from the repository root; the peers' venv at ``.peers``)::

    python3 benchmarks/served_peers.py --passes 3
    python3 benchmarks/served_peers.py --duration 30
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import requests

_REPO = Path(__file__).resolve().parents[1]
for extra in (_REPO, _REPO / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from server import Server, end_process, free_port, server_command, tree_rss, wait_for_http  # noqa: E402  (tests/server.py)

from benchmarks.evaluate import machine_info  # noqa: E402
from benchmarks.http_load import DEFAULT_DATA, load_level, load_pages, ocr  # noqa: E402

PEERS_BIN = _REPO / ".peers" / "bin"


class RapidOcrApi:
    """``rapidocr_api`` on loopback, pinned to *cpus*."""

    def __init__(self, workdir: Path, cpus: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(workdir / "rapidocr_api.log", "wb")  # noqa: SIM115 - closed in stop()
        command = [str(PEERS_BIN / "rapidocr_api"), "-ip", "127.0.0.1", "-p", str(self.port), "-workers", "1"]
        self.process = subprocess.Popen(["taskset", "-c", cpus, *command], stdout=self._log, stderr=self._log)

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Return once the server answers ``GET /``."""
        wait_for_http(self.process, self.url + "/", timeout)

    def send(self, image: bytes) -> int:
        """POST one image as rapidocr_api's ``image_file``; the status (a 200 must hold lines)."""
        response = requests.post(self.url + "/ocr", files={"image_file": ("page.png", image)}, timeout=300)
        if response.status_code == 200 and not isinstance(response.json(), dict):
            return 599  # not the documented answer
        return response.status_code

    def stop(self) -> None:
        """Stop the server."""
        end_process(self.process)
        self._log.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Start both servers, run the curve on each, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="evaluation manifest directory")
    parser.add_argument("--levels", default="1,2,4,8", help="client concurrency levels (default 1,2,4,8)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per level and server")
    parser.add_argument(
        "--passes",
        type=int,
        default=None,
        help="instead of --duration: every level sends every page this many times, to both servers",
    )
    parser.add_argument("--cpus", default="0,1", help="CPUs both servers are pinned to (taskset -c)")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",") if x]
    pages, source = load_pages(args.data)
    info = machine_info()
    with tempfile.TemporaryDirectory(prefix="ocrfn-peers-") as tmp:
        workdir = Path(tmp)
        ocrfn = Server(
            workdir,
            {"OCRFN_MAX_QUEUE": str(max(levels) * 2)},
            command=["taskset", "-c", args.cpus, *server_command()],
        )
        peer = RapidOcrApi(workdir, args.cpus)
        try:
            ocrfn.wait_ready()
            peer.wait_ready()
            # One untimed request each: first-call costs are not part of the curve.
            ocr(ocrfn.url, pages[0])
            peer.send(pages[0])
            systems: dict[str, tuple[str, Callable[[bytes], int] | None, str | None]] = {
                "ocrfn": (ocrfn.url, None, "/ready"),
                "rapidocr_api": (peer.url, peer.send, None),
            }
            curve: dict[str, list[dict[str, float]]] = {name: [] for name in systems}
            for n, clients in enumerate(levels):
                order = list(systems) if n % 2 == 0 else list(reversed(systems))
                for name in order:
                    url, send, probe = systems[name]
                    curve[name].append(
                        load_level(url, pages, clients, args.duration, send, probe, passes=args.passes)
                    )
                    print(f"{name} at {clients} client(s) done", file=sys.stderr)
            rss = {"ocrfn": ocrfn.tree_rss(), "rapidocr_api": tree_rss(peer.process.pid)}
        finally:
            ocrfn.stop()
            peer.stop()

    span = f"every page {args.passes} times" if args.passes else f"{args.duration:.0f} s"
    print("### Served: ocrfn vs rapidocr_api on the same CPUs\n")
    print(
        f"- Machine: {info['cpu']}, {info['usable_cpus']} usable CPUs; both servers pinned to CPUs "
        f"{args.cpus}; {info['date']}; pages: {source}; {span} per level and server, "
        "closed loop, one server loaded at a time"
    )
    print(
        "- ocrfn: `python -m function.server`, OCRFN_THREADS=2, one OCR job at a time, raw `image/png`; "
        "rapidocr_api 0.2.0: `rapidocr_api -workers 1` (RapidOCR 3.10 defaults), multipart `image_file`\n"
    )
    print(
        "| clients | ocrfn pages/s | rapidocr_api pages/s | ratio | ocrfn p50 / p95 | rapidocr_api p50 / p95 "
        "| non-200 (ocrfn / rapidocr_api) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for ours, theirs in zip(curve["ocrfn"], curve["rapidocr_api"], strict=True):
        ratio = ours["rps"] / theirs["rps"] if theirs["rps"] else float("inf")
        print(
            f"| {ours['clients']} | {ours['rps']:.2f} | {theirs['rps']:.2f} | ×{ratio:.2f} | "
            f"{ours['p50'] * 1000:.0f} / {ours['p95'] * 1000:.0f} ms | "
            f"{theirs['p50'] * 1000:.0f} / {theirs['p95'] * 1000:.0f} ms | "
            f"{ours['errors']} / {theirs['errors']} |"
        )
    print(
        f"\nRSS after the run (whole process tree): ocrfn {rss['ocrfn'] / 2**20:.0f} MB, "
        f"rapidocr_api {rss['rapidocr_api'] / 2**20:.0f} MB."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
