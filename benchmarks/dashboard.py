"""The Grafana dashboard's picture, from real data: a load on real servers, scraped by a real Prometheus.

Runs about two and a half minutes on this machine:

1. pod A starts (a cold start) and serves one closed-loop client: images of the test set, a client
   mistake now and then, bucket-upload events (new objects, redeliveries, missing objects, non-images);
2. pod B starts (scale-up): three clients spread over both pods, a two-page PDF every few seconds;
3. a burst of eight clients on pod A alone: more than its queue holds, so some get 429;
4. pod B stops (scale-down, SIGTERM) and one client goes on.

Debian's Prometheus (``apt-get install prometheus``) scrapes both pods every 2 s with the labels the
PodMonitor gives them. Then every query of ``knative/monitoring/dashboard.json`` is run over the whole
span (Grafana's variables set to every value, ``$__rate_interval`` 20 s) and drawn with matplotlib in the
dashboard's own layout; the totals are printed.

Example (from the repository root, with benchmarks/requirements.txt installed)::

    python3 benchmarks/dashboard.py --out knative/monitoring/dashboard.png
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import itertools
import json
import math
import re
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import requests

_REPO = Path(__file__).resolve().parents[1]
for extra in (_REPO, _REPO / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from conftest import tiled_receipt  # noqa: E402  (tests/conftest.py: the rendered test pages)
from PIL import Image  # noqa: E402
from prometheus import Prometheus, dashboard, panel_targets, runnable  # noqa: E402  (tests/prometheus.py)
from server import Server, free_port  # noqa: E402  (tests/server.py)
from test_document import image_pdf  # noqa: E402

from benchmarks.evaluate import machine_info  # noqa: E402

IMAGES = _REPO / "tests" / "data" / "images"
PAGES = ("receipt.png", "screenshot.png", "two_column.png", "sign_photo.jpg", "line_zh.png", "line_en.png")
RATE_INTERVAL = "20s"
STEP = 2.0
NAMESPACE, SERVICE, REVISION = "default", "ocrfn", "ocrfn-00001"


class Load:
    """Closed-loop clients sending a mix of OCR requests and events to a set of pods."""

    def __init__(self, buckets: Path) -> None:
        self.buckets = buckets
        self.pages = [(IMAGES / name).read_bytes() for name in PAGES]
        sheet = Image.open(io.BytesIO(tiled_receipt(1, 1))).convert("RGB")
        self.pdf = image_pdf([sheet, sheet])
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._sequence = itertools.count()

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def one(self, url: str, with_pdf: bool) -> None:
        """Send the next request of the mix to *url* and count its status."""
        n = next(self._sequence)
        try:
            if n % 7 == 3:
                response = self._event(url, n)
            elif n % 11 == 5:
                response = requests.post(url + "/api/ocr", json={"image_base64": "!!"}, timeout=60)
            elif with_pdf and n % 9 == 0:
                response = self._post(url, self.pdf, "application/pdf")
            else:
                response = self._post(url, self.pages[n % len(self.pages)], "image/png")
            self._count(str(response.status_code))
            if response.status_code == 429:  # as a well-behaved client does
                time.sleep(float(response.headers.get("Retry-After", "1")))
        except requests.RequestException:
            self._count("connection error")

    def _post(self, url: str, data: bytes, kind: str) -> requests.Response:
        return requests.post(url + "/api/ocr", data=data, headers={"Content-Type": kind}, timeout=120)

    def _event(self, url: str, n: int) -> requests.Response:
        """An ocrfn request event: a new upload, a redelivery, a missing object or a non-image."""
        kind = n // 7 % 4
        key = f"in/{uuid.uuid4().hex}.png"
        if kind in (0, 1):
            (self.buckets / "uploads" / "in").mkdir(parents=True, exist_ok=True)
            (self.buckets / "uploads" / key).write_bytes(self.pages[n % len(self.pages)])
        if kind == 3:
            key = key.replace(".png", ".txt")
        data = json.dumps({"url": f"file://uploads/{key}"}).encode()
        headers = {
            "ce-specversion": "1.0",
            "ce-type": "dev.ocrfn.ocr.request",
            "ce-source": "benchmarks/dashboard.py",
            "ce-id": uuid.uuid4().hex,
            "Content-Type": "application/json",
        }
        response = requests.post(url + "/", data=data, headers=headers, timeout=120)
        if kind == 1:  # the same upload delivered again
            headers["ce-id"] = uuid.uuid4().hex
            response = requests.post(url + "/", data=data, headers=headers, timeout=120)
        return response

    def run(self, urls: Callable[[], Sequence[str]], clients: int, seconds: float, with_pdf: bool) -> None:
        """*clients* closed-loop clients for *seconds*, each sending to the pods *urls* lists."""
        deadline = time.monotonic() + seconds

        def client(index: int) -> None:
            while time.monotonic() < deadline:
                pods = urls()
                self.one(pods[index % len(pods)], with_pdf)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def pod_labels(name: str) -> dict[str, str]:
    """The labels the PodMonitor gives a pod of the Service."""
    return {"namespace": NAMESPACE, "service": SERVICE, "revision": REVISION, "pod": f"{REVISION}-{name}"}


def run_load(workdir: Path, phase: float) -> tuple[Prometheus, float, float, Load]:
    """Start Prometheus and the pods, run the four phases (*phase* seconds each); return Prometheus
    (still running), the span's start and end (epoch seconds) and the load's answer counts."""
    buckets = workdir / "buckets"
    (buckets / "uploads").mkdir(parents=True)
    env = {"OCRFN_FILE_ROOT": str(buckets), "K_SERVICE": SERVICE, "K_REVISION": REVISION}
    ports = {"a": free_port(), "b": free_port()}
    targets = {f"127.0.0.1:{port}": pod_labels(f"deployment-{name}") for name, port in ports.items()}
    (workdir / "prometheus").mkdir()
    prom = Prometheus(workdir / "prometheus", targets, f"{STEP:g}s")
    load = Load(buckets)
    pods: dict[str, Server] = {}
    live = ["a"]

    def urls() -> list[str]:
        return [pods[name].url for name in list(live)]

    try:
        prom.wait_ready()
        start = time.time()
        pods["a"] = Server(workdir, env, port=ports["a"])
        pods["a"].wait_ready()
        load.run(urls, 1, phase, with_pdf=False)
        print(f"{time.time() - start:6.1f} s: pod b starts", file=sys.stderr)
        pods["b"] = Server(workdir, env, port=ports["b"])
        pods["b"].wait_ready()
        live.append("b")
        load.run(urls, 3, phase, with_pdf=True)
        print(f"{time.time() - start:6.1f} s: a burst of 8 clients on pod a", file=sys.stderr)
        load.run(lambda: [pods["a"].url], 8, phase / 2, with_pdf=False)
        print(f"{time.time() - start:6.1f} s: pod b stops", file=sys.stderr)
        live.remove("b")
        pods["b"].stop()
        load.run(urls, 1, phase, with_pdf=False)
        time.sleep(3 * STEP)  # the last scrapes
        end = time.time()
    except BaseException:
        prom.stop()  # on success the caller queries it first, then stops it
        raise
    finally:
        for server in pods.values():
            server.stop()
    return prom, start, end, load


def query_range(prom: Prometheus, expr: str, start: float, end: float) -> list[dict[str, Any]]:
    """Run one dashboard query over the span, as Grafana would."""
    query = runnable(expr, RATE_INTERVAL, f"{math.ceil(end - start)}s")
    answer = prom.api("/api/v1/query_range", {"query": query, "start": start, "end": end, "step": STEP})
    if answer["status"] != "success":
        raise ValueError(f"{query}: {answer.get('error')}")
    return answer["data"]["result"]


def legend(template: str, labels: dict[str, str]) -> str:
    """Grafana's ``{{label}}`` legend format filled in."""
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template).strip()


