"""What the event adapters produce and raise."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from .. import json_limits


class EventError(Exception):
    """The event is malformed for its type (answered 400: a broker must not retry it)."""


class UnsupportedEventError(EventError):
    """No adapter handles this event type (answered 400)."""


class IgnoredEvent(Exception):
    """A known event that asks for no OCR (deletion, test event); acknowledged with 2xx and logged."""


#: JSON bounds for event data when the caller gives none: (nesting depth, values).
DEFAULT_JSON_LIMITS = (32, 100_000)


@dataclass(frozen=True)
class Event:
    """The parts of an incoming event the adapters read, independent of how it arrived.

    ``limits`` bound the JSON of ``data`` when it arrives as text or bytes (nesting depth, values).
    """

    type: str
    source: str = ""
    id: str = ""
    subject: str | None = None
    data: Any = None
    limits: tuple[int, int] = dataclass_field(default=DEFAULT_JSON_LIMITS, compare=False)

    def json_data(self) -> Any:
        """Return the data as parsed JSON (it may arrive parsed, as text or as bytes)."""
        data = self.data
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")
        if isinstance(data, (bytes, bytearray, memoryview)):
            try:
                return json_limits.loads(bytes(data), *self.limits)
            except json_limits.JsonError as exc:
                raise EventError(f"{self.type} event data is not JSON within bounds ({exc})") from None
        return data


@dataclass(frozen=True)
class ObjectRef:
    """One stored object an event announced.

    ``version`` identifies the object's content (GCS generation, S3 versionId, else eTag, else
    sequencer): duplicate deliveries of the same version are recognised by it.
    """

    scheme: str
    bucket: str
    key: str
    version: str | None = None
    size: int | None = None
    content_type: str | None = None
    #: What ``version`` is: ``generation``, ``versionId``, ``eTag``, ``sequencer`` or ``given`` (a label the
    #: sender chose). The first three can be checked against the stored object to spot stale events.
    version_kind: str | None = dataclass_field(default=None, compare=False)

    @property
    def url(self) -> str:
        """``scheme://bucket/key``."""
        return f"{self.scheme}://{self.bucket}/{self.key}"


def field(data: Any, *path: str, required: bool = True) -> Any:
    """``data[path[0]][path[1]]...``; a missing required field raises :class:`EventError`."""
    value = data
    for name in path:
        if not isinstance(value, dict) or name not in value:
            if required:
                raise EventError(f"event data has no {'.'.join(path)}")
            return None
        value = value[name]
    return value


def as_size(value: Any) -> int | None:
    """Parse a size that may arrive as a number or a string (GCS sends strings); a bad one is an error."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise EventError(f"object size {value!r} is not an integer")
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # NaN and Infinity are not integers and fall through to the error below
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 20:
        value = int(value.strip())
    if not isinstance(value, int) or value < 0:
        raise EventError(f"object size {str(value)[:40]!r} is not a non-negative integer")
    return value
