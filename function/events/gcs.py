"""Google Cloud Storage through Eventarc: ``google.cloud.storage.object.v1.finalized``."""

from __future__ import annotations

from .model import Event, EventError, ObjectRef, as_size, field

#: This adapter's name in the metrics' ``source`` label.
NAME = "gcs"
TYPES = ("google.cloud.storage.object.v1.finalized",)


def handles(event_type: str) -> bool:
    """Whether this adapter reads events of *event_type*."""
    return event_type in TYPES


def references(event: Event) -> list[ObjectRef]:
    """Return the finalized object: bucket, name, generation (its version), size, contentType."""
    data = event.json_data()
    bucket, name = field(data, "bucket"), field(data, "name")
    if not isinstance(bucket, str) or not isinstance(name, str):
        raise EventError("bucket and name must be strings")
    generation = field(data, "generation", required=False)
    return [
        ObjectRef(
            scheme="gs",
            bucket=bucket,
            key=name,
            version=str(generation) if generation not in (None, "") else None,
            version_kind="generation" if generation not in (None, "") else None,
            size=as_size(field(data, "size", required=False)),
            content_type=field(data, "contentType", required=False) or None,
        )
    ]
