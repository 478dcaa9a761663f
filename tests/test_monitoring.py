"""knative/monitoring/: the Grafana dashboard is a valid dashboard whose every query runs, in a real
Prometheus scraping a real server, on metrics that server exports; the PodMonitor selects the Service's pods.

`.ci/run` installs Debian's ``prometheus`` when it is missing and sets ``OCRFN_REQUIRE_PROMETHEUS=1``, so in
CI the query test runs; elsewhere it is skipped when Prometheus is not installed.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil

import pytest
import requests
import yaml
from conftest import DATA, image_bytes, tiled_receipt
from eventing import event, send
from PIL import Image
from prometheus import Prometheus, dashboard, metric_names, panel_targets, prometheus_binary, runnable
from prometheus_client.parser import text_string_to_metric_families
from server import ROOT, Server
from test_document import image_pdf

MONITORING = ROOT / "knative" / "monitoring"
#: Knative Serving's own metrics the dashboard may read (the autoscaler's, as Knative Serving up to 1.18
#: exports them to Prometheus: https://knative.dev/v1.18-docs/serving/observability/metrics/serving-metrics).
KNATIVE_METRICS = {"autoscaler_desired_pods", "autoscaler_actual_pods"}
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
#: The labels the PodMonitor gives a pod (namespace and pod from the Prometheus Operator, the others from
#: its relabelings).
POD_LABELS = {"namespace": "default", "service": "ocrfn", "revision": "ocrfn-00001", "pod": "ocrfn-00001-abc"}
#: Panels that stay empty unless something is refused or an event fails (asserted where they do apply).
MAY_BE_EMPTY = {"Refused: 429 and 503"}


@pytest.fixture(scope="module")
def busy(tmp_path_factory):
    """A server (local buckets) that has served images, a PDF, client errors and events, good and bad."""
    root = tmp_path_factory.mktemp("buckets")
    (root / "photos").mkdir()
    shutil.copy(DATA / "images" / "receipt.png", root / "photos" / "receipt.png")
    srv = Server(tmp_path_factory.mktemp("monitoring"), {"OCRFN_FILE_ROOT": str(root), "K_SERVICE": "ocrfn"})
    srv.wait_ready()
    yield srv
    srv.stop()


def workload(url: str, srv: Server) -> None:
    """What a busy minute holds: OCR of images and of a PDF, client mistakes, events good and bad."""
    ocr = url + "/api/ocr"
    for name in ("receipt.png", "line_en.png"):
        assert requests.post(ocr, data=image_bytes(name), headers={"Content-Type": "image/png"}).ok
    sheet = Image.open(io.BytesIO(tiled_receipt(1, 1))).convert("RGB")
    pdf = requests.post(ocr, data=image_pdf([sheet, sheet]), headers={"Content-Type": "application/pdf"})
    assert pdf.status_code == 200 and len(pdf.json()["pages"]) == 2
    assert requests.post(ocr, json={"image_base64": "!!"}).status_code == 400
    assert requests.post(ocr, json={"image_base64": base64.b64encode(b"text").decode()}).status_code == 400
    assert requests.get(url + "/nope").status_code == 404
    request = "dev.ocrfn.ocr.request"
    assert send(srv, event(request, {"url": "file://photos/receipt.png"})).status_code == 200
    assert send(srv, event(request, {"url": "file://photos/receipt.png"})).status_code == 200  # duplicate
    assert send(srv, event(request, {"url": "file://photos/missing.png"})).status_code == 422


def sample_names(url: str) -> set[str]:
    """Names of the samples a server's ``/metrics`` holds now."""
    text = requests.get(url + "/metrics", timeout=10).text
    return {s.name for family in text_string_to_metric_families(text) for s in family.samples}


# ---------------------------------------------------------------------------------------------------------
# The dashboard as a Grafana dashboard
# ---------------------------------------------------------------------------------------------------------
def test_dashboard_is_a_valid_grafana_dashboard():
    board = dashboard()
    assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 36
    assert board["title"] and re.fullmatch(r"[A-Za-z0-9_-]{1,40}", board["uid"])
    panels = [p for panel in board["panels"] for p in [panel, *panel.get("panels", [])]]
    ids = [p["id"] for p in panels]
    assert all(isinstance(i, int) for i in ids) and len(ids) == len(set(ids)), "panel ids must be unique"
    occupied: set[tuple[int, int]] = set()
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24 and pos["h"] > 0, panel["title"]
        cells = {
            (x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not cells & occupied, f"{panel['title']} overlaps another panel"
        occupied |= cells
        if panel["type"] == "row":
            continue
        assert panel["type"] in ("timeseries", "stat") and panel["title"] and panel["description"]
        assert panel["datasource"] == DATASOURCE, f"{panel['title']}: use the datasource variable"
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs))
        assert all(t["datasource"] == DATASOURCE and t["expr"].strip() for t in panel["targets"])
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert (
        variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    )
    for variable in variables.values():
        if variable["type"] == "query":
            assert variable["datasource"] == DATASOURCE
    used = {m for _, t in panel_targets(board) for m in re.findall(r"\$(\w+)", t["expr"])}
    used |= {m for v in variables.values() for m in re.findall(r"\$(\w+)", v.get("definition", ""))}
    builtin = {"__rate_interval", "__range", "__interval"}
    assert used - builtin <= set(variables), f"undefined variables: {used - builtin - set(variables)}"


