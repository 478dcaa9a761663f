"""The OpenAPI 3.1 description (function/api/openapi.json) checked against a real server process.

Both directions: every documented operation is served, every served route is documented; every request
example is sent and its answer validated against the documented schema (JSON Schema 2020-12, ``$ref``s
resolved through a ``referencing`` registry); client errors of every status are produced and validated;
then schemathesis generates a bounded, deterministic number of requests per operation (no 5xx, every
status, content type, header and body as documented).
"""

from __future__ import annotations

import base64
import copy
import io
import json
import re
import shutil
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
import schemathesis
from conftest import DATA, ROOT, image_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from PIL import Image
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from server import running
from test_document import text_pdf

from function.api.app import _ALLOWED

SPEC_PATH = ROOT / "function" / "api" / "openapi.json"
SPEC: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
URN = "urn:ocrfn:openapi"
REGISTRY = Registry().with_resource(URN, Resource(contents=SPEC, specification=DRAFT202012))
METHODS = ("get", "head", "post", "put", "patch", "delete", "options")
MAX_BODY_BYTES = 200_000  # the module server's limit: small enough to produce 413s cheaply
TIMEOUT = 60


# ---------------------------------------------------------------------------------------------------------
# The document: references, schemas, examples
# ---------------------------------------------------------------------------------------------------------
def deref(obj: dict[str, Any]) -> dict[str, Any]:
    """Follow a (chain of) local ``$ref`` of an OpenAPI object (response, example, parameter...)."""
    while "$ref" in obj:
        node: Any = SPEC
        for part in obj["$ref"].removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        obj = node
    return obj


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A 2020-12 validator of a schema taken from the document (its local ``$ref``s point into it)."""
    text = json.dumps(schema).replace('"$ref": "#/', f'"$ref": "{URN}#/')
    return Draft202012Validator(
        json.loads(text), registry=REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def assert_valid(instance: Any, schema: dict[str, Any], where: str) -> None:
    errors = sorted(validator(schema).iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, f"{where}: " + "; ".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors)


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    """Every (path, method, operation) of the document."""
    return [(path, m, item[m]) for path, item in SPEC["paths"].items() for m in METHODS if m in item]


def documented_routes() -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, method, _ in operations()}


def parameters(path: str, op: dict[str, Any]) -> list[dict[str, Any]]:
    return [deref(p) for p in SPEC["paths"][path].get("parameters", []) + op.get("parameters", [])]


def media_type(content: dict[str, Any], content_type: str) -> tuple[str, dict[str, Any]]:
    """The documented media type (exact, then wildcard) matching a response's Content-Type."""
    mime = content_type.split(";")[0].strip().lower()
    for key, value in content.items():
        if key == mime or (key.endswith("/*") and mime.startswith(key[:-1])):
            return key, value
    raise AssertionError(f"Content-Type {content_type} is not documented; documented: {sorted(content)}")


