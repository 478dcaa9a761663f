"""Turn an OCR request into image bytes and per-request options.

Accepted bodies: ``application/json`` (``{"image_base64": ..., "detect", "min_confidence", "orient_page",
"text_layer", "pages", "format"}``),
a raw image (``image/*`` or ``application/octet-stream``), or ``multipart/form-data`` with the file in
field ``image`` (or ``file``). Options may also come as query parameters; JSON fields win over them.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from flask import Request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.formparser import parse_form_data

from .. import json_limits
from ..errors import ServiceError
from ..events.request import TYPES as REQUEST_EVENT_TYPES
from ..options import OPTION_FIELDS, RequestOptions, parse_options
from ..settings import Settings

REQUEST_EVENT_TYPE = REQUEST_EVENT_TYPES[0]
JSON_FIELDS = ("image_base64", *OPTION_FIELDS)
FILE_FIELDS = ("image", "file")
_DATA_URL = re.compile(r"^data:[\w.+-]+/[\w.+-]+(;[\w.+-]+=[\w.+-]+)*;base64,", re.IGNORECASE)
_CHUNK = 1 << 16
#: Most bytes the form fields of a multipart body (everything but files) may take together.
MAX_FORM_FIELD_BYTES = 64 * 1024


@dataclass(frozen=True)
class OcrRequest:
    """What one OCR request asks for: the image (or document) bytes and its options."""

    image: bytes
    options: RequestOptions
    body_bytes: int = 0


def parse_ocr_request(request: Request, settings: Settings, body: bytes, payload: Any = None) -> OcrRequest:
    """Validate an OCR request whose *body* was read; client mistakes raise :class:`ServiceError`.

    *payload* is the parsed JSON of an ``application/json`` body (the caller parses it first to tell a
    MinIO notification from an OCR request).
    """
    unknown = sorted(set(request.args) - set(OPTION_FIELDS))
    if unknown:
        raise ServiceError(
            400,
            "unknown_field",
            f"Unknown query parameter(s) {', '.join(map(repr, unknown))}; "
            f"accepted: {', '.join(OPTION_FIELDS)}.",
        )
    mimetype = request.mimetype
    if mimetype == "application/json":
        if payload is None:
            payload = parse_json(body, settings.max_json_depth, settings.max_json_values)
        return replace(from_json_body(payload, request.args), body_bytes=len(body))
    if mimetype.startswith("image/") or mimetype in ("application/octet-stream", "application/pdf"):
        return OcrRequest(body, parse_options(request.args, "query parameter"), len(body))
    if mimetype == "multipart/form-data":
        return _from_multipart(request, body, settings)
    shown = f"Content-Type {mimetype} is" if mimetype else "A body without a Content-Type is"
    raise ServiceError(
        415,
        "unsupported_media_type",
        f"{shown} not accepted: send application/json with image_base64, a raw image or PDF "
        "(image/*, application/pdf or application/octet-stream), or multipart/form-data with the file in "
        "field 'image'.",
    )


def read_body(request: Request, max_body_bytes: int, timeout: float) -> bytes:
    """Read the whole body, refusing more than *max_body_bytes* or taking longer than *timeout* seconds.

    The size is checked from Content-Length first, then while reading in bounded chunks (a chunked body
    without Content-Length must also stop at the limit with a 413, never be cut short silently). A body
    that arrives too slowly is a 408: a client dripping bytes must not hold the request forever.
    """
    declared = request.content_length
    if declared is not None and declared > max_body_bytes:
        raise _too_large(max_body_bytes)
    deadline = time.monotonic() + timeout
    stream = request.stream
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = _read_chunk(stream, min(_CHUNK, max_body_bytes + 1 - total), timeout)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > max_body_bytes:
            raise _too_large(max_body_bytes)
        if time.monotonic() > deadline:
            raise _too_slow(timeout)
    return b"".join(chunks)


def _read_chunk(stream: Any, size: int, timeout: float) -> bytes:
    """Read one chunk of the body; every way reading it can fail is the client's (a 4xx)."""
    try:
        return stream.read(size)
    except ClientDisconnected:
        raise ServiceError(
            400, "incomplete_body", "The request body ended before its declared length."
        ) from None
    except TimeoutError:
        raise _too_slow(timeout) from None
    except Exception as exc:  # a malformed chunked encoding (the server's parser error), a reset connection
        raise ServiceError(
            400,
            "incomplete_body",
            "The request body could not be read (malformed or cut off).",
            detail=f"{type(exc).__name__}: {exc}"[:300],
        ) from None


