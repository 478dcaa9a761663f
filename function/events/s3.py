"""AWS S3 through TriggerMesh's AWSS3Source: ``com.amazon.s3.objectcreated`` with one S3 record as data."""

from __future__ import annotations

from .model import Event, IgnoredEvent, ObjectRef
from .s3_record import record_reference

#: This adapter's name in the metrics' ``source`` label.
NAME = "s3"
TYPES = ("com.amazon.s3.objectcreated",)
IGNORED = ("com.amazon.s3.objectremoved", "com.amazon.s3.testevent")


def handles(event_type: str) -> bool:
    """Whether this adapter reads events of *event_type*."""
    return event_type in TYPES or event_type in IGNORED


def references(event: Event) -> list[ObjectRef]:
    """Return the created object (the data is the record itself, without a ``Records`` wrapper)."""
    if event.type in IGNORED:
        raise IgnoredEvent(f"{event.type}: nothing to OCR")
    return [record_reference(event.json_data())]
