"""The worst request of each hostile-input class: peak memory, time and answer, for one server build.

Starts one server (``--checkout`` and ``--command``: this repository and ``python -m function.server`` by
default; an older checkout with its own command gives the "before" column), with the image and document
budgets at 5 s, then sends one request of each class (inputs from ``tests/bombs.py``) and samples the RSS
of all the server's processes every 10 ms. Printed per class: status, seconds, peak RSS above the level
before the request, RSS left above it 2 s after, and whether the worker process is still the same one.
Cloud-mode classes run against moto's S3 server; slow clients are measured by ``/ready`` latency.

Example (from the repository root)::

    python3 benchmarks/hostile.py
    git worktree add /tmp/before 6431f4f
    python3 benchmarks/hostile.py --checkout /tmp/before \\
        --command "functions-framework --target ocr --source function/main.py"
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests

_REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_REPO), str(_REPO / "tests")]

from bombs import (  # noqa: E402  (tests/bombs.py)
    json_objects,
    many_page_tiff,
    nested_forms_pdf,
    progressive_jpeg_bomb,
    text_layer_pdf,
)
from conftest import image_bytes  # noqa: E402
from eventing import Moto, minio_body, s3_env  # noqa: E402
from server import Server, server_command  # noqa: E402

from benchmarks.evaluate import machine_info  # noqa: E402

BUDGETS = {"OCRFN_TIME_BUDGET": "5", "OCRFN_DOCUMENT_TIME_BUDGET": "5", "OCRFN_THREADS": "2"}
TIMEOUT = 300


class Sampler:
    """Samples a server's total RSS every 10 ms in a thread; ``peak`` is the highest seen."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.server.tree_rss())
            time.sleep(0.01)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def worker_started(server: Server) -> float | None:
    try:
        text = requests.get(server.url + "/metrics", timeout=10).text
    except requests.RequestException:
        return None
    for line in text.splitlines():
        if line.startswith("process_start_time_seconds "):
            return float(line.split()[1])
    return None


