"""The function over HTTP, against real server processes started as the README starts them (gunicorn forks).

The module's servers: ``server`` (defaults, plus a larger queue for the parallel test and Knative's
``K_SERVICE``/``K_REVISION``), ``tight`` (small body limit, one waiting job), and ``broken`` (a model
directory whose files are corrupt). Each test that needs a fresh process starts its own.
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from conftest import DATA, image_bytes, tiled_receipt
from server import Server, running

RECEIPT = "receipt.png"
LINE = "line_en.png"


def squash(text: str) -> str:
    return "".join(text.split())


def lines_of(payload: dict) -> list[str]:
    return [squash(item["text"]) for item in payload["data"]]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running(
        tmp_path_factory.mktemp("server"),
        {"OCRFN_MAX_QUEUE": "24", "K_SERVICE": "ocrfn-test", "K_REVISION": "ocrfn-test-00001"},
    ) as srv:
        yield srv


@pytest.fixture(scope="module")
def tight(tmp_path_factory):
    limits = {"OCRFN_MAX_BODY_BYTES": "1500000", "OCRFN_MAX_QUEUE": "1"}
    with running(tmp_path_factory.mktemp("tight"), limits) as srv:
        yield srv


@pytest.fixture(scope="module")
def big_page() -> bytes:
    """A 4x4 tiling of the rendered receipt (2080x2184 px, 240 lines): about a second of OCR."""
    png = tiled_receipt()
    assert len(png) < 1_500_000  # under the tight server's body limit
    return png


def post_json(url: str, payload: object, **kwargs) -> requests.Response:
    return requests.post(url + "/api/ocr", json=payload, timeout=60, **kwargs)


def b64(name: str) -> str:
    return base64.b64encode(image_bytes(name)).decode("ascii")


def metric(text: str, name: str, labels: str = "") -> float:
    """The value of one sample of the Prometheus exposition *text* (0 when absent)."""
    pattern = re.compile(rf"^{re.escape(name)}{re.escape('{' + labels + '}') if labels else ''} (\S+)$", re.M)
    found = pattern.search(text)
    return float(found.group(1)) if found else 0.0


# ---------------------------------------------------------------------------------------------------------
# Success paths: every content type, the seed contract, text format
# ---------------------------------------------------------------------------------------------------------
def test_seed_contract_json_base64(server, engine, expected):
    response = post_json(server.url, {"image_base64": b64(RECEIPT)})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    payload = response.json()
    assert payload["code"] == 0
    assert isinstance(payload["cost_time"], float) and payload["cost_time"] > 0
    assert lines_of(payload) == [squash(t) for t in expected[RECEIPT]["lines"]]
    for item in payload["data"]:
        assert set(item) == {"text", "confidence", "box"}
        assert 0.5 <= item["confidence"] <= 1.0
        assert len(item["box"]) == 4 and all(len(point) == 2 for point in item["box"])
    assert (payload["width"], payload["height"]) == (520, 546)
    assert payload["model"] == "ppocrv6-small"
    # The served worker gives exactly what the library gives in-process.
    local = engine.run(image_bytes(RECEIPT))
    assert [(i["text"], i["box"]) for i in payload["data"]] == [(line.text, line.box) for line in local.lines]


def test_root_path_is_the_same_api(server):
    at_root = requests.post(server.url + "/", json={"image_base64": b64(RECEIPT)}, timeout=60).json()
    at_api = post_json(server.url, {"image_base64": b64(RECEIPT)}).json()
    assert at_root["data"] == at_api["data"]


def test_data_url_prefix_and_url_safe_unpadded_base64(server, expected):
    raw = image_bytes(LINE)
    for encoded in (
        "data:image/png;base64," + base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "\n".join(re.findall(".{1,76}", base64.b64encode(raw).decode())),  # MIME line breaks
    ):
        response = post_json(server.url, {"image_base64": encoded, "detect": False})
        assert response.status_code == 200, response.text
        assert [i["text"] for i in response.json()["data"]] == expected[LINE]["lines"]


@pytest.mark.parametrize("content_type", ["image/png", "application/octet-stream"])
def test_raw_body(server, expected, content_type):
    response = requests.post(
        server.url + "/api/ocr",
        data=image_bytes(RECEIPT),
        headers={"Content-Type": content_type},
        timeout=60,
    )
    assert response.status_code == 200
    assert lines_of(response.json()) == [squash(t) for t in expected[RECEIPT]["lines"]]


@pytest.mark.parametrize("field", ["image", "file"])
def test_multipart_upload_with_query_options(server, expected, field):
    response = requests.post(
        server.url + "/api/ocr?detect=false&min_confidence=0.2",
        files={field: ("line.png", io.BytesIO(image_bytes(LINE)), "image/png")},
        timeout=60,
    )
    assert response.status_code == 200
    payload = response.json()
    assert [i["text"] for i in payload["data"]] == expected[LINE]["lines"]
    w, h = payload["width"], payload["height"]
    assert payload["data"][0]["box"] == [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]]  # single-line mode


def test_chunked_raw_body(server, expected):
    data = image_bytes(RECEIPT)
    chunks = (data[i : i + 8192] for i in range(0, len(data), 8192))
    response = requests.post(
        server.url + "/api/ocr",
        data=chunks,
        headers={"Content-Type": "image/png", "X-Request-Id": "chunked-1"},
        timeout=60,
    )
    assert response.status_code == 200
    assert lines_of(response.json()) == [squash(t) for t in expected[RECEIPT]["lines"]]
    wait_for(lambda: "chunked-1" in server.stdout(), timeout=5)
    record = next(json.loads(r) for r in server.stdout().splitlines() if '"chunked-1"' in r)
    assert record["bytes_in"] == len(data)  # counted while reading: there was no Content-Length


def test_text_format(server, expected):
    response = post_json(server.url, {"image_base64": b64(RECEIPT), "format": "text"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.encoding.lower() == "utf-8"
    got = response.text.split("\n")
    assert got[-1] == ""  # every line ends with a newline
    assert [squash(t) for t in got[:-1]] == [squash(t) for t in expected[RECEIPT]["lines"]]


def test_min_confidence_filters(server):
    everything = post_json(server.url, {"image_base64": b64(RECEIPT), "min_confidence": 0}).json()["data"]
    strict = post_json(server.url, {"image_base64": b64(RECEIPT), "min_confidence": 0.999}).json()["data"]
    assert all(item["confidence"] >= 0.999 for item in strict)
    assert len(strict) < len(everything)


# ---------------------------------------------------------------------------------------------------------
# Client errors: right status, JSON body, no traceback, the process stays healthy
# ---------------------------------------------------------------------------------------------------------
def assert_error(response: requests.Response, status: int, error: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == status
    assert body["error"] == error
    assert body["message"] and "Traceback" not in body["message"]
    assert body["request_id"] == response.headers["X-Request-Id"]
    return body


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"image_base64": ', "invalid_json"),
        (b"\xff\xfe not utf-8", "invalid_json"),
        (b"[1, 2]", "invalid_json"),
        (b"{}", "missing_field"),
        (b'{"image_base64": 12}', "invalid_field"),
        (b'{"image_base64": "aGVsbG8=", "detect": "maybe"}', "invalid_field"),
        (b'{"image_base64": "aGVsbG8=", "min_confidence": 2}', "invalid_field"),
        (b'{"image_base64": "aGVsbG8=", "min_confidence": "high"}', "invalid_field"),
        (b'{"image_base64": "aGVsbG8=", "format": "xml"}', "invalid_field"),
        (b'{"image_base64": "aGVsbG8=", "langauge": "en"}', "unknown_field"),
        (b'{"image_base64": "not base64 at all!"}', "invalid_base64"),
        (b'{"image_base64": "aGVsbG8gd29ybGQ="}', "not_an_image"),
    ],
)
def test_bad_json_requests_are_400(server, body, error):
    response = requests.post(
        server.url + "/api/ocr", data=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert_error(response, 400, error)


@pytest.mark.parametrize("content_type", ["image/png", "application/json", None])
def test_a_mistyped_query_parameter_is_refused_not_ignored(server, content_type):
    """``min_confidense`` must not silently fall back to the default: 400 unknown_field, as in JSON."""
    body = image_bytes(LINE)
    if content_type == "application/json":
        body = json.dumps({"image_base64": base64.b64encode(body).decode()}).encode()
    kwargs = {"files": {"image": ("line.png", body)}} if content_type is None else {"data": body}
    headers = {"Content-Type": content_type} if content_type else {}
    response = requests.post(
        server.url + "/api/ocr?min_confidense=0.9", headers=headers, timeout=30, **kwargs
    )
    assert_error(response, 400, "unknown_field")
    assert "min_confidense" in response.json()["message"]
    fine = requests.post(
        server.url + "/api/ocr?min_confidence=0.9&format=text", headers=headers, timeout=30, **kwargs
    )
    assert fine.status_code == 200 and fine.text.startswith("Invoice")


@pytest.mark.parametrize("path", ["/favicon.ico", "/robots.txt"])
def test_paths_functions_framework_would_answer_itself_get_ocrfns_404(server, path):
    response = requests.get(server.url + path, timeout=30)
    assert_error(response, 404, "not_found")
    assert response.headers["X-Request-Id"] == response.json()["request_id"]
    logged = [json.loads(line) for line in server.stdout().splitlines() if line.startswith("{")]
    assert any(r.get("request_id") == response.json()["request_id"] and r["status"] == 404 for r in logged)


def test_truncated_image_is_400(server):
    response = requests.post(
        server.url + "/api/ocr",
        data=image_bytes(RECEIPT)[:5000],
        headers={"Content-Type": "image/png"},
        timeout=30,
    )
    assert_error(response, 400, "not_an_image")


@pytest.mark.parametrize(
    ("data", "status", "error"),
    [
        (b"hello, not an image", 400, "not_an_image"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', 422, "unsupported_image"),
    ],
)
def test_a_wrong_format_is_answered_with_what_the_service_reads_pdf_included(server, data, status, error):
    response = requests.post(
        server.url + "/api/ocr", data=data, headers={"Content-Type": "application/octet-stream"}, timeout=30
    )
    assert_error(response, status, error)
    assert "PNG, JPEG, WebP, BMP, TIFF, GIF or PDF" in response.json()["message"]


def test_multipart_without_file_is_400(server):
    response = requests.post(server.url + "/api/ocr", files={"other": ("x.txt", b"hello")}, timeout=30)
    assert_error(response, 400, "missing_file")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_unsupported_content_type_is_415(server, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = requests.post(server.url + "/api/ocr", data=b"hello", headers=headers, timeout=30)
    assert_error(response, 415, "unsupported_media_type")
    message = response.json()["message"]
    assert "none" not in message and (content_type or "without a Content-Type") in message


def test_empty_image_is_422(server):
    assert_error(post_json(server.url, {"image_base64": ""}), 422, "empty_image")


def test_pixel_bomb_is_422(server):
    # A PNG header announcing 100 000 x 100 000 pixels (a few hundred bytes in all).
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    png = bytearray(buf.getvalue())
    png[16:24] = (100_000).to_bytes(4, "big") * 2
    import zlib

    png[29:33] = zlib.crc32(bytes(png[12:29])).to_bytes(4, "big")
    response = requests.post(
        server.url + "/api/ocr", data=bytes(png), headers={"Content-Type": "image/png"}, timeout=30
    )
    assert_error(response, 422, "image_too_large")


def test_unknown_path_is_404_and_wrong_method_is_405(server):
    assert_error(requests.get(server.url + "/nope", timeout=10), 404, "not_found")
    response = requests.get(server.url + "/api/ocr", timeout=10)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "POST"
    assert_error(requests.post(server.url + "/health", timeout=10), 405, "method_not_allowed")


def test_body_over_limit_is_413_from_content_length(tight):
    response = requests.post(
        tight.url + "/api/ocr",
        data=b"\0" * 1_500_001,
        headers={"Content-Type": "application/octet-stream"},
        timeout=30,
    )
    assert_error(response, 413, "payload_too_large")


def test_body_over_limit_is_413_while_reading_chunked(tight):
    chunks = (b"\0" * 262_144 for _ in range(8))  # 2 MiB, no Content-Length
    response = requests.post(
        tight.url + "/api/ocr", data=chunks, headers={"Content-Type": "image/png"}, timeout=30
    )
    assert_error(response, 413, "payload_too_large")


def test_multipart_over_limit_is_413(tight):
    response = requests.post(
        tight.url + "/api/ocr", files={"image": ("big.png", b"\0" * 1_600_000)}, timeout=30
    )
    assert_error(response, 413, "payload_too_large")


def test_client_errors_leave_the_process_healthy(server):
    assert requests.get(server.url + "/health", timeout=5).status_code == 200
    assert requests.get(server.url + "/ready", timeout=5).status_code == 200
    assert "Traceback" not in server.stdout()


# ---------------------------------------------------------------------------------------------------------
# Load: bounded queue, 429, parallel requests, probes stay fast
# ---------------------------------------------------------------------------------------------------------
def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise TimeoutError


def test_full_queue_is_429_with_retry_after(tight, big_page):
    results: dict[str, requests.Response] = {}

    def send(name: str) -> None:
        results[name] = requests.post(
            tight.url + "/api/ocr", data=big_page, headers={"Content-Type": "image/png"}, timeout=120
        )

    def queue_depth() -> float:
        return metric(requests.get(tight.url + "/metrics", timeout=5).text, "ocrfn_ocr_queue_depth")

    def in_flight() -> float:
        return metric(requests.get(tight.url + "/metrics", timeout=5).text, "ocrfn_ocr_requests_in_flight")

    running = threading.Thread(target=send, args=("running",))
    running.start()
    wait_for(lambda: in_flight() >= 1)
    waiting = threading.Thread(target=send, args=("waiting",))
    waiting.start()
    wait_for(lambda: queue_depth() >= 1)
    # One running and one waiting (OCRFN_MAX_QUEUE=1): the next is refused at once.
    started = time.monotonic()
    refused = requests.post(
        tight.url + "/api/ocr", data=image_bytes(LINE), headers={"Content-Type": "image/png"}, timeout=30
    )
    assert time.monotonic() - started < 0.5
    assert_error(refused, 429, "too_many_requests")
    assert refused.headers["Retry-After"] == "1"
    # Probes answer quickly while inference is busy (Knative's queue-proxy allows 100 ms).
    probe_times = []
    for _ in range(5):
        probe = time.monotonic()
        assert requests.get(tight.url + "/ready", timeout=1).status_code == 200
        probe_times.append(time.monotonic() - probe)
    assert sorted(probe_times)[2] < 0.1
    running.join()
    waiting.join()
    assert results["running"].status_code == 200
    assert results["waiting"].status_code == 200
    assert results["running"].json()["data"] == results["waiting"].json()["data"]
    assert len(results["running"].json()["data"]) >= 200


def test_parallel_requests_match_serial_ones(server):
    # Mixed per-request options: any option leaking into another request would change its result.
    cases = [
        ({"image_base64": b64(RECEIPT)}, "json"),
        ({"image_base64": b64(RECEIPT), "min_confidence": 0.999}, "json"),
        ({"image_base64": b64(LINE), "detect": False}, "json"),
        ({"image_base64": b64("line_zh.png"), "detect": False, "format": "text"}, "text"),
        ({"image_base64": b64("two_column.png")}, "json"),
    ]

    def call(case):
        payload, fmt = case
        response = post_json(server.url, payload)
        assert response.status_code == 200, response.text
        return response.text if fmt == "text" else response.json()["data"]

    serial = [call(case) for case in cases]
    jobs = [cases[i % len(cases)] for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        parallel = list(pool.map(call, jobs))
    for i, got in enumerate(parallel):
        assert got == serial[i % len(cases)]


# ---------------------------------------------------------------------------------------------------------
# Health, readiness, metrics, logs
# ---------------------------------------------------------------------------------------------------------
def test_readiness_goes_from_503_to_200(tmp_path):
    srv = Server(tmp_path)
    try:
        srv.wait_listening()
        seen = []
        refused_while_loading = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            response = requests.get(srv.url + "/ready", timeout=2)
            seen.append(response.status_code)
            if response.status_code == 200:
                break
            assert response.json()["status"] == "loading"
            assert response.headers["Retry-After"] == "1"
            # An OCR request sent while /ready says 503 (before and after it) is refused with 503.
            ocr = post_json(srv.url, {"image_base64": b64(LINE), "detect": False})
            if requests.get(srv.url + "/ready", timeout=2).status_code == 503:
                assert_error(ocr, 503, "not_ready")
                assert ocr.headers["Retry-After"] == "1"
                refused_while_loading += 1
        assert seen[0] == 503
        assert seen[-1] == 200
        assert refused_while_loading >= 1
        assert requests.get(srv.url + "/health", timeout=2).status_code == 200
        # Once ready it stays ready, and the first OCR request succeeds.
        assert post_json(srv.url, {"image_base64": b64(LINE), "detect": False}).status_code == 200
        assert requests.get(srv.url + "/ready", timeout=2).status_code == 200
    finally:
        assert srv.stop() == 0


def test_metrics_move(server):
    before = requests.get(server.url + "/metrics", timeout=5)
    assert before.status_code == 200
    assert before.headers["Content-Type"].startswith("text/plain")
    text = before.text
    ok_label = 'method="POST",route="/api/ocr",status="200"'
    bad_label = 'method="POST",route="/api/ocr",status="400"'
    assert metric(text, "ocrfn_ready") == 1
    assert 0 < metric(text, "ocrfn_cold_start_seconds") < 60
    assert "ocrfn_model_info{" in text and 'model_set="ppocrv6-small"' in text

    payload = post_json(server.url, {"image_base64": b64(RECEIPT)}).json()
    post_json(server.url, {"image_base64": "!!"})
    after = requests.get(server.url + "/metrics", timeout=5).text

    assert (
        metric(after, "ocrfn_http_requests_total", ok_label)
        == metric(text, "ocrfn_http_requests_total", ok_label) + 1
    )
    assert (
        metric(after, "ocrfn_http_requests_total", bad_label)
        == metric(text, "ocrfn_http_requests_total", bad_label) + 1
    )
    assert metric(after, "ocrfn_lines_recognized_total") == metric(
        text, "ocrfn_lines_recognized_total"
    ) + len(payload["data"])
    for stage in ("decode", "detect", "recognize"):
        label = f'stage="{stage}"'
        assert metric(after, "ocrfn_inference_stage_duration_seconds_count", label) == (
            metric(text, "ocrfn_inference_stage_duration_seconds_count", label) + 1
        )
    assert metric(after, "ocrfn_http_request_duration_seconds_count", 'route="/api/ocr"') >= 2
    assert metric(after, "ocrfn_ocr_requests_in_flight") == 0
    assert metric(after, "ocrfn_ocr_queue_depth") == 0
    assert metric(after, "process_resident_memory_bytes") > 0


def test_one_json_log_line_per_request(server):
    response = post_json(server.url, {"image_base64": b64(RECEIPT)}, headers={"X-Request-Id": "req-abc.123"})
    assert response.headers["X-Request-Id"] == "req-abc.123"
    bad = post_json(server.url, {"image_base64": "!!"}, headers={"X-Request-Id": "bad id with spaces"})
    assert bad.json()["request_id"] != "bad id with spaces"  # not echoed: a fresh id instead
    wait_for(lambda: "req-abc.123" in server.stdout(), timeout=5)
    records = [json.loads(line) for line in server.stdout().splitlines() if line.startswith("{")]
    mine = [r for r in records if r.get("request_id") == "req-abc.123"]
    assert len(mine) == 1
    record = mine[0]
    assert record["route"] == "/api/ocr" and record["status"] == 200 and record["method"] == "POST"
    assert record["lines"] == len(response.json()["data"])
    assert record["bytes_in"] > 0 and record["latency_ms"] > 0
    assert record["service"] == "ocrfn-test" and record["revision"] == "ocrfn-test-00001"
    failed = [r for r in records if r.get("request_id") == bad.json()["request_id"]]
    assert len(failed) == 1 and failed[0]["status"] == 400


def test_service_description_on_get_root(server):
    body = requests.get(server.url + "/", timeout=5).json()
    assert body["service"] == "ocrfn" and body["ready"] is True and body["model"] == "ppocrv6-small"


# ---------------------------------------------------------------------------------------------------------
# Failure to load, shutdown
# ---------------------------------------------------------------------------------------------------------
def test_broken_models_are_reported_not_served(tmp_path):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    manifest = json.loads((DATA.parents[1] / "model" / "manifest.json").read_text(encoding="utf-8"))
    (model_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    for name in manifest["files"]:
        target = model_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"not a model")
    srv = Server(tmp_path, {"OCRFN_MODEL_DIR": str(model_dir)})
    try:
        srv.wait_listening()
        wait_for(lambda: requests.get(srv.url + "/ready", timeout=2).json()["status"] == "failed")
        assert requests.get(srv.url + "/ready", timeout=2).status_code == 503
        assert requests.get(srv.url + "/health", timeout=2).status_code == 503
        assert_error(post_json(srv.url, {"image_base64": b64(LINE)}), 503, "model_failed")
        logged = [json.loads(line) for line in srv.stdout().splitlines() if line.startswith("{")]
        (failed,) = [r for r in logged if r.get("event") == "load_failed"]
        assert failed["severity"] == "ERROR" and failed["error"] == "model_failed"
        assert failed["exception"] and "model loading failed" in failed["message"]
        assert not [r for r in logged if r.get("event") == "ready"]
    finally:
        srv.stop()


def test_sigterm_finishes_the_request_in_flight_and_exits_0(tmp_path, big_page):
    srv = Server(tmp_path)
    srv.wait_ready()
    result: dict[str, requests.Response] = {}

    def send() -> None:
        result["response"] = requests.post(
            srv.url + "/api/ocr", data=big_page, headers={"Content-Type": "image/png"}, timeout=120
        )

    def running() -> bool:
        # Admitted and on the CPU (not still reading its body, which a stopping server would refuse).
        text = requests.get(srv.url + "/metrics", timeout=5).text
        admitted = metric(text, "ocrfn_ocr_requests_in_flight")
        return admitted >= 1 and metric(text, "ocrfn_ocr_queue_depth") == 0

    caller = threading.Thread(target=send)
    caller.start()
    wait_for(running)
    srv.terminate()
    caller.join()
    assert srv.process.wait(60) == 0
    srv.stop()
    response = result["response"]
    assert response.status_code == 200
    assert len(response.json()["data"]) >= 200
    with pytest.raises(requests.ConnectionError):
        requests.get(srv.url + "/health", timeout=2)
