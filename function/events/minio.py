"""MinIO: its webhook body (not a CloudEvent), directly or as the data of a KafkaSource event.

The webhook body is ``{"EventName": "s3:ObjectCreated:Put", "Key": "bucket/key", "Records": [...]}``.
MinIO's ObjectCreated family also fires for tagging, retention and legal-hold changes, which do not
change the content: those are ignored (the result would be the same).
"""

from __future__ import annotations

from typing import Any

from .model import Event, EventError, IgnoredEvent, ObjectRef
from .s3_record import record_reference

#: This adapter's name in the metrics' ``source`` label.
NAME = "minio"
TYPES = ("dev.knative.kafka.event",)
_METADATA_ONLY = (
    "s3:ObjectCreated:PutTagging",
    "s3:ObjectCreated:PutRetention",
    "s3:ObjectCreated:PutLegalHold",
)


def handles(event_type: str) -> bool:
    """Whether this adapter reads events of *event_type* (MinIO notifications through Kafka)."""
    return event_type in TYPES


def references(event: Event) -> list[ObjectRef]:
    """Return the objects of a MinIO notification carried by a KafkaSource event."""
    return webhook_references(event.json_data())


def is_webhook(body: Any) -> bool:
    """Whether a parsed JSON body looks like a MinIO webhook notification."""
    return isinstance(body, dict) and "EventName" in body and isinstance(body.get("Records"), list)


def webhook_references(body: Any) -> list[ObjectRef]:
    """Return the created objects of a MinIO notification body (one per record)."""
    if not is_webhook(body):
        raise EventError("not a MinIO notification: expected EventName and Records")
    name = body["EventName"]
    if not isinstance(name, str) or not name.startswith("s3:ObjectCreated:"):
        raise IgnoredEvent(f"MinIO {name}: nothing to OCR")
    if name in _METADATA_ONLY:
        raise IgnoredEvent(f"MinIO {name}: metadata change only")
    refs = [record_reference(record) for record in body["Records"]]
    if not refs:
        raise EventError("MinIO notification without records")
    return refs
