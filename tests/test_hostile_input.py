"""Hostile and broken input against a real server: the documented status, a clear message, no 5xx, and a
process that stays healthy with its memory back near where it was.

The corpus is generated here (nothing is downloaded).
"""

from __future__ import annotations

import base64
import io
import json
import re
import struct
import time
import zlib

import cv2
import numpy as np
import pytest
import requests
from bombs import json_objects
from conftest import image_bytes
from pdfs import assemble_pdf
from PIL import Image
from server import Server, running

from function.settings import DEFAULT_MAX_BODY_BYTES


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running(tmp_path_factory.mktemp("hostile")) as srv:
        yield srv


def rss(server: Server) -> float:
    text = requests.get(server.url + "/metrics", timeout=10).text
    return float(re.search(r"^process_resident_memory_bytes (\S+)$", text, re.M).group(1))


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A 1x1 PNG whose header claims *width* x *height* (CRC fixed so decoders read the header)."""
    png = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    png[16:24] = struct.pack(">II", width, height)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    return bytes(png)


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose SOF0 marker claims *width* x *height*: a decompression bomb."""
    jpeg = bytearray(encode(Image.new("RGB", (16, 16), "white"), "JPEG"))
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(jpeg)


def many_blobs() -> bytes:
    """2000x2000 px with 5000 small dark dashes: text-like candidates far beyond the detector's cap."""
    rng = np.random.default_rng(7)
    img = np.full((2000, 2000, 3), 255, np.uint8)
    for x, y in rng.integers(10, 1980, size=(5000, 2)):
        cv2.rectangle(img, (int(x), int(y)), (int(x) + 9, int(y) + 3), (0, 0, 0), -1)
    return cv2.imencode(".png", img)[1].tobytes()


def post_raw(
    server: Server, data: bytes, content_type: str = "application/octet-stream"
) -> requests.Response:
    return requests.post(
        server.url + "/api/ocr", data=data, headers={"Content-Type": content_type}, timeout=120
    )


def check_error(response: requests.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text[:300]
    body = response.json()
    assert body["code"] == status and body["error"] == error
    assert body["message"] and "Traceback" not in body["message"] and body["request_id"]


RECEIPT = image_bytes("receipt.png")
TRUNCATED_JPEG = image_bytes("sign_photo.jpg")[:3000]

CLIENT_ERRORS = [
    ("truncated PNG", lambda: post_raw, RECEIPT[:4000], "image/png", 400, "not_an_image"),
    ("truncated JPEG", lambda: post_raw, TRUNCATED_JPEG, "image/jpeg", 400, "not_an_image"),
    ("zero bytes", lambda: post_raw, b"", "image/png", 422, "empty_image"),
    (
        "PNG claiming 100000x100000",
        lambda: post_raw,
        png_claiming(100_000, 100_000),
        "image/png",
        422,
        "image_too_large",
    ),
    (
        "JPEG bomb 60000x60000",
        lambda: post_raw,
        jpeg_claiming(60_000, 60_000),
        "image/jpeg",
        422,
        "image_too_large",
    ),
    ("text with an image type", lambda: post_raw, b"hello, world", "image/png", 400, "not_an_image"),
    ("wrong content type", lambda: post_raw, RECEIPT, "text/plain", 415, "unsupported_media_type"),
]


@pytest.mark.parametrize(
    ("name", "data", "content_type", "status", "error"),
    [(name, data, ct, status, error) for name, _, data, ct, status, error in CLIENT_ERRORS],
    ids=[c[0] for c in CLIENT_ERRORS],
)
def test_broken_images_get_their_4xx(server, name, data, content_type, status, error):
    check_error(post_raw(server, data, content_type), status, error)


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        (b"\xff\xfe\x00garbage", "application/json", "invalid_json"),
        (b"<xml>no</xml>", "application/json", "invalid_json"),
        (json.dumps({"image_base64": ["a"]}).encode(), "application/json", "invalid_field"),
        (json.dumps({"image_base64": "aGk=", "detect": 1}).encode(), "application/json", "invalid_field"),
        (
            json.dumps({"image_base64": "aGk=", "min_confidence": None}).encode(),
            "application/json",
            "invalid_field",
        ),
        (json.dumps({"image_base64": "aGk=", "admin": True}).encode(), "application/json", "unknown_field"),
        (json.dumps({"image": "aGk="}).encode(), "application/json", "unknown_field"),
    ],
)
def test_malformed_json_is_400(server, body, content_type, error):
    check_error(post_raw(server, body, content_type), 400, error)


