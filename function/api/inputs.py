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
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from flask import Request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.formparser import parse_form_data

from ..ocr import OcrOptions
from ..ocr.document import PageSelection
from .errors import ApiError

FORMATS = ("json", "text", "hocr")
OPTION_FIELDS = ("detect", "min_confidence", "orient_page", "text_layer", "pages", "format")
JSON_FIELDS = ("image_base64", *OPTION_FIELDS)
FILE_FIELDS = ("image", "file")
_DATA_URL = re.compile(r"^data:[\w.+-]+/[\w.+-]+(;[\w.+-]+=[\w.+-]+)*;base64,", re.IGNORECASE)
_CHUNK = 1 << 16
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class OcrRequest:
    """What one OCR request asks for.

    ``orient_page`` is ``None`` when the request did not say: pages of documents are then turned upright,
    single images are read as they are. ``text_layer=False`` OCRs PDF pages even when they carry text.
    ``pages`` selects pages of a document (``None``: all of them).
    """

    image: bytes
    options: OcrOptions
    format: str
    orient_page: bool | None = None
    text_layer: bool = True
    pages: PageSelection | None = None
    body_bytes: int = 0


def parse_ocr_request(request: Request, max_body_bytes: int, body: bytes | None = None) -> OcrRequest:
    """Read and validate an OCR request; client mistakes raise :class:`ApiError` (400, 413, 415).

    *body* is the request body when the caller has already read it (JSON bodies are read first to tell a
    MinIO notification from an OCR request).
    """
    mimetype = request.mimetype
    if mimetype == "application/json":
        if body is None:
            body = read_body(request, max_body_bytes)
        return replace(from_json_body(parse_json(body), request.args), body_bytes=len(body))
    if mimetype.startswith("image/") or mimetype in ("application/octet-stream", "application/pdf"):
        image = read_body(request, max_body_bytes)
        return OcrRequest(image, *_options(request.args, "query parameter"), body_bytes=len(image))
    if mimetype == "multipart/form-data":
        return _from_multipart(request, max_body_bytes)
    shown = mimetype or "none"
    raise ApiError(
        415,
        "unsupported_media_type",
        f"Content-Type {shown} is not accepted: send application/json with image_base64, a raw image or PDF "
        "(image/*, application/pdf or application/octet-stream), or multipart/form-data with the file in "
        "field 'image'.",
    )


def read_body(request: Request, max_body_bytes: int) -> bytes:
    """Read the whole body, refusing more than *max_body_bytes* (Content-Length first, then while reading).

    Reading is done here, in bounded chunks, rather than by Werkzeug's ``max_content_length``: a chunked
    body without Content-Length must also stop at the limit with a 413, never be cut short silently.
    """
    declared = request.content_length
    if declared is not None and declared > max_body_bytes:
        raise _too_large(max_body_bytes)
    stream = request.stream
    chunks: list[bytes] = []
    total = 0
    try:
        while True:
            chunk = stream.read(min(_CHUNK, max_body_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_body_bytes:
                raise _too_large(max_body_bytes)
    except ClientDisconnected:
        raise ApiError(400, "incomplete_body", "The request body ended before its declared length.") from None
    return b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"The request body is larger than the limit of {limit} bytes.")


def parse_json(body: bytes) -> Any:
    """Parse a JSON body; invalid JSON (or not UTF-8) is a 400 :class:`ApiError`."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"The body is not valid JSON: {_short(exc)}") from None


def from_json_body(payload: Any, query: Mapping[str, str]) -> OcrRequest:
    """Validate a parsed JSON OCR request (``image_base64`` plus options; query options as defaults)."""
    if not isinstance(payload, dict):
        raise ApiError(400, "invalid_json", "The JSON body must be an object with an image_base64 field.")
    unknown = sorted(set(payload) - set(JSON_FIELDS))
    if unknown:
        raise ApiError(
            400,
            "unknown_field",
            f"Unknown field(s) {', '.join(map(repr, unknown))}; accepted: {', '.join(JSON_FIELDS)}.",
        )
    if "image_base64" not in payload:
        raise ApiError(400, "missing_field", "The JSON body has no image_base64 field.")
    encoded = payload["image_base64"]
    if not isinstance(encoded, str):
        raise ApiError(400, "invalid_field", "image_base64 must be a string.")
    merged: dict[str, Any] = {k: v for k, v in query.items() if k in OPTION_FIELDS}
    merged.update({k: payload[k] for k in OPTION_FIELDS if k in payload})
    return OcrRequest(decode_base64(encoded), *_options(merged, "field"))


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
        raise ApiError(400, "invalid_base64", "image_base64 is not valid base64.") from None


def _from_multipart(request: Request, max_body_bytes: int) -> OcrRequest:
    body = read_body(request, max_body_bytes)
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    try:
        _, _, files = parse_form_data(
            environ, stream_factory=_in_memory, max_content_length=max_body_bytes, silent=False
        )
    except (ValueError, RequestEntityTooLarge) as exc:
        message = f"The multipart body cannot be parsed: {_short(exc)}"
        raise ApiError(400, "invalid_multipart", message) from None
    upload = next((files[name] for name in FILE_FIELDS if name in files), None)
    if upload is None:
        raise ApiError(400, "missing_file", "The multipart body has no file in field 'image' (or 'file').")
    return OcrRequest(upload.read(), *_options(request.args, "query parameter"), body_bytes=len(body))


def _in_memory(*_: Any, **__: Any) -> io.BytesIO:
    """Keep uploaded files in memory (the body is bounded and already read): nothing touches the disk."""
    return io.BytesIO()


def _options(
    values: Mapping[str, Any], where: str
) -> tuple[OcrOptions, str, bool | None, bool, PageSelection | None]:
    detect = _as_bool(values.get("detect", True), "detect", where)
    min_confidence = _as_confidence(values.get("min_confidence", 0.5), where)
    orient = values.get("orient_page")
    orient_page = None if orient is None else _as_bool(orient, "orient_page", where)
    text_layer = _as_bool(values.get("text_layer", True), "text_layer", where)
    pages = _as_pages(values.get("pages"), where)
    fmt = values.get("format", "json")
    if fmt not in FORMATS:
        raise ApiError(400, "invalid_field", f"{where} format must be one of {', '.join(FORMATS)}.")
    return OcrOptions(detect=detect, min_confidence=min_confidence), fmt, orient_page, text_layer, pages


def _as_pages(value: Any, where: str) -> PageSelection | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ApiError(400, "invalid_field", f'{where} pages must be a string such as "1-3,7".')
    try:
        return PageSelection.parse(value)
    except ValueError as exc:
        raise ApiError(400, "invalid_field", f"{where} pages: {exc}.") from None


def _as_bool(value: Any, name: str, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ApiError(400, "invalid_field", f"{where} {name} must be true or false.")


def _as_confidence(value: Any, where: str) -> float:
    if isinstance(value, bool):
        number = math.nan
    elif isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
    else:
        number = math.nan
    if not 0.0 <= number <= 1.0:
        raise ApiError(400, "invalid_field", f"{where} min_confidence must be a number from 0 to 1.")
    return number


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200]