def check_response(path: str, method: str, response: requests.Response) -> dict[str, Any]:
    """Assert *response* is documented for the operation (status, headers, content type, body schema)."""
    op = SPEC["paths"][path][method]
    responses = op["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method.upper()} {path}: {status} not documented ({sorted(responses)})"
    return check_against(deref(responses[status]), response, f"{method.upper()} {path} {status}")


def check_against(documented: dict[str, Any], response: requests.Response, where: str) -> dict[str, Any]:
    for name, header in documented.get("headers", {}).items():
        header = deref(header)
        value = response.headers.get(name)
        if value is None:
            assert not header.get("required"), f"{where}: required header {name} missing"
            continue
        if header["schema"].get("type") == "integer":
            value = int(value)
        assert_valid(value, header["schema"], f"{where} header {name}")
    assert "X-Request-Id" in documented.get("headers", {}), f"{where}: X-Request-Id not documented"
    assert response.headers.get("X-Request-Id"), f"{where}: no X-Request-Id"
    content = documented.get("content")
    if not content or response.request.method == "HEAD":
        assert response.content == b"", f"{where}: a body where none is documented"
        return documented
    key, media = media_type(content, response.headers.get("Content-Type", ""))
    if key.endswith("json"):
        body = response.json()
        assert_valid(body, media["schema"], where)
        if isinstance(body, dict) and "request_id" in body:
            assert body["request_id"] == response.headers["X-Request-Id"]
    else:
        assert_valid(response.text, media["schema"], where)
    return documented


def all_examples() -> list[tuple[str, Any, dict[str, Any]]]:
    """(where, example value, schema) of every example in the document, for self-consistency."""
    found = []
    for path, method, op in operations():
        where = f"{method.upper()} {path}"
        body = op.get("requestBody", {}).get("content", {})
        for mime, media in body.items():
            for name, example in media.get("examples", {}).items():
                value = deref(example)["value"]
                if media["schema"].get("$ref", "").endswith(("/ImageFile", "/MultipartUpload")):
                    continue  # binary: checked by sending them
                found.append((f"{where} {mime} {name}", value, media["schema"]))
        for status, response in op["responses"].items():
            for mime, media in deref(response).get("content", {}).items():
                named = {k: deref(v)["value"] for k, v in media.get("examples", {}).items()}
                if "example" in media:
                    named["example"] = media["example"]
                for name, value in named.items():
                    found.append((f"{where} {status} {mime} {name}", value, media["schema"]))
        for param in parameters(path, op):
            for name, example in param.get("examples", {}).items():
                found.append((f"{where} {param['name']} {name}", example["value"], param["schema"]))
    for name, response in SPEC["components"]["responses"].items():
        for mime, media in response.get("content", {}).items():
            for key, example in media.get("examples", {}).items():
                found.append((f"components {name} {mime} {key}", deref(example)["value"], media["schema"]))
    return found


def test_document_is_valid_openapi_3_1():
    validate(SPEC, cls=OpenAPIV31SpecValidator)
    assert SPEC["openapi"] == "3.1.0"
    assert [server["url"] for server in SPEC["servers"]] == ["/"]
    assert SPEC["info"]["title"] == "ocrfn"
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'version = "{SPEC["info"]["version"]}"' in pyproject
    assert SPEC_PATH.stat().st_size < 128_000  # served whole on every /openapi.json: keep it lean


def test_every_response_documents_the_request_id():
    for path, method, op in operations():
        for status, response in op["responses"].items():
            headers = deref(response).get("headers", {})
            assert "X-Request-Id" in headers, f"{method.upper()} {path} {status}"


def test_every_example_matches_its_schema():
    examples = all_examples()
    assert len(examples) > 30
    for where, value, schema in examples:
        assert_valid(value, schema, where)


def test_binary_examples_are_the_test_image():
    small_line = image_bytes("small_line.png")
    examples = SPEC["components"]["examples"]
    assert examples["raw-png"]["value"].encode("latin-1") == small_line
    assert examples["multipart-single-line"]["value"]["image"].encode("latin-1") == small_line
    assert base64.b64decode(examples["json-small-line"]["value"]["image_base64"]) == small_line


def test_error_names_cover_the_readme_table():
    documented: dict[int, set[str]] = {}
    for name, schema in SPEC["components"]["schemas"].items():
        if name.endswith("Error") and "allOf" in schema:
            details = schema["allOf"][1]["properties"]
            documented.setdefault(details["code"]["const"], set()).update(details["error"]["enum"])
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [row.split("|") for row in readme.splitlines() if re.match(r"^\| [45]\d\d", row)]
    assert rows, "README's error table not found"
    for row in rows:
        statuses = [int(s) for s in re.findall(r"\d{3}", row[1])]
        allowed = set().union(*(documented.get(s, set()) for s in statuses))
        for name in re.findall(r"`([a-z_]+)`", row[2]):
            assert name in allowed, f"README's {statuses} {name} is not in the document"


# ---------------------------------------------------------------------------------------------------------
# The real server
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def buckets(tmp_path_factory) -> Path:
    """Local buckets for the event examples: photos/receipt.png, and an object over the body limit."""
    root = tmp_path_factory.mktemp("buckets")
    (root / "photos").mkdir()
    shutil.copy(DATA / "images" / "receipt.png", root / "photos" / "receipt.png")
    (root / "photos" / "huge.png").write_bytes(b"\0" * (MAX_BODY_BYTES + 1))
    return root


@pytest.fixture(scope="module")
def server(tmp_path_factory, buckets):
    env = {
        "OCRFN_FILE_ROOT": str(buckets),
        "OCRFN_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        "OCRFN_MAX_QUEUE": "8",
    }
    with running(tmp_path_factory.mktemp("openapi-server"), env) as srv:
        yield srv


def test_served_document_is_the_file(server):
    response = requests.get(server.url + "/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == SPEC
    check_response("/openapi.json", "get", response)


def test_documented_routes_are_the_served_routes(server):
    served = {(path, method) for path, methods in _ALLOWED.items() for method in methods}
    assert documented_routes() == served
    # And over HTTP: every documented operation is answered with a documented status, and every other
    # method on a documented path is a 405 whose Allow lists exactly the documented methods.
    for path, item in SPEC["paths"].items():
        documented = sorted(m.upper() for m in METHODS if m in item)
        for method in METHODS:
            response = requests.request(method.upper(), server.url + path, timeout=TIMEOUT)
            if method in item:
                check_response(path, method, response)
                if method != "post":  # an empty POST is a client error; GET and HEAD succeed
                    assert response.status_code == 200, (method, path, response.text)
            else:
                assert response.status_code == 405, (method, path)
                check_against(SPEC["components"]["responses"]["MethodNotAllowed"], response, "405")
                assert sorted(response.headers["Allow"].split(", ")) == documented


def test_unknown_path_is_the_documented_404(server):
    for path in ("/nope", "/api", "/api/ocr/extra"):
        response = requests.post(server.url + path, timeout=10)
        assert response.status_code == 404
        check_against(SPEC["components"]["responses"]["NotFound"], response, "404")


def test_root_get_gives_the_page_to_browsers(server):
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    page = requests.get(server.url + "/", headers=browser, timeout=10)
    assert page.headers["Content-Type"].startswith("text/html")
    check_response("/", "get", page)
    described = requests.get(server.url + "/", headers={"Accept": "application/json"}, timeout=10)
    assert check_response("/", "get", described)
    assert described.json()["ready"] is True


# ---------------------------------------------------------------------------------------------------------
# Every request example, sent as documented
# ---------------------------------------------------------------------------------------------------------
def request_examples() -> list[tuple[str, str, str, str]]:
    return [
        (path, method, mime, name)
        for path, method, op in operations()
        for mime, media in op.get("requestBody", {}).get("content", {}).items()
        for name in media.get("examples", {})
    ]


#: Request example -> the response example whose lines it must reproduce (keeps the examples real).
EXPECTED_LINES = {
    "json-small-line": "result-small-line",
    "raw-png": "result-small-line",
    "multipart-single-line": "result-single-line",
}


def example_request(path: str, method: str, mime: str, name: str) -> dict[str, Any]:
    """The keyword arguments of ``requests.request`` for one documented request example."""
    op = SPEC["paths"][path][method]
    value = deref(op["requestBody"]["content"][mime]["examples"][name])["value"]
    query: dict[str, str] = {}
    headers: dict[str, str] = {"X-Request-Id": f"example-{name}"}
    for param in parameters(path, op):
        if name in param.get("examples", {}):
            given = param["examples"][name]["value"]
            text = json.dumps(given) if isinstance(given, bool) else str(given)
            (query if param["in"] == "query" else headers)[param["name"]] = text
    kwargs: dict[str, Any] = {"params": query, "headers": headers, "timeout": TIMEOUT}
    if mime == "multipart/form-data":
        kwargs["files"] = {
            field: ("image.png", data.encode("latin-1"), "image/png") for field, data in value.items()
        }
    elif mime in ("image/*", "application/octet-stream"):
        headers["Content-Type"] = "image/png" if mime == "image/*" else mime
        kwargs["data"] = value.encode("latin-1")
    else:
        headers["Content-Type"] = mime
        kwargs["data"] = json.dumps(value).encode("utf-8")
    return kwargs


@pytest.mark.parametrize(("path", "method", "mime", "name"), request_examples())
def test_request_example(server, path, method, mime, name):
    response = requests.request(
        method.upper(), server.url + path, **example_request(path, method, mime, name)
    )
    assert response.status_code in (200, 204), response.text  # the examples are requests that succeed
    check_response(path, method, response)
    assert response.headers["X-Request-Id"] == f"example-{name}"
    if name in EXPECTED_LINES:
        expected = SPEC["components"]["examples"][EXPECTED_LINES[name]]["value"]
        got = response.json()
        assert [d["text"] for d in got["data"]] == [d["text"] for d in expected["data"]]
        for mine, theirs in zip(got["data"], expected["data"], strict=True):
            assert abs(mine["confidence"] - theirs["confidence"]) < 0.02  # tolerant of another CPU's rounding
            corners = np.array(mine["box"]) - np.array(theirs["box"])
            assert np.abs(corners).max() <= 2
        assert [got[k] for k in ("width", "height", "model")] == [
            expected[k] for k in ("width", "height", "model")
        ]
    if response.headers.get("Content-Type", "").startswith("text/plain"):
        assert response.text == SPEC["components"]["examples"]["text-small-line"]["value"]
    if response.headers.get("ce-type"):
        assert response.headers["ce-type"] == "dev.ocrfn.ocr.completed"
        statuses = {o["status"] for o in response.json()["objects"]}
        assert statuses <= {"completed", "duplicate"}


# ---------------------------------------------------------------------------------------------------------
# Client errors of every status a client can cause, against the documented Error schemas
# ---------------------------------------------------------------------------------------------------------
def pixel_bomb() -> bytes:
    """A PNG whose header announces 100 000 x 100 000 pixels (a few hundred bytes)."""
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    png = bytearray(buf.getvalue())
    png[16:24] = (100_000).to_bytes(4, "big") * 2
    png[29:33] = zlib.crc32(bytes(png[12:29])).to_bytes(4, "big")
    return bytes(png)


def ce_headers(kind: str = "dev.ocrfn.ocr.request") -> dict[str, str]:
    return {"ce-specversion": "1.0", "ce-type": kind, "ce-source": "test", "ce-id": "e1"}


JSON = {"Content-Type": "application/json"}
STRUCTURED = {"Content-Type": "application/cloudevents+json"}


def structured(kind: str, data: Any) -> bytes:
    event = {"specversion": "1.0", "type": kind, "source": "test", "id": "s1", "data": data}
    return json.dumps(event).encode()


ERROR_CASES = [
    # (path, headers, body, status, error)
    ("/api/ocr", JSON, b'{"image_base64": ', 400, "invalid_json"),
    ("/api/ocr", JSON, b"{}", 400, "missing_field"),
    ("/api/ocr", JSON, b'{"image_base64": 1}', 400, "invalid_field"),
    ("/api/ocr", JSON, b'{"image_base64": "aGk=", "langauge": "en"}', 400, "unknown_field"),
    ("/api/ocr", JSON, b'{"image_base64": "not base64!"}', 400, "invalid_base64"),
    ("/api/ocr", {"Content-Type": "image/png"}, b"hello, not a picture", 400, "not_an_image"),
    (
        "/api/ocr",
        {"Content-Type": "multipart/form-data; boundary=x"},
        b"--x\r\nbroken",
        400,
        "invalid_multipart",
    ),
    ("/", {"Content-Type": "image/png"}, image_bytes("receipt.png")[:3000], 400, "not_an_image"),
    ("/", {**JSON, **ce_headers("com.example.unknown")}, b'{"x": 1}', 400, "unsupported_event"),
    ("/", {**JSON, "ce-specversion": "1.0"}, b"{}", 400, "invalid_event"),
    ("/api/events", JSON, b'{"image_base64": "aGk="}', 400, "not_an_event"),
    ("/api/events", {**JSON, **ce_headers()}, b'{"url": "file://photos/../etc"}', 400, "invalid_key"),
    ("/api/events", {**JSON, **ce_headers()}, b'{"url": "az://photos/a.png"}', 400, "unsupported_scheme"),
    ("/api/ocr", JSON, b'{"image_base64": ' + b"[" * 64 + b"]" * 64 + b"}", 400, "invalid_json"),
    (
        "/api/events",
        STRUCTURED,
        structured("google.cloud.storage.object.v1.finalized", {"bucket": "photos", "name": "../x.png"}),
        400,
        "invalid_key",
    ),
    (
        "/api/ocr",
        {"Content-Type": "application/octet-stream"},
        b"\0" * (MAX_BODY_BYTES + 1),
        413,
        "payload_too_large",
    ),
    ("/api/events", STRUCTURED, b" " * (MAX_BODY_BYTES + 1), 413, "payload_too_large"),
    ("/api/ocr", {"Content-Type": "text/plain"}, b"hello", 415, "unsupported_media_type"),
    ("/", {}, b"", 415, "unsupported_media_type"),
    ("/api/ocr", JSON, b'{"image_base64": ""}', 422, "empty_image"),
    ("/", {"Content-Type": "image/png"}, pixel_bomb(), 422, "image_too_large"),
    ("/", {**JSON, **ce_headers()}, b'{"url": "file://photos/gone.png"}', 422, "object_missing"),
    ("/api/events", {**JSON, **ce_headers()}, b'{"url": "file://photos/huge.png"}', 422, "object_too_large"),
]


@pytest.mark.parametrize(
    ("path", "headers", "body", "status", "error"),
    ERROR_CASES,
    ids=[f"{status}-{error}-{path}" for path, _, _, status, error in ERROR_CASES],
)
def test_client_error_is_documented(server, path, headers, body, status, error):
    response = requests.post(server.url + path, data=body, headers=headers, timeout=TIMEOUT)
    assert response.status_code == status, response.text
    documented = check_response(path, "post", response)
    got = response.json()
    assert got["code"] == status
    assert got["error"] == error
    assert error in error_names(documented["content"]["application/json"]["schema"])


def error_names(schema: dict[str, Any]) -> list[str]:
    """The error names a documented error schema allows."""
    return deref(schema)["allOf"][1]["properties"]["error"]["enum"]


def test_multipart_without_a_file_is_documented(server):
    response = requests.post(server.url + "/api/ocr", files={"other": ("a.txt", b"hello")}, timeout=TIMEOUT)
    assert response.status_code == 400 and response.json()["error"] == "missing_file"
    check_response("/api/ocr", "post", response)


@pytest.mark.parametrize("path", ["/", "/api/events"])
@pytest.mark.parametrize("body", [b"[null, null]", b"1", b'"text"'])
def test_structured_event_that_is_not_an_object_is_400(server, path, body):
    headers = {**STRUCTURED, **ce_headers()}
    response = requests.post(server.url + path, data=body, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_event"


# ---------------------------------------------------------------------------------------------------------
# Property-based: schemathesis-generated requests against the real server (bounded and deterministic)
# ---------------------------------------------------------------------------------------------------------
@st.composite
def images(draw, fmt: str) -> bytes:
    """A small real image file: random size, colour mode and content (noise, flat, or stripes)."""
    width, height = draw(st.integers(1, 96)), draw(st.integers(1, 96))
    mode = draw(
        st.sampled_from(["1", "L", "LA", "P", "RGB", "RGBA", "I;16"] if fmt == "PNG" else ["L", "RGB"])
    )
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    if draw(st.booleans()):
        pixels[:] = pixels[0, 0]
    elif draw(st.booleans()):
        pixels[::4] = 0
    image = Image.fromarray(pixels, "RGB").convert(mode if mode != "I;16" else "L")
    if mode == "I;16":
        image = image.convert("I").point(lambda v: v * 256).convert("I;16")
    buf = io.BytesIO()
    image.save(buf, fmt)
    return buf.getvalue()


FUZZ_IMAGES = st.one_of(
    images("PNG"), images("JPEG"), images("BMP"), images("WEBP"), images("GIF"), images("TIFF")
)
schemathesis.openapi.media_type("image/png", images("PNG"), aliases=["image/*"])
schemathesis.openapi.media_type("image/jpeg", images("JPEG"))
schemathesis.openapi.media_type("application/octet-stream", st.one_of(FUZZ_IMAGES, st.binary(max_size=512)))
schemathesis.openapi.media_type(
    "application/pdf",
    st.one_of(st.sampled_from([text_pdf(["ocrfn 2026"]), b"%PDF-1.4 broken"]), st.binary(max_size=256)),
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
#: OCR and probe operations: positive and negative (schema-violating) generated requests.
FUZZ_SCHEMA = schemathesis.openapi.from_dict(copy.deepcopy(SPEC)).include(
    path=["/api/ocr", "/health", "/ready", "/metrics", "/webui", "/openapi.json"]
)
#: Operations that also take events: valid and invalid generated requests alike.
EVENT_SCHEMA = schemathesis.openapi.from_dict(copy.deepcopy(SPEC)).include(path=["/", "/api/events"])


@FUZZ_SCHEMA.parametrize()
@FUZZ
def test_generated_requests(server, case):
    case.call_and_validate(base_url=server.url, checks=CHECKS, timeout=TIMEOUT)


@EVENT_SCHEMA.parametrize()
@FUZZ
def test_generated_event_requests(server, case):
    case.call_and_validate(base_url=server.url, checks=CHECKS, timeout=TIMEOUT)


@given(
    image=FUZZ_IMAGES,
    route=st.sampled_from(["/api/ocr", "/"]),
    mime=st.sampled_from(["application/octet-stream", "image/png", "multipart/form-data"]),
    detect=st.booleans(),
    fmt=st.sampled_from(["json", "text"]),
)
@FUZZ
def test_generated_images_are_read_as_documented(server, image, route, mime, detect, fmt):
    """Real image files of every format, size and colour mode: always a documented 200."""
    query = {"detect": json.dumps(detect), "format": fmt}
    kwargs: dict[str, Any] = {"params": query, "timeout": TIMEOUT}
    if mime == "multipart/form-data":
        kwargs["files"] = {"image": ("fuzz", image)}
    else:
        kwargs.update(data=image, headers={"Content-Type": mime})
    response = requests.post(server.url + route, **kwargs)
    assert response.status_code == 200, response.text
    check_response(route, "post", response)
    if fmt == "json":
        width, height = Image.open(io.BytesIO(image)).size
        assert (response.json()["width"], response.json()["height"]) == (width, height)
