"""Events over HTTP: recognise them, decode them with the cloudevents SDK, and answer as a broker expects.

Recognised: binary-mode CloudEvents (a ``ce-specversion`` header), structured mode
(``Content-Type: application/cloudevents+json``) and MinIO's webhook JSON. The answer is a binary
CloudEvent ``dev.ocrfn.ocr.completed`` (data: the outcome summary, ``application/json``) when the request
carries ``Prefer: reply`` and replies are on; otherwise an empty 204. Never a body that is not an event.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from cloudevents.conversion import to_binary
from cloudevents.exceptions import GenericException
from cloudevents.http import CloudEvent, from_http
from flask import Request, Response

from ..events import Event
from .errors import ApiError

STRUCTURED = "application/cloudevents+json"
COMPLETED_TYPE = "dev.ocrfn.ocr.completed"


def is_cloudevent(request: Request) -> bool:
    """Whether the request is a CloudEvent in binary or structured mode."""
    return "ce-specversion" in request.headers or request.mimetype == STRUCTURED


def decode_cloudevent(headers: Mapping[str, str], body: bytes) -> Event:
    """Decode a CloudEvent request with the SDK; malformed events raise a 400 :class:`ApiError`."""
    try:
        event = from_http(dict(headers), body)
    except GenericException as exc:
        raise ApiError(400, "invalid_event", f"not a valid CloudEvent: {_short(exc)}") from None
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        # The SDK assumes a structured body is a JSON object; anything else surfaces as these.
        raise ApiError(400, "invalid_event", f"not a valid CloudEvent: {_short(exc)}") from None
    attributes = event.get_attributes()
    return Event(
        type=str(attributes.get("type", "")),
        source=str(attributes.get("source", "")),
        id=str(attributes.get("id", "")),
        subject=attributes.get("subject"),
        data=event.get_data(),
    )


def wants_reply(request: Request) -> bool:
    """Whether the sender asked for a reply event (``Prefer: reply``, as brokers send)."""
    prefer = request.headers.get("Prefer", "")
    return any(part.strip().lower() == "reply" for part in prefer.split(","))


def reply(summaries: list[dict[str, Any]], send_event: bool, service: str | None) -> Response:
    """Answer a processed event: a binary CloudEvent with the summaries, or an empty 204."""
    if not send_event:
        return Response(status=204)
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
    return Response(body, status=200, headers=headers)


def _short(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
