"""Ceph RGW through the CephSource: ``com.amazonaws.s3:ObjectCreated:*`` (some versions drop ``s3:``)."""

from __future__ import annotations

from .model import Event, IgnoredEvent, ObjectRef
from .s3_record import record_reference

TYPES = ("com.amazonaws.s3:ObjectCreated:*", "com.amazonaws.ObjectCreated:*")
_PREFIXES = ("com.amazonaws.s3:", "com.amazonaws.")


def handles(event_type: str) -> bool:
    """Whether this adapter reads events of *event_type* (any ``ObjectCreated``/``ObjectRemoved`` kind)."""
    return any(
        event_type.startswith(p + kind) for p in _PREFIXES for kind in ("ObjectCreated:", "ObjectRemoved:")
    )


def references(event: Event) -> list[ObjectRef]:
    """Return the created object from the single S3 record in the data; removals are ignored."""
    if "ObjectRemoved:" in event.type:
        raise IgnoredEvent(f"{event.type}: nothing to OCR")
    data = event.json_data()
    if isinstance(data, dict) and isinstance(data.get("Records"), list) and data["Records"]:
        data = data["Records"][0]  # tolerate the wrapped form
    return [record_reference(data)]