def measure(server: Server, name: str, send: Callable[[], str]) -> dict[str, object]:
    """Run one hostile request; its answer, time, and the memory it cost."""
    time.sleep(0.5)
    base = server.tree_rss()
    started_worker = worker_started(server)
    started = time.monotonic()
    with Sampler(server) as sampler:
        try:
            answer = send()
        except requests.RequestException as exc:
            answer = f"no answer ({type(exc).__name__})"
    seconds = time.monotonic() - started
    time.sleep(2.0)
    after = server.tree_rss()
    ready = 0.0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # a crashed worker is replaced: wait until it serves again
        try:
            if requests.get(server.url + "/ready", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        ready += 0.2
        time.sleep(0.2)
    row = {
        "class": name,
        "answer": answer,
        "seconds": round(seconds, 1),
        "peak_mb": round((sampler.peak - base) / 1e6),
        "left_mb": round((after - base) / 1e6),
        "same_worker": worker_started(server) == started_worker,
    }
    print(json.dumps(row, ensure_ascii=False), flush=True)
    return row


def post(server: Server, data: bytes | Iterator[bytes], kind: str, path: str = "/api/ocr", **extra) -> str:
    headers = {"Content-Type": kind, **extra.pop("headers", {})}
    response = requests.post(server.url + path, data=data, headers=headers, timeout=TIMEOUT, **extra)
    return status(response)


def status(response: requests.Response) -> str:
    try:
        error = response.json().get("error") or ""
    except ValueError:
        error = response.headers.get("Content-Type", "")
    return f"{response.status_code} {error}".strip()


def zeros(total: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    block = b"\0" * chunk
    for _ in range(total // chunk):
        yield block


@contextmanager
def started(checkout: Path, command: list[str], env: dict[str, str], logs: Path) -> Iterator[Server]:
    server = Server(logs, {**BUDGETS, **env}, command=command, cwd=checkout)
    try:
        server.wait_ready(120)
        yield server
    finally:
        server.stop()


def ready_latency(server: Server, count: int) -> list[float]:
    times = []
    for _ in range(count):
        begun = time.monotonic()
        try:
            requests.get(server.url + "/ready", timeout=10)
            times.append(time.monotonic() - begun)
        except requests.RequestException:
            times.append(10.0)
    return times


def slow_clients(server: Server) -> str:
    held = []
    for _ in range(8):
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"POST /api/ocr HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n")
        held.append(sock)
    for _ in range(48):
        held.append(socket.create_connection(("127.0.0.1", server.port)))
    time.sleep(0.5)
    latency = ready_latency(server, 10)
    for sock in held:
        sock.close()
    return f"/ready median {statistics.median(latency) * 1000:.0f} ms, max {max(latency) * 1000:.0f} ms"


def local_rows(server: Server, root: Path) -> list[dict[str, object]]:
    pdf = "application/pdf"
    rows = [
        measure(
            server,
            "body of 1.5 GB to an unknown path",
            lambda: post(server, zeros(1_500_000_000), "image/png", "/nowhere"),
        ),
        measure(
            server,
            "JSON [{},{},...] of 48 MB",
            lambda: post(server, json_objects(16_000_000), "application/json"),
        ),
        measure(
            server,
            "multipart with 50 000 parts",
            lambda: post(
                server,
                "".join(
                    f'--b\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nx\r\n' for i in range(50_000)
                ).encode()
                + b"--b--\r\n",
                "multipart/form-data; boundary=b",
            ),
        ),
        measure(
            server, "PDF of nested forms (3.7 KB, depth 18)", lambda: post(server, nested_forms_pdf(18), pdf)
        ),
        measure(
            server,
            "text layer of 20 000 runs (517 KB), JSON",
            lambda: post(server, text_layer_pdf(20_000), pdf),
        ),
        measure(
            server,
            "text layer of 20 000 runs (517 KB), hOCR",
            lambda: post(server, text_layer_pdf(20_000), pdf, "/api/ocr?format=hocr"),
        ),
        measure(
            server,
            "text layer of 60 000 runs, compressed",
            lambda: post(server, text_layer_pdf(60_000, True), pdf),
        ),
        measure(server, "TIFF of 20 000 pages", lambda: post(server, many_page_tiff(20_000), "image/tiff")),
        measure(
            server,
            "progressive JPEG, 10 000 scans",
            lambda: post(server, progressive_jpeg_bomb(6000, 10_000), "image/jpeg"),
        ),
        measure(server, "8 dripping heads + 48 idle connections", lambda: slow_clients(server)),
    ]

    def methods() -> str:
        before = len(requests.get(server.url + "/metrics", timeout=10).content)
        for i in range(20_000):
            requests.request(f"M{i}", server.url + "/api/ocr", timeout=10)
        after = len(requests.get(server.url + "/metrics", timeout=10).content)
        return f"/metrics {before / 1000:.1f} KB -> {after / 1000:.1f} KB"

    rows.append(measure(server, "20 000 made-up methods", methods))
    (root / "photos" / "ocr-results").mkdir(parents=True)
    (root / "photos" / "scan.png").write_bytes(image_bytes("line_en.png"))
    with open(root / "photos" / "ocr-results" / "scan.png.json", "wb") as huge:
        huge.truncate(1_200_000_000)
    event = {"specversion": "1.0", "type": "dev.ocrfn.ocr.request", "source": "bench", "id": "1"}
    headers = {f"ce-{k}": v for k, v in event.items()}
    body = json.dumps({"url": "file://photos/scan.png", "version": "v1"}).encode()
    rows.append(
        measure(
            server,
            "1.2 GB file at the result key",
            lambda: post(server, body, "application/json", "/", headers=headers),
        )
    )
    return rows


def cloud_rows(server: Server) -> list[dict[str, object]]:
    def panic() -> str:
        record = minio_body("a b", "r.png", "e1")
        return status(requests.post(server.url + "/", json=record, timeout=60))

    def buckets() -> str:
        for i in range(4000):
            body = {"url": f"s3://bucket-{i:05d}/a.png"}
            requests.post(
                server.url + "/",
                json=body,
                headers={
                    "ce-specversion": "1.0",
                    "ce-type": "dev.ocrfn.ocr.request",
                    "ce-source": "b",
                    "ce-id": str(i),
                },
                timeout=60,
            )
        return "4000 events"

    return [
        measure(server, "bucket name 'a b' (MinIO webhook)", panic),
        measure(server, "4000 events for new bucket names", buckets),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, default=_REPO, help="the build to measure (a git checkout)")
    parser.add_argument(
        "--command", default=None, help="its start command (default: python -m function.server)"
    )
    args = parser.parse_args(argv)
    command = shlex.split(args.command) if args.command else server_command()
    if args.command and not os.path.isabs(command[0]) and command[0] != "python":
        command[0] = str(Path(sys.executable).with_name(command[0]))
    print(f"- Machine: {machine_info()}")
    print(f"- Build: {args.checkout}, command {shlex.join(command)}; budgets {BUDGETS}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "buckets"
        (root).mkdir()
        with started(args.checkout, command, {"OCRFN_FILE_ROOT": str(root)}, Path(tmp)) as server:
            rows = local_rows(server, root)
        moto = Moto()
        moto.start()
        try:
            with started(
                args.checkout, command, {**s3_env(moto), "OCRFN_STORAGE": "cloud"}, Path(tmp)
            ) as server:
                rows += cloud_rows(server)
        finally:
            moto.stop()
    print()
    print("| class | answer | seconds | peak RSS | RSS left after 2 s | same worker |")
    print("|---|---|---:|---:|---:|---|")
    for row in rows:
        print(
            f"| {row['class']} | {row['answer']} | {row['seconds']} | +{row['peak_mb']} MB | "
            f"{row['left_mb']:+d} MB | {'yes' if row['same_worker'] else 'no'} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