def unit_scale(unit: str) -> tuple[float, str]:
    """Divide values by this and label the axis so (bytes in MiB, percent as %)."""
    return {"bytes": (2**20, "MiB"), "percentunit": (0.01, "%"), "reqps": (1, "req/s"), "s": (1, "s")}.get(
        unit, (1, "")
    )


def draw(
    board: dict[str, Any], series: dict[int, list[tuple[str, list[float], list[float]]]], out: Path
) -> None:
    """Draw every panel at its grid position: rows as headings, stats as numbers, time series as lines."""
    panels = [p for panel in board["panels"] for p in [panel, *panel.get("panels", [])]]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    fig = plt.figure(figsize=(18, rows * 0.34), dpi=80)
    grid = fig.add_gridspec(rows, 24, hspace=0.0, wspace=0.0, left=0.01, right=0.99, top=0.975, bottom=0.005)
    fig.suptitle(f"{board['title']}: a real load on two pods (benchmarks/dashboard.py)", fontsize=13, y=0.995)
    for panel in panels:
        pos = panel["gridPos"]
        ax = fig.add_subplot(grid[pos["y"] : pos["y"] + pos["h"], pos["x"] : pos["x"] + pos["w"]])
        if panel["type"] == "row":
            ax.axis("off")
            ax.text(
                0.0, 0.5, panel["title"], fontsize=12, fontweight="bold", va="center", transform=ax.transAxes
            )
            continue
        scale, label = unit_scale(panel["fieldConfig"]["defaults"].get("unit", ""))
        inner = ax.inset_axes((0.08, 0.14, 0.9, 0.7)) if panel["type"] == "timeseries" else ax
        ax.set_xticks([])
        ax.set_yticks([])
        ax.text(0.01, 0.97, panel["title"], fontsize=9, va="top", fontweight="bold", transform=ax.transAxes)
        drawn = series.get(panel["id"], [])
        if panel["type"] == "stat":
            values = [v for _, _, ys in drawn for v in ys if not math.isnan(v)]
            text = "no data" if not values else f"{values[-1] / scale:.3g} {label}".strip()
            ax.text(
                0.5, 0.4, text, fontsize=20, ha="center", va="center", transform=ax.transAxes, color="#1f6f3f"
            )
            continue
        for name, xs, ys in drawn:
            inner.plot(
                [dt.datetime.fromtimestamp(x) for x in xs], [y / scale for y in ys], linewidth=1.0, label=name
            )
        inner.xaxis_date()
        inner.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
        inner.tick_params(labelsize=6)
        inner.set_ylabel(label, fontsize=7)
        inner.set_ylim(bottom=0)
        if drawn:
            inner.legend(fontsize=5.5, loc="upper left", ncol=2, frameon=False)
        else:
            inner.text(0.5, 0.5, "no data", ha="center", va="center", transform=inner.transAxes)
    fig.savefig(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the load, query Prometheus, draw the dashboard, print the totals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=_REPO / "knative" / "monitoring" / "dashboard.png")
    parser.add_argument("--phase", type=float, default=40.0, help="seconds per load phase (the burst: half)")
    args = parser.parse_args(argv)
    board = dashboard()
    with tempfile.TemporaryDirectory() as tmp:
        prom, start, end, load = run_load(Path(tmp), args.phase)
        try:
            series: dict[int, list[tuple[str, list[float], list[float]]]] = {}
            for panel, target in panel_targets(board):
                for result in query_range(prom, target["expr"], start, end):
                    xs = [float(t) for t, _ in result["values"]]
                    ys = [float(v) for _, v in result["values"]]
                    name = legend(target.get("legendFormat", ""), result["metric"]) or target["refId"]
                    series.setdefault(panel["id"], []).append((name, xs, ys))
        finally:
            prom.stop()
    draw(board, series, args.out)
    info = machine_info()
    print(f"{info['date']}, {info['cpu']}, {info['usable_cpus']} usable CPUs; span {end - start:.0f} s")
    print("answers by status: " + ", ".join(f"{k}: {v}" for k, v in sorted(load.counts.items())))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
