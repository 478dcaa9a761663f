"""Slow and odd clients against the real server (``python -m function.server``): probes always answer.

Clients that drip their headers or bodies, connections that send nothing, bodies far over the limit on
any route, malformed chunked encoding: each is bounded in time and memory, and ``/ready`` keeps
answering quickly throughout.
"""

from __future__ import annotations

import contextlib
import re
import select
import socket
import statistics
import time

import pytest
import requests
from conftest import image_bytes
from server import Server, running

HEADER_TIMEOUT = 3
BODY_TIMEOUT = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {
        "OCRFN_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "OCRFN_BODY_TIMEOUT": str(BODY_TIMEOUT),
        "THREADS": "8",
    }
    with running(tmp_path_factory.mktemp("slow"), env) as srv:
        yield srv


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=30)


def ready_latency(server: Server, count: int = 10) -> list[float]:
    times = []
    for _ in range(count):
        started = time.monotonic()
        assert requests.get(server.url + "/ready", timeout=5).status_code == 200
        times.append(time.monotonic() - started)
    return times


def rss(server: Server) -> float:
    text = requests.get(server.url + "/metrics", timeout=10).text
    return float(re.search(r"^process_resident_memory_bytes (\S+)$", text, re.M).group(1))


def answer(sock: socket.socket, limit: float = 30) -> bytes:
    """Everything the server sends until it closes the connection (or *limit* seconds)."""
    sock.setblocking(True)
    sock.settimeout(limit)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


def test_probes_answer_while_clients_drip_headers_and_bodies_and_idle(server):
    baseline = statistics.median(ready_latency(server))
    held: list[socket.socket] = []
    for _ in range(12):  # heads that never finish
        sock = connect(server)
        sock.sendall(b"POST /api/ocr HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n")
        held.append(sock)
    for _ in range(8):  # complete heads, bodies that stop after a few bytes
        sock = connect(server)
        sock.sendall(
            b"POST /api/ocr HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n"
        )
        sock.sendall(b"\x89PNG")
        held.append(sock)
    for _ in range(48):  # connections that say nothing
        held.append(connect(server))
    time.sleep(0.5)
    latencies = ready_latency(server, 20)
    assert max(latencies) < 1.0, latencies
    assert statistics.median(latencies) < baseline + 0.1
    # The dripping bodies are cut off at the body timeout (408) or were refused at once (429: admission
    # full); the unfinished heads get a 408 at the header timeout; the silent ones are closed.
    statuses = []
    for sock in held:
        data = answer(sock, HEADER_TIMEOUT + BODY_TIMEOUT + 10)
        statuses.append(int(data.split()[1]) if data.startswith(b"HTTP/1.1") else None)
        sock.close()
    assert statuses[:12] == [408] * 12
    assert set(statuses[12:20]) <= {408, 429} and 408 in statuses[12:20]
    assert statuses[20:] == [None] * 48
    # Once they are gone, OCR is served again.
    response = requests.post(
        server.url + "/api/ocr",
        data=image_bytes("line_en.png"),
        headers={"Content-Type": "image/png"},
        timeout=60,
    )
    assert response.status_code == 200


def test_a_head_dripped_a_byte_at_a_time_is_cut_off_at_the_header_timeout(server):
    sock = connect(server)
    sock.setblocking(False)
    started = time.monotonic()
    request = b"GET /ready HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10_000
    data = b""
    for byte in request:  # one byte every 20 ms, never the blank line that ends the head
        ready, _, _ = select.select([sock], [], [], 0.02)
        if ready:
            data = answer(sock, 5)
            break
        with contextlib.suppress(BlockingIOError):
            sock.send(bytes([byte]))
    elapsed = time.monotonic() - started
    assert data.startswith(b"HTTP/1.1 408"), data[:200]
    assert b'"error": "header_timeout"' in data
    assert HEADER_TIMEOUT - 0.5 < elapsed < HEADER_TIMEOUT + 2


@pytest.mark.parametrize("path", ["/nowhere", "/ready", "/api/ocr", "/"])
def test_a_huge_declared_body_is_refused_on_every_route_without_being_read(server, path):
    before = rss(server)
    sock = connect(server)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {1_500_000_000}\r\n\r\n".encode()
    )
    try:
        for _ in range(64):  # 64 MB of it, more than the 48 MiB limit, while the server answers
            sock.sendall(b"\0" * (1 << 20))
    except (BrokenPipeError, ConnectionResetError):
        pass
    data = answer(sock, 30)
    assert data.split()[1] in (b"413", b"404", b"405"), data[:200]
    assert rss(server) - before < 60e6


@pytest.mark.parametrize("path", ["/nowhere", "/api/ocr"])
def test_a_chunked_body_to_any_route_stops_at_the_limit(server, path):
    before = rss(server)
    sock = connect(server)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n".encode()
        + b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n" % (1 << 20) + b"\0" * (1 << 20) + b"\r\n"
    try:
        for _ in range(80):
            sock.sendall(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    data = answer(sock, 30)
    assert data.split()[1] in (b"413", b"404"), data[:200]
    assert rss(server) - before < 100e6


def test_malformed_chunked_encoding_is_a_400(server):
    sock = connect(server)
    sock.sendall(
        b"POST /api/ocr HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz\r\nnot a chunk\r\n0\r\n\r\n"
    )
    data = answer(sock, 30)
    assert data.startswith(b"HTTP/1.1 400"), data[:300]
    assert requests.get(server.url + "/ready", timeout=5).status_code == 200


def test_made_up_methods_do_not_grow_the_metrics(server):
    size = len(requests.get(server.url + "/metrics", timeout=10).content)
    for i in range(300):
        response = requests.request(f"MADEUP{i}", server.url + "/api/ocr", timeout=10)
        assert response.status_code == 405
    text = requests.get(server.url + "/metrics", timeout=10).text
    assert "MADEUP" not in text
    assert 'method="other"' in text
    assert len(text) - size < 5000