def _too_slow(timeout: float) -> ServiceError:
    return ServiceError(408, "body_timeout", f"The request body did not arrive within {timeout:g} s.")


def _too_large(limit: int) -> ServiceError:
    return ServiceError(
        413, "payload_too_large", f"The request body is larger than the limit of {limit} bytes."
    )


def parse_json(body: bytes, max_depth: int, max_values: int) -> Any:
    """Parse a JSON body within bounds; invalid or oversized JSON is a 400 :class:`ServiceError`."""
    try:
        return json_limits.loads(body, max_depth, max_values)
    except json_limits.JsonError as exc:
        raise ServiceError(400, "invalid_json", f"The body is not acceptable JSON: {exc}.") from None


def from_json_body(payload: Any, query: Mapping[str, str]) -> OcrRequest:
    """Validate a parsed JSON OCR request (``image_base64`` plus options; query options as defaults)."""
    if not isinstance(payload, dict):
        raise ServiceError(400, "invalid_json", "The JSON body must be an object with an image_base64 field.")
    unknown = sorted(set(payload) - set(JSON_FIELDS))
    if unknown:
        hint = ""
        if "url" in unknown and "image_base64" not in payload:
            hint = (
                ' To OCR a stored object, send {"url": ...} as the data of a CloudEvent of type '
                f"{REQUEST_EVENT_TYPE} (binary mode: headers ce-specversion: 1.0, ce-id, ce-source and "
                "ce-type), or send the image itself."
            )
        raise ServiceError(
            400,
            "unknown_field",
            f"Unknown field(s) {', '.join(map(repr, unknown))}; accepted: {', '.join(JSON_FIELDS)}.{hint}",
        )
    if "image_base64" not in payload:
        raise ServiceError(400, "missing_field", "The JSON body has no image_base64 field.")
    encoded = payload["image_base64"]
    if not isinstance(encoded, str):
        raise ServiceError(400, "invalid_field", "image_base64 must be a string.")
    merged: dict[str, Any] = dict(query.items())
    merged.update({k: payload[k] for k in OPTION_FIELDS if k in payload})
    return OcrRequest(decode_base64(encoded), parse_options(merged, "field"))


def decode_base64(text: str) -> bytes:
    """Decode standard or URL-safe base64, with or without padding, whitespace or a ``data:`` URL prefix."""
    match = _DATA_URL.match(text)
    if match:
        text = text[match.end() :]
    compact = "".join(text.split())
    if "-" in compact or "_" in compact:
        compact = compact.replace("-", "+").replace("_", "/")
    compact += "=" * (-len(compact) % 4)
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise ServiceError(400, "invalid_base64", "image_base64 is not valid base64.") from None


def _from_multipart(request: Request, body: bytes, settings: Settings) -> OcrRequest:
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    try:
        _, _, files = parse_form_data(
            environ,
            stream_factory=_in_memory,
            max_content_length=settings.max_body_bytes,
            max_form_memory_size=MAX_FORM_FIELD_BYTES,
            max_form_parts=settings.max_form_parts,
            silent=False,
        )
    except (ValueError, RequestEntityTooLarge) as exc:
        message = f"The multipart body cannot be parsed: {_short(exc)}"
        raise ServiceError(400, "invalid_multipart", message) from None
    upload = next((files[name] for name in FILE_FIELDS if name in files), None)
    if upload is None:
        raise ServiceError(
            400, "missing_file", "The multipart body has no file in field 'image' (or 'file')."
        )
    return OcrRequest(upload.read(), parse_options(request.args, "query parameter"), len(body))


def _in_memory(*_: Any, **__: Any) -> io.BytesIO:
    """Keep uploaded files in memory (the body is bounded and already read): nothing touches the disk."""
    return io.BytesIO()


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200]
