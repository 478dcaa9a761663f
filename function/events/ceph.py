"""Ceph RGW through the CephSource: ``com.amazonaws.s3:ObjectCreated:*`` (some versions drop ``s3:``)."""

from __future__ import annotations

from .model import Event, IgnoredEvent, ObjectRef
from .s3_record import record_reference

#: This adapter's name in the metrics' ``source`` label.
NAME = "ceph"
TYPES = ("com.amazonaws.s3:ObjectCreated:*", "com.amazonaws.ObjectCreated:*")
_PREFIXES = ("com.amazonaws.s3:", "com.amazonaws.")


_KINDS = ("ObjectCreated:", "ObjectRemoved:")


def _pattern(event_type: str) -> str | None:
    """Return the ``<prefix><kind>*`` pattern *event_type* matches, or ``None``."""
    for prefix in _PREFIXES:
        for kind in _KINDS:
            if event_type.startswith(prefix + kind):
                return f"{prefix}{kind}*"
    return None


def handles(event_type: str) -> bool:
    """Whether this adapter reads events of *event_type* (any ``ObjectCreated``/``ObjectRemoved`` kind)."""
    return _pattern(event_type) is not None


def type_label(event_type: str) -> str:
    """Return the metrics' ``type`` label of a handled type: its pattern (``…:ObjectCreated:*``)."""
    return _pattern(event_type) or "other"


def references(event: Event) -> list[ObjectRef]:
    """Return the created object from the single S3 record in the data; removals are ignored."""
    if "ObjectRemoved:" in event.type:
        raise IgnoredEvent(f"{event.type}: nothing to OCR")
    data = event.json_data()
    if isinstance(data, dict) and isinstance(data.get("Records"), list) and data["Records"]:
        data = data["Records"][0]  # tolerate the wrapped form
    return [record_reference(data)]