def test_multipart_without_a_file_is_400(server):
    response = requests.post(
        server.url + "/api/ocr", data={"image": "not a file"}, files={"x": ("", b"")}, timeout=30
    )
    check_error(response, 400, "missing_file")


def test_base64_over_the_default_body_limit_is_413(server):
    blob = base64.b64encode(b"\0" * (DEFAULT_MAX_BODY_BYTES // 4 * 3 + 3)).decode()
    body = json.dumps({"image_base64": blob}).encode()
    assert len(body) > DEFAULT_MAX_BODY_BYTES
    check_error(post_raw(server, body, "application/json"), 413, "payload_too_large")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("1x1", encode(Image.new("RGB", (1, 1), "white"), "PNG")),
        ("20000x20 strip", encode(Image.new("L", (20_000, 20), 255), "PNG")),
        (
            "16-bit TIFF",
            encode(Image.fromarray((np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)), "TIFF"),
        ),
        ("CMYK JPEG", encode(Image.new("CMYK", (64, 64), (0, 0, 0, 40)), "JPEG")),
        (
            "animated GIF",
            (
                lambda frames: encode(
                    frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0
                )
            )([Image.new("P", (64, 32), i) for i in range(5)]),
        ),
    ],
)
def test_odd_but_valid_images_are_read(server, name, data):
    response = post_raw(server, data)
    assert response.status_code == 200, response.text[:300]
    assert response.json()["code"] == 0


def test_candidate_explosion_is_capped(server):
    response = post_raw(server, many_blobs(), "image/png")
    assert response.status_code == 200, response.text[:300]
    assert len(response.json()["data"]) <= 1000  # the detector examines at most 1000 candidates


def test_process_stays_healthy_and_memory_returns_near_baseline(server):
    # Baseline: after ordinary pages (the arena has met ordinary sizes).
    for _ in range(3):
        assert post_raw(server, RECEIPT, "image/png").status_code == 200
    baseline = rss(server)
    hostile = [data for _, _, data, _, _, _ in CLIENT_ERRORS] + [many_blobs(), png_claiming(40_000, 40_000)]
    for _ in range(2):
        for data in hostile:
            assert post_raw(server, data).status_code < 500
    for _ in range(3):
        assert post_raw(server, RECEIPT, "image/png").status_code == 200
    assert requests.get(server.url + "/ready", timeout=5).status_code == 200
    grown = rss(server) - baseline
    assert grown < 150e6, f"RSS grew by {grown / 1e6:.0f} MB"
    assert "Traceback" not in server.stdout() and "Traceback" not in server.stderr()


def test_extreme_aspect_ratios_with_page_orientation_stay_small(server):
    """Page orientation looks at a centre square: a 40000x1 strip must not be scaled to 10 Mpx first."""
    before = rss(server)
    strips = [Image.new("L", (40_000, 1), 255), Image.new("L", (1, 40_000), 255), Image.new("L", (1, 1), 0)]
    for strip in strips:
        response = requests.post(
            server.url + "/api/ocr?orient_page=true",
            data=encode(strip, "PNG"),
            headers={"Content-Type": "image/png"},
            timeout=120,
        )
        assert response.status_code == 200, response.text[:300]
        assert response.json()["angle"] in (0, 90, 180, 270)
    pdf = encode(Image.new("RGB", (4000, 2), "white"), "PDF", resolution=10.0)  # a 400 x 0.2 inch page
    response = requests.post(
        server.url + "/api/ocr", data=pdf, headers={"Content-Type": "application/pdf"}, timeout=120
    )
    assert response.status_code == 200, response.text[:300]
    assert response.json()["pages"][0]["angle"] in (0, 90, 180, 270)
    assert rss(server) - before < 150e6