def test_metric_names_are_read_out_of_promql():
    expr = (
        'sum by (route, status) (rate(ocrfn_http_requests_total{service=~"$service", route="a{b}"}[5m])) '
        "/ on (pod) group_left max without (le) (process_resident_memory_bytes) > bool 0"
    )
    assert metric_names(expr) == {"ocrfn_http_requests_total", "process_resident_memory_bytes"}


def test_every_metric_the_dashboard_reads_exists_on_a_real_server(busy):
    workload(busy.url, busy)
    exported = sample_names(busy.url)
    read = {name for _, target in panel_targets(dashboard()) for name in metric_names(target["expr"])}
    assert len(read) >= 15  # the extraction found the dashboard's metrics
    missing = read - exported - KNATIVE_METRICS
    assert not missing, f"the dashboard reads metrics the server does not export: {sorted(missing)}"
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            assert metric_names(variable["definition"].split("(", 1)[1].rsplit(",", 1)[0]) <= exported


# ---------------------------------------------------------------------------------------------------------
# The dashboard's queries in a real Prometheus
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scraped(busy, tmp_path_factory):
    if prometheus_binary() is None:
        if os.environ.get("OCRFN_REQUIRE_PROMETHEUS") == "1":
            pytest.fail(
                "Debian's prometheus is required here (OCRFN_REQUIRE_PROMETHEUS=1) but is not installed"
            )
        pytest.skip("Debian's prometheus is not installed (apt-get install prometheus)")
    prom = Prometheus(tmp_path_factory.mktemp("prometheus"), {f"127.0.0.1:{busy.port}": POD_LABELS})
    try:
        prom.wait_ready()
        prom.wait_scraped(2)
        workload(busy.url, busy)
        prom.wait_scraped(6)
        yield prom
    finally:
        prom.stop()


def test_every_dashboard_query_runs_and_shows_the_workload(scraped):
    results = {}
    for panel, target in panel_targets(dashboard()):
        expr = runnable(target["expr"], "1m", "5m")
        answer = scraped.api("/api/v1/query", {"query": expr})
        assert answer["status"] == "success", f"{panel['title']}: {expr}: {answer.get('error')}"
        results.setdefault(panel["title"], []).append(answer["data"]["result"])
        if metric_names(target["expr"]) & KNATIVE_METRICS or panel["title"] in MAY_BE_EMPTY:
            continue
        assert answer["data"]["result"], f"{panel['title']}: {expr} is empty on a busy server"

    def values(title: str, index: int = 0) -> dict[str, float]:
        return {
            ",".join(f"{k}={v}" for k, v in sorted(r["metric"].items())): float(r["value"][1])
            for r in results[title][index]
        }

    assert list(values("Ready pods").values()) == [1.0]
    assert list(values("Cold starts").values()) == [1.0]
    by_route = values("Requests by route and status")
    assert by_route["route=/api/ocr,status=200"] > 0 and by_route["route=/api/ocr,status=400"] > 0
    assert by_route["route=/,status=422"] > 0  # the event whose object is missing
    assert set(values("Events by outcome")) >= {
        "outcome=completed",
        "outcome=duplicate",
        "outcome=object_missing",
    }
    assert list(values("Failed events")) == ["outcome=object_missing,source=ocrfn,type=dev.ocrfn.ocr.request"]
    assert {"stage=detect", "stage=recognize", "stage=decode"} <= set(values("Mean time per stage"))
    assert values("Images, pages and lines", 1)["source=ocr"] > 0  # the PDF's pages
    assert values("Documents", 1)[""] == pytest.approx(2.0)  # pages per document
    assert list(values("Resident memory")) == [f"pod={POD_LABELS['pod']}"]


def test_the_dashboard_variables_find_the_pods_labels(scraped):
    for label in ("namespace", "service", "revision"):
        answer = scraped.api(f"/api/v1/label/{label}/values", {"match[]": "ocrfn_ready"})
        assert answer["data"] == [POD_LABELS[label]]


# ---------------------------------------------------------------------------------------------------------
# The PodMonitor
# ---------------------------------------------------------------------------------------------------------
def test_podmonitor_scrapes_the_service_pods_with_the_dashboards_labels():
    (monitor,) = list(yaml.safe_load_all((MONITORING / "podmonitor.yaml").read_text(encoding="utf-8")))
    service = yaml.safe_load((ROOT / "knative" / "service.yaml").read_text(encoding="utf-8"))
    assert (monitor["apiVersion"], monitor["kind"]) == ("monitoring.coreos.com/v1", "PodMonitor")
    assert monitor["spec"]["selector"]["matchLabels"] == {
        "serving.knative.dev/service": service["metadata"]["name"]
    }
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "user-port"  # Knative's name for the user container's port on every pod
    assert endpoint["path"] == "/metrics"
    relabeled = {r["targetLabel"]: r["sourceLabels"] for r in endpoint["relabelings"]}
    assert relabeled == {
        "service": ["__meta_kubernetes_pod_label_serving_knative_dev_service"],
        "revision": ["__meta_kubernetes_pod_label_serving_knative_dev_revision"],
    }
    variables = {v["name"] for v in dashboard()["templating"]["list"] if v["type"] == "query"}
    assert variables == {"namespace", *relabeled}  # namespace: added by the Prometheus Operator
