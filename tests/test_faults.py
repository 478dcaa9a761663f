"""Faults against a real server: SIGTERM under load (nothing accepted is dropped)."""

from __future__ import annotations

import re
import threading
import time

import requests
from conftest import image_bytes, tiled_receipt
from server import Server


def metric(server: Server, name: str) -> float:
    text = requests.get(server.url + "/metrics", timeout=5).text
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_sigterm_under_load_completes_every_accepted_request(tmp_path):
    page = tiled_receipt(2, 3)  # 90 lines, a fraction of a second
    srv = Server(tmp_path, {"OCRFN_MAX_QUEUE": "4"})
    srv.wait_ready()
    answers: list[requests.Response] = []
    lock = threading.Lock()

    def send() -> None:
        response = requests.post(
            srv.url + "/api/ocr", data=page, headers={"Content-Type": "image/png"}, timeout=120
        )
        with lock:
            answers.append(response)

    callers = [threading.Thread(target=send) for _ in range(5)]
    for caller in callers:
        caller.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and metric(srv, "ocrfn_ocr_queue_depth") < 4:
        time.sleep(0.005)
    assert metric(srv, "ocrfn_ocr_queue_depth") == 4  # one running, four accepted and waiting
    srv.terminate()
    for caller in callers:
        caller.join()
    assert srv.process.wait(60) == 0
    srv.stop()
    assert [a.status_code for a in answers] == [200] * 5
    assert all(len(a.json()["data"]) == len(answers[0].json()["data"]) >= 80 for a in answers)


def test_request_over_its_time_budget_is_cut_off_and_the_process_stays_healthy(tmp_path):
    srv = Server(tmp_path, {"OCRFN_TIME_BUDGET": "0.2"})
    try:
        srv.wait_ready()
        started = time.monotonic()
        slow = requests.post(
            srv.url + "/api/ocr", data=tiled_receipt(), headers={"Content-Type": "image/png"}, timeout=60
        )
        assert time.monotonic() - started < 0.2 + 0.8  # stopped near the budget, not after the whole page
        assert slow.status_code == 422, slow.text
        body = slow.json()
        assert body["error"] == "time_budget_exceeded" and "0.2 s" in body["message"] and body["request_id"]
        assert requests.get(srv.url + "/ready", timeout=5).status_code == 200
        quick = requests.post(
            srv.url + "/api/ocr?detect=false",
            data=image_bytes("line_en.png"),
            headers={"Content-Type": "image/png"},
            timeout=60,
        )
        assert quick.status_code == 200 and quick.json()["data"][0]["text"].startswith("Invoice")
    finally:
        assert srv.stop() == 0