def pdf_with_image_bomb(side: int) -> bytes:
    """Make a one-inch PDF page showing a side x side grey image (side² bytes decoded, little compressed)."""
    packer = zlib.compressobj(1)
    row = bytes(side)
    stream = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    content = b"q 72 0 0 72 0 0 cm /Im0 Do Q"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] /Contents 4 0 R "
        b"/Resources << /XObject << /Im0 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n"
        % (side, side, len(stream))
        + stream
        + b"\nendstream",
    ]
    return assemble_pdf(objects)


def test_an_image_bomb_inside_a_pdf_is_rendered_in_bounded_memory(server):
    """A 1.6 GB (decoded) picture in a 7 MB PDF: pdfium scales it while decoding, nothing balloons."""
    bomb = pdf_with_image_bomb(40_000)
    assert len(bomb) < 8_000_000
    before = rss(server)
    response = post_raw(server, bomb, "application/pdf")
    assert response.status_code == 200, response.text[:300]
    assert response.json()["pages"][0]["width"] == 200  # one inch at 200 dpi
    assert rss(server) - before < 150e6


# ---------------------------------------------------------------------------------------------------------
# JSON and multipart bodies: parsed after the token check, inside admission, within bounds
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("48 MB of empty objects", json_objects(15_000_000), "more than 100000 values"),
        ("a million numbers", b'{"image_base64": "aGk=", "x": [' + b"1," * 1_000_000 + b"1]}", "values"),
        ("deep nesting", b"[" * 100_000 + b"]" * 100_000, "nested more than 32"),
        (
            "a 5000-digit integer",
            b'{"image_base64": "aGk=", "min_confidence": 1' + b"0" * 5000 + b"}",
            "digits",
        ),
        ("NaN", b'{"image_base64": "aGk=", "min_confidence": NaN}', "NaN"),
        ("a huge exponent", b'{"image_base64": "aGk=", "min_confidence": 1e999}', "too large"),
    ],
)
def test_json_bombs_are_400_in_bounded_time_and_memory(server, name, body, message):
    before = rss(server)
    started = time.monotonic()
    response = post_raw(server, body, "application/json")
    check_error(response, 400, "invalid_json")
    assert message in response.json()["message"]
    assert time.monotonic() - started < 10
    assert rss(server) - before < 150e6, f"{name}: RSS grew by {(rss(server) - before) / 1e6:.0f} MB"


def test_multipart_with_thousands_of_parts_is_400(server):
    boundary = "b0undary"
    parts = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nx\r\n' for i in range(5000)
    )
    body = (parts + f"--{boundary}--\r\n").encode()
    response = post_raw(server, body, f"multipart/form-data; boundary={boundary}")
    check_error(response, 400, "invalid_multipart")


def test_unauthenticated_bodies_are_never_read_or_parsed(tmp_path):
    env = {"OCRFN_API_TOKEN": "t0ken-for-ocr", "OCRFN_WEBHOOK_TOKEN": "t0ken-for-events"}
    with running(tmp_path, env) as srv:
        before = rss(srv)
        for body, kind in ((json_objects(15_000_000), "application/json"), (b"\0" * 40_000_000, "image/png")):
            started = time.monotonic()
            response = post_raw(srv, body, kind)
            check_error(response, 401, "unauthorized")
            assert time.monotonic() - started < 5
        assert rss(srv) - before < 60e6
