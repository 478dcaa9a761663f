"""Events over HTTP: recognise them, decode them with the cloudevents SDK, and answer as a broker expects.

Recognised: binary-mode CloudEvents (a ``ce-specversion`` header), structured mode
(``Content-Type: application/cloudevents+json``) and MinIO's webhook JSON. The answer is a binary
CloudEvent ``dev.ocrfn.ocr.completed`` (data: the outcome summary, ``application/json``) when the request
carries ``Prefer: reply`` and replies are on; otherwise an empty 204. Never a body that is not an event.

Header values follow the CloudEvents HTTP binding (section 3.1.3.2): attribute values are
percent-encoded when sent (space, ``"``, ``%`` and everything outside printable ASCII, as UTF-8 bytes)
and percent-decoded when received, so an object key in any script travels in ``ce-subject`` intact.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from cloudevents.conversion import to_binary
from cloudevents.exceptions import GenericException, MissingRequiredFields
from cloudevents.http import CloudEvent, from_http
from flask import Request, Response

from .. import json_limits
from ..errors import ServiceError
from ..events import Event

STRUCTURED = "application/cloudevents+json"
COMPLETED_TYPE = "dev.ocrfn.ocr.completed"
#: Attributes every CloudEvent must have (CloudEvents 1.0, section "Required Attributes").
REQUIRED = ("specversion", "id", "source", "type")


def is_cloudevent(request: Request) -> bool:
    """Whether the request is (or is meant as) a CloudEvent, in binary or structured mode.

    A request with any required attribute as a ``ce-`` header is a binary-mode event, even when another
    one is missing: it is then refused as an event that lacks those headers, not read as an OCR request.
    """
    return _binary(request.headers) or request.mimetype == STRUCTURED


def _binary(headers: Mapping[str, str]) -> bool:
    content_type = headers.get("Content-Type", "").split(";")[0].strip().lower()
    if "ce-specversion" in headers:
        return True
    return content_type != STRUCTURED and any(f"ce-{name}" in headers for name in REQUIRED)


def decode_cloudevent(headers: Mapping[str, str], body: bytes, limits: tuple[int, int]) -> Event:
    """Decode a CloudEvent request; malformed events raise a 400 :class:`ServiceError` (``invalid_event``).

    *limits* (nesting depth, values) bound the JSON of a structured event and of the event's data.
    """
    structured = not _binary(headers)
    if structured:
        try:
            json_limits.check_shape(body, *limits)
        except json_limits.JsonError as exc:
            raise _invalid(f"the structured event is not acceptable JSON: {exc}") from None
    else:
        missing = [f"ce-{name}" for name in REQUIRED if not headers.get(f"ce-{name}")]
        if missing:
            raise _invalid(f"the binary-mode event lacks the header(s) {', '.join(missing)}")
    try:
        # Data stays bytes here; the adapters parse it within the JSON bounds (Event.json_data).
        event = from_http(dict(headers), body, data_unmarshaller=lambda data: data)
    except MissingRequiredFields as exc:
        named = set(re.findall(r"\b(specversion|id|source|type)\b", str(exc)))
        lacking = ", ".join(name for name in REQUIRED if name in named) or _short(exc)
        raise _invalid(f"the structured event lacks the attribute(s) {lacking}") from None
    except GenericException as exc:
        raise _invalid(_short(exc)) from None
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        # The SDK assumes a structured body is a JSON object; anything else surfaces as these.
        raise _invalid(f"the structured event is not a JSON object ({_short(exc)})") from None
    attributes = event.get_attributes()
    decoded = {
        name: _attribute(attributes.get(name), structured) for name in ("type", "source", "id", "subject")
    }
    return Event(
        type=decoded["type"] or "",
        source=decoded["source"] or "",
        id=decoded["id"] or "",
        subject=decoded["subject"],
        data=event.get_data(),
        limits=limits,
    )


def wants_reply(request: Request) -> bool:
    """Whether the sender asked for a reply event (``Prefer: reply``, as brokers send)."""
    prefer = request.headers.get("Prefer", "")
    return any(part.strip().lower() == "reply" for part in prefer.split(","))


def reply(summaries: list[dict[str, Any]], send_event: bool, service: str | None) -> Response:
    """Answer a processed event: a binary CloudEvent with the summaries, or an empty 204."""
    if not send_event:
        return no_content()
    source = f"/ocrfn/{service}" if service else "/ocrfn"
    attributes = {
        "type": COMPLETED_TYPE,
        "source": source,
        "id": uuid.uuid4().hex,
        "datacontenttype": "application/json",
    }
    if summaries:
        attributes["subject"] = summaries[0].get("source", "")
    headers, body = to_binary(CloudEvent(attributes, {"objects": summaries}))
    encoded = {
        name: percent_encode(value) if name.lower().startswith("ce-") else value
        for name, value in headers.items()
    }
    return Response(body, status=200, headers=encoded)


def no_content() -> Response:
    """Return an empty 204, without the ``Content-Type`` Flask would add (there is no content to type)."""
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response


def percent_encode(value: str) -> str:
    """Encode a CloudEvents attribute value for an HTTP header (binding section 3.1.3.2)."""
    out = []
    for char in value:
        if "\x21" <= char <= "\x7e" and char not in '"%':
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
    return "".join(out)


def safe_header_value(value: str) -> str:
    """Return *value* unchanged when it is printable ASCII, else percent-encoded (never a broken header)."""
    if all("\x20" <= char <= "\x7e" for char in value):
        return value
    return percent_encode(value)


def _attribute(value: Any, structured: bool) -> str | None:
    """Return a received attribute as text, percent-decoded when it came in a header (binary mode)."""
    if value is None:
        return None
    text = str(value)
    if structured or "%" not in text:
        return text
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise _invalid("an attribute header is percent-encoded but not UTF-8") from None


def _invalid(reason: str) -> ServiceError:
    return ServiceError(400, "invalid_event", f"Not a valid CloudEvent: {reason}.")


def _short(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
