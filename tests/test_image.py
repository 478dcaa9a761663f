"""The image as shipped: ``docker build`` of the repository, then ``docker run`` as the Knative Service
runs it (read-only root, tmpfs ``/dev/shm``, 2 CPUs, 1280 MiB).

Skipped with the reason when no Docker engine is reachable (``OCRFN_REQUIRE_DOCKER=1``, as ``.ci/run``
sets after starting one, makes that a failure). Without the real base image, a faithful stand-in is built
(see ``tests/docker_image.py``).
"""

from __future__ import annotations

import os
import re
import threading
import time

import docker_image
import pytest
import requests
from conftest import image_bytes, tiled_receipt

TAG = "ocrfn-test:latest"


@pytest.fixture(scope="module")
def image() -> str:
    try:
        docker_image.engine()
        base = docker_image.base_image()
    except docker_image.Unavailable as exc:
        if os.environ.get("OCRFN_REQUIRE_DOCKER") == "1":
            pytest.fail(f"Docker is required here: {exc}")
        pytest.skip(str(exc))
    docker_image.build(TAG, base)
    return TAG


@pytest.fixture(scope="module")
def container(image):
    container, port = docker_image.run(image)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(url + "/ready", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.05)
        yield container, url
    finally:
        docker_image.docker("rm", "-f", container, check=False)


def test_ready_and_reads_a_line(container):
    _, url = container
    assert requests.get(url + "/ready", timeout=5).json() == {"status": "ready"}
    response = requests.post(
        url + "/api/ocr?detect=false",
        data=image_bytes("line_en.png"),
        headers={"Content-Type": "image/png"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"][0]["text"].startswith("Invoice No. 2024-0815")


def test_runs_as_uid_10001_with_nothing_written(container):
    name, url = container
    assert docker_image.docker("exec", name, "id", "-u").stdout.strip() == "10001"
    top = docker_image.docker("top", name).stdout  # server, worker and decoder processes
    processes = [line.split() for line in top.splitlines()[1:] if line.strip()]
    assert len(processes) >= 3 and all(fields[0] == "10001" for fields in processes), top
    requests.post(
        url + "/api/ocr", data=image_bytes("receipt.png"), headers={"Content-Type": "image/png"}, timeout=60
    )
    assert docker_image.docker("diff", name).stdout.strip() == ""  # the root filesystem is untouched


def test_no_error_or_warning_at_start(container):
    name, _ = container
    logs = docker_image.docker("logs", name)
    text = logs.stdout + logs.stderr
    assert not re.search(r"ERROR|Error|Traceback|\[W:", text), text[:2000]


def test_stop_with_a_request_in_flight_answers_it_and_exits_0(container):
    name, url = container
    page = tiled_receipt()  # about a second of OCR
    answer: dict[str, requests.Response] = {}
    caller = threading.Thread(
        target=lambda: answer.setdefault(
            "r",
            requests.post(url + "/api/ocr", data=page, headers={"Content-Type": "image/png"}, timeout=120),
        )
    )
    caller.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = requests.get(url + "/metrics", timeout=5).text
        if re.search(r"^ocrfn_ocr_requests_in_flight 1\.0$", text, re.M):
            break
        time.sleep(0.005)
    assert "r" not in answer
    docker_image.docker("stop", "--time", "60", name, timeout=120)
    caller.join(60)
    assert answer["r"].status_code == 200 and len(answer["r"].json()["data"]) >= 200
    state = docker_image.docker("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
    assert state == "0"
