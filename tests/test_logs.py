"""The log an operator alerts on: JSON lines from a real server process, read back and parsed.

Every line on stdout is one JSON object; a process says once when it is ready (what it loaded, how it
runs, its limits, how long it took) and once when it has stopped (what it drained and refused); probes
are not logged; an error line names the error, and for a 5xx the exception type behind it; severity
follows the status (a client's mistake is not an ERROR).
"""

from __future__ import annotations

import base64
import json
import time

import pytest
import requests
from conftest import image_bytes
from server import Server

TOKEN = "s3cr3t-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BODY_LIMIT = 3_000_000


def records(server: Server) -> list[dict]:
    """Every line the server wrote to stdout, each parsed as JSON (a line that is not fails the test)."""
    return [json.loads(line) for line in server.stdout().splitlines() if line.strip()]


def wait_for_record(server: Server, match, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [r for r in records(server) if match(r)]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no matching log line in: {server.stdout()[-2000:]}")


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    """A server with an API token and a custom body limit, polled on /ready from its first moment."""
    srv = Server(
        tmp_path_factory.mktemp("logs"),
        {"OCRFN_API_TOKEN": TOKEN, "OCRFN_MAX_BODY_BYTES": str(BODY_LIMIT), "K_SERVICE": "ocrfn-logs"},
    )
    srv.wait_listening()
    probes = {"ready": 0, "refused": 0}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = requests.get(srv.url + "/ready", timeout=2).status_code
        requests.get(srv.url + "/health", timeout=2)
        probes["ready"] += 1
        if status == 200:
            break
        probes["refused"] += 1
    yield srv, probes
    srv.stop()


def test_every_line_is_json_and_start_up_is_one_ready_line(started):
    srv, probes = started
    assert probes["refused"] >= 1, "the server was ready before the first probe: start-up not observed"
    lines = records(srv)
    (ready,) = [r for r in lines if r.get("event") == "ready"]
    assert ready["severity"] == "INFO" and ready["service"] == "ocrfn-logs"
    assert ready["model_set"] == "ppocrv6-small"
    assert ready["models"]["detector"].endswith(".onnx") and ready["models"]["recognizer"].endswith(".onnx")
    assert ready["threads"] == 2 and ready["concurrency"] == 1 and ready["max_queue"] == 4
    assert ready["limits"]["max_body_bytes"] == BODY_LIMIT
    assert ready["limits"]["time_budget_s"] == 30.0 and ready["limits"]["max_pages"] == 50
    assert ready["auth"] == {"api": True, "events": False}
    assert 0 < ready["ready_s"] < 60
    assert ready["phases_s"]["total"] == ready["ready_s"]
    assert set(ready["phases_s"]) >= {"imports", "load", "warmup"}
    assert TOKEN not in srv.stdout()


def test_probes_are_not_logged_while_loading_or_after(started):
    srv, probes = started
    for _ in range(5):
        assert requests.get(srv.url + "/ready", timeout=2).status_code == 200
        assert requests.get(srv.url + "/health", timeout=2).status_code == 200
    requests.post(srv.url + "/api/ocr", data=b"x", headers={"Content-Type": "image/png", **AUTH}, timeout=10)
    wait_for_record(srv, lambda r: r.get("route") == "/api/ocr")
    assert probes["ready"] > 1
    assert [r for r in records(srv) if r.get("route") in ("/ready", "/health")] == []


@pytest.mark.parametrize(
    ("request_kwargs", "status", "error"),
    [
        ({"json": {"image_base64": "!!"}, "headers": AUTH}, 400, "invalid_base64"),
        ({"json": {"image": "aGk="}, "headers": AUTH}, 400, "unknown_field"),
        (
            {"json": {"image_base64": base64.b64encode(b"plain").decode()}, "headers": AUTH},
            400,
            "not_an_image",
        ),
        ({"json": {"image_base64": "aGk="}}, 401, "unauthorized"),
        (
            {"data": b"x" * (BODY_LIMIT + 1), "headers": {"Content-Type": "image/png", **AUTH}},
            413,
            "payload_too_large",
        ),
        ({"data": b"x", "headers": {"Content-Type": "text/csv", **AUTH}}, 415, "unsupported_media_type"),
    ],
)
def test_client_errors_are_logged_with_their_name_at_info(started, request_kwargs, status, error):
    srv, _ = started
    response = requests.post(srv.url + "/api/ocr", timeout=30, **request_kwargs)
    body = response.json()
    assert response.status_code == status, body
    assert error is None or body["error"] == error
    line = wait_for_record(srv, lambda r: r.get("request_id") == body["request_id"])
    assert line["status"] == status and line["error"] == body["error"]
    assert line["severity"] == "INFO" and line["route"] == "/api/ocr" and line["method"] == "POST"
    assert "exception" not in line  # a client's mistake has no server-side exception


def test_unknown_routes_and_methods_are_logged(started):
    srv, _ = started
    for method, path, status, error in (
        ("GET", "/favicon.ico", 404, "not_found"),
        ("GET", "/nope", 404, "not_found"),
        ("DELETE", "/api/ocr", 405, "method_not_allowed"),
    ):
        response = requests.request(method, srv.url + path, timeout=10)
        assert response.status_code == status
        rid = response.headers["X-Request-Id"]
        line = wait_for_record(srv, lambda r, rid=rid: r.get("request_id") == rid)
        assert (line["status"], line["error"], line["severity"]) == (status, error, "INFO")


def test_a_successful_request_is_one_line_with_what_it_did(started):
    srv, _ = started
    response = requests.post(
        srv.url + "/api/ocr?detect=false",
        data=image_bytes("line_en.png"),
        headers={"Content-Type": "image/png", "X-Request-Id": "logs-ok-1", **AUTH},
        timeout=60,
    )
    assert response.status_code == 200
    line = wait_for_record(srv, lambda r: r.get("request_id") == "logs-ok-1")
    assert [r for r in records(srv) if r.get("request_id") == "logs-ok-1"] == [line]
    assert line["severity"] == "INFO" and line["status"] == 200 and "error" not in line
    assert line["lines"] == 1 and line["detect"] is False and line["inference_ms"] > 0


def test_stopping_is_one_line_saying_nothing_was_cut_off(tmp_path):
    srv = Server(tmp_path)
    srv.wait_ready()
    assert srv.stop() == 0
    lines = records(srv)
    (stopped,) = [r for r in lines if r.get("event") == "stopped"]
    assert stopped["severity"] == "INFO"
    assert (stopped["drained"], stopped["refused"], stopped["cut_off"]) == (0, 0, 0)
    assert lines.index(stopped) > max(i for i, r in enumerate(lines) if r.get("event") == "shutdown")
