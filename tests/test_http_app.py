"""The HTTP layer in-process: admission control, body decoding, and the 500 path (an engine that fails)."""

from __future__ import annotations

import io
import json
import threading
import time

import flask
import numpy as np
import pytest

from function.admission import Admission, QueueFullError, ShuttingDownError
from function.api.app import OcrApp
from function.api.inputs import decode_base64
from function.errors import ServiceError
from function.lifecycle import Lifecycle
from function.metrics import Metrics
from function.ocr.decoders import InProcessDecoder
from function.request_log import log_request
from function.settings import load_settings
from function.storage import Storage


# ---------------------------------------------------------------------------------------------------------
# Admission
# ---------------------------------------------------------------------------------------------------------
def test_admission_runs_bounded_jobs_and_refuses_beyond_the_queue():
    gate = Admission(concurrency=1, max_queue=1)
    release = threading.Event()
    order: list[str] = []

    def job(name: str) -> None:
        with gate.admit(), gate.run():
            order.append(name)
            release.wait(5)

    first = threading.Thread(target=job, args=("first",))
    first.start()
    while gate.running < 1:
        time.sleep(0.001)
    second = threading.Thread(target=job, args=("second",))
    second.start()
    while gate.waiting < 1:
        time.sleep(0.001)
    with pytest.raises(QueueFullError), gate.admit():
        pass
    assert (gate.running, gate.waiting, gate.admitted) == (1, 1, 2)
    release.set()
    first.join()
    second.join()
    assert order == ["first", "second"]
    assert (gate.running, gate.waiting, gate.admitted) == (0, 0, 0)


def test_admission_without_queue_refuses_the_second_job():
    gate = Admission(concurrency=2, max_queue=0)
    with gate.admit(), gate.admit(), pytest.raises(QueueFullError), gate.admit():
        pass
    with gate.admit(), gate.run():
        assert gate.running == 1


def test_admitted_requests_doing_io_hold_no_cpu_slot():
    gate = Admission(concurrency=1, max_queue=2)
    with gate.admit(), gate.admit(), gate.run():  # the first is e.g. fetching an object: not running
        assert (gate.running, gate.waiting) == (1, 1)


def test_closing_refuses_new_and_waiting_requests_but_not_running_ones():
    gate = Admission(concurrency=1, max_queue=2)
    outcome: list[str] = []
    running = threading.Event()
    release = threading.Event()

    def first() -> None:
        with gate.admit(), gate.run():
            running.set()
            release.wait(5)
            outcome.append("first finished")

    def second() -> None:
        try:
            with gate.admit(), gate.run():
                outcome.append("second ran")
        except ShuttingDownError:
            outcome.append("second refused")

    a = threading.Thread(target=first)
    a.start()
    running.wait(5)
    b = threading.Thread(target=second)
    b.start()
    while gate.waiting < 1:
        time.sleep(0.001)
    gate.close()
    b.join(5)
    with pytest.raises(ShuttingDownError), gate.admit():
        pass
    release.set()
    a.join(5)
    assert outcome == ["second refused", "first finished"]


@pytest.mark.parametrize(("concurrency", "queue"), [(0, 1), (1, -1)])
def test_admission_rejects_nonsense_bounds(concurrency, queue):
    with pytest.raises(ValueError):
        Admission(concurrency, queue)


# ---------------------------------------------------------------------------------------------------------
# Base64
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "aGVsbG8gd29ybGQ=",
        "aGVsbG8gd29ybGQ",  # padding left out
        "aGVsbG8g\nd29y bGQ=",  # whitespace and line breaks
        "data:image/png;base64,aGVsbG8gd29ybGQ=",
        "DATA:image/svg+xml;charset=utf-8;base64,aGVsbG8gd29ybGQ=",
    ],
)
def test_base64_variants(text):
    assert decode_base64(text) == b"hello world"


def test_url_safe_base64():
    raw = bytes(range(256))
    import base64

    assert decode_base64(base64.urlsafe_b64encode(raw).decode()) == raw


