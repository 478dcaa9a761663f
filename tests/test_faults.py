"""Faults against a real server: SIGTERM under load (nothing accepted is dropped)."""

from __future__ import annotations

import io
import json
import re
import threading
import time

import requests
from conftest import image_bytes, tiled_receipt
from PIL import Image
from server import Server
from test_document import image_pdf


def metric(server: Server, name: str) -> float:
    text = requests.get(server.url + "/metrics", timeout=5).text
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_sigterm_finishes_the_running_document_and_answers_every_queued_request(tmp_path):
    """SIGTERM during a long document: it completes; the requests queued behind it get 503 at once."""
    sheet = Image.open(io.BytesIO(tiled_receipt(2, 3))).convert("RGB")
    document = image_pdf([sheet] * 6)  # several seconds of OCR
    page = tiled_receipt(1, 2)
    srv = Server(tmp_path, {"OCRFN_MAX_QUEUE": "4"})
    srv.wait_ready()
    answers: dict[str, requests.Response] = {}
    lock = threading.Lock()

    def send(name: str, data: bytes, kind: str) -> None:
        response = requests.post(srv.url + "/api/ocr", data=data, headers={"Content-Type": kind}, timeout=120)
        with lock:
            answers[name] = response

    running = threading.Thread(target=send, args=("document", document, "application/pdf"))
    running.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and metric(srv, "ocrfn_ocr_requests_in_flight") < 1:
        time.sleep(0.005)
    queued = [threading.Thread(target=send, args=(f"image{i}", page, "image/png")) for i in range(4)]
    for caller in queued:
        caller.start()
    while time.monotonic() < deadline and metric(srv, "ocrfn_ocr_queue_depth") < 4:
        time.sleep(0.005)
    assert metric(srv, "ocrfn_ocr_queue_depth") == 4  # one running, four accepted and waiting
    srv.terminate()
    for caller in [running, *queued]:
        caller.join()
    assert srv.process.wait(60) == 0
    srv.stop()
    assert answers["document"].status_code == 200 and len(answers["document"].json()["pages"]) == 6
    for i in range(4):
        refused = answers[f"image{i}"]
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
        assert refused.json()["error"] == "shutting_down" and refused.json()["request_id"]
    logged = [json.loads(line) for line in srv.stdout().splitlines() if line.startswith("{")]
    assert sum(1 for r in logged if r.get("error") == "shutting_down" and r["status"] == 503) == 4
    (stop,) = [r for r in logged if r.get("event") == "shutdown" and "refused" in r]
    assert stop["running"] == 1 and stop["refused"] == 4
    (stopped,) = [r for r in logged if r.get("event") == "stopped"]
    assert (stopped["drained"], stopped["refused"], stopped["cut_off"]) == (1, 4, 0)
    assert stopped["severity"] == "INFO"
    assert any(r.get("status") == 200 and r.get("pages") == 6 for r in logged)


def test_request_over_its_time_budget_is_cut_off_and_the_process_stays_healthy(tmp_path):
    # 0.5 s: far below the ~2 s a 6x6 tiled receipt takes, far above a single line even on a loaded machine.
    srv = Server(tmp_path, {"OCRFN_TIME_BUDGET": "0.5"})
    try:
        srv.wait_ready()
        page = tiled_receipt(6, 6)
        started = time.monotonic()
        slow = requests.post(
            srv.url + "/api/ocr", data=page, headers={"Content-Type": "image/png"}, timeout=60
        )
        assert time.monotonic() - started < 0.5 + 1.0  # stopped near the budget, not after the whole page
        assert slow.status_code == 422, slow.text
        body = slow.json()
        assert body["error"] == "time_budget_exceeded" and "0.5 s" in body["message"] and body["request_id"]
        assert requests.get(srv.url + "/ready", timeout=5).status_code == 200
        quick = requests.post(
            srv.url + "/api/ocr?detect=false",
            data=image_bytes("line_en.png"),
            headers={"Content-Type": "image/png"},
            timeout=60,
        )
        assert quick.status_code == 200, quick.text
        assert quick.json()["data"][0]["text"].startswith("Invoice")
    finally:
        assert srv.stop() == 0
