"""Debian's Prometheus scraping ocrfn servers, and the dashboard's queries as Prometheus runs them.

Used by the monitoring test and by ``benchmarks/dashboard.py`` (which renders the dashboard's picture):
both start a real Prometheus on loopback that scrapes real server processes, with the labels the
PodMonitor in ``knative/monitoring/`` gives a pod (namespace, service, revision, pod).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import requests
from server import ROOT, end_process, free_port, wait_for_http

DASHBOARD = ROOT / "knative" / "monitoring" / "dashboard.json"
#: What the dashboard's variables are replaced with outside Grafana (every value; Grafana's own
#: ``$__rate_interval`` is at least four scrape intervals).
VARIABLES = {"$namespace": ".*", "$service": ".*", "$revision": ".*"}
#: PromQL words that are not metric names.
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless"}
_KEYWORDS |= {"offset", "inf", "nan"}


def dashboard() -> dict[str, Any]:
    """The committed Grafana dashboard."""
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def panel_targets(board: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Every (panel, target) pair of the dashboard, rows' nested panels included."""
    for panel in board["panels"]:
        for inner in [panel, *panel.get("panels", [])]:
            for target in inner.get("targets", []):
                yield inner, target


def runnable(expr: str, rate_interval: str, time_range: str) -> str:
    """*expr* with Grafana's variables replaced, as Prometheus itself can run it."""
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    return expr.replace("$__rate_interval", rate_interval).replace("$__range", time_range)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (not functions, keywords, labels or grouping lists)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings first: they may hold braces
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range selectors
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for found in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = found.group(0)
        if word.lower() in _KEYWORDS or re.match(r"\s*\(", text[found.end() :]):
            continue
        names.add(word)
    return names


def prometheus_binary() -> str | None:
    """Debian's prometheus (``apt-get install prometheus``), or ``None``."""
    return shutil.which("prometheus")


class Prometheus:
    """A Prometheus server in *workdir* scraping *targets* (``host:port`` → labels) every *interval*."""

    def __init__(self, workdir: Path, targets: Mapping[str, Mapping[str, str]], interval: str = "1s") -> None:
        binary = prometheus_binary()
        if binary is None:
            raise RuntimeError("prometheus is not installed (apt-get install prometheus)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "scrape_configs": [
                {
                    "job_name": "ocrfn",
                    "metrics_path": "/metrics",
                    "static_configs": [
                        {"targets": [t], "labels": dict(labels)} for t, labels in targets.items()
                    ],
                }
            ],
        }
        (workdir / "prometheus.yml").write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
        self._log = open(workdir / "prometheus.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Return once Prometheus answers ``/-/ready``."""
        wait_for_http(self.process, self.url + "/-/ready", timeout)

    def wait_scraped(self, scrapes: int = 3, timeout: float = 60.0) -> None:
        """Return once every target has been scraped successfully *scrapes* times."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counts = self.query(f"count_over_time(up[{timeout:.0f}s])")
            ups = self.query("up")
            if (
                counts
                and all(float(c["value"][1]) >= scrapes for c in counts)
                and all(u["value"][1] == "1" for u in ups)
            ):
                return
            time.sleep(0.2)
        raise TimeoutError("targets not scraped in time")

    def api(self, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """One call of the HTTP API; the JSON answer, errors included (``status`` ``error``)."""
        return requests.get(self.url + path, params=dict(params), timeout=30).json()

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Evaluate *expr* now; the result list (raises on an error)."""
        answer = self.api("/api/v1/query", {"query": expr})
        if answer["status"] != "success":
            raise ValueError(f"{expr}: {answer.get('error')}")
        return answer["data"]["result"]

    def stop(self) -> None:
        """Stop the server."""
        end_process(self.process)
        self._log.close()