@pytest.mark.parametrize("text", ["a", "abc$", "data:image/png;base64,@@@@", "aGVsbG8=aGVsbG8="])
def test_invalid_base64_is_a_400(text):
    with pytest.raises(ServiceError) as info:
        decode_base64(text)
    assert info.value.status == 400 and info.value.error == "invalid_base64"


# ---------------------------------------------------------------------------------------------------------
# The 500 path: a genuine server fault answers with a request id and no internals
# ---------------------------------------------------------------------------------------------------------
class FailingEngine:
    """Runs the warm-up (pixel arrays) but fails on every request (bytes), as a broken runtime would."""

    max_pixels = 40_000_000
    decoder = InProcessDecoder()

    class models:
        name = "failing"

    def run(self, image, options=None):
        if isinstance(image, np.ndarray):
            return None
        raise RuntimeError("onnxruntime exploded at /secret/path with token=abc123")


@pytest.fixture
def failing_client():
    settings = load_settings({"OCRFN_THREADS": "1"})
    lifecycle = Lifecycle(settings, build=lambda _: FailingEngine())
    app = OcrApp(settings, lifecycle, Metrics(), Admission(1, 1), Storage("file", settings.file_root))
    lifecycle.start()
    assert lifecycle.wait_ready(10)
    web = flask.Flask("test")

    @web.route("/", defaults={"path": ""}, methods=["GET", "POST", "HEAD", "PUT"])
    @web.route("/<path:path>", methods=["GET", "POST", "HEAD", "PUT"])
    def everything(path):
        return app.handle(flask.request)

    return web.test_client(), app


def test_server_fault_is_a_clean_500(failing_client, capsys, caplog):
    client, app = failing_client
    response = client.post("/api/ocr", json={"image_base64": "aGVsbG8="}, headers={"X-Request-Id": "r-42"})
    assert response.status_code == 500
    body = response.get_json()
    assert body["code"] == 500 and body["error"] == "internal_error" and body["request_id"] == "r-42"
    text = response.get_data(as_text=True)
    for leak in ("exploded", "secret", "abc123", "Traceback", "RuntimeError"):
        assert leak not in text
    # The traceback is in the server log, the request log line says which request failed.
    assert "exploded" in caplog.text
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["request_id"] == "r-42" and record["status"] == 500 and record["severity"] == "ERROR"
    assert record["error"] == "internal_error" and record["exception"] == "RuntimeError"
    exposition = app.metrics.exposition().decode()
    assert 'ocrfn_http_requests_total{method="POST",route="/api/ocr",status="500"} 1.0' in exposition


class PanicException(BaseException):
    """What pyo3 raises when Rust code panics: not an Exception, so ``except Exception`` misses it."""


def test_a_native_panic_is_a_clean_500_not_a_dead_worker(failing_client):
    client, app = failing_client

    def panic(image, options=None):
        raise PanicException("called `Result::unwrap()` on an `Err` value")

    app.lifecycle.engine.run = panic
    response = client.post("/api/ocr", data=b"\x89PNG", headers={"Content-Type": "image/png"})
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"] == "internal_error" and body["request_id"]
    assert "unwrap" not in response.get_data(as_text=True)
    with pytest.raises(KeyboardInterrupt):  # what must still stop the process does
        app.lifecycle.engine.run = lambda image, options=None: (_ for _ in ()).throw(KeyboardInterrupt())
        client.post("/api/ocr", data=b"\x89PNG", headers={"Content-Type": "image/png"})


def test_request_log_line_is_one_json_object():
    out = io.StringIO()
    log_request({"request_id": "x", "status": 200, "lines": 3, "service": None}, stream=out)
    line = out.getvalue()
    assert line.endswith("\n") and line.count("\n") == 1
    record = json.loads(line)
    assert record["request_id"] == "x" and record["lines"] == 3 and record["severity"] == "INFO"
    assert "service" not in record
    assert record["time"].endswith("Z")


def test_process_start_time_is_the_interpreter_start():
    import subprocess
    import sys

    code = (
        "import time, sys; time.sleep(0.3); sys.path.insert(0, '.'); "
        "from function.lifecycle import process_start_time; print(time.time() - process_start_time())"
    )
    from conftest import ROOT

    age = float(
        subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
    )
    assert 0.3 <= age < 10
