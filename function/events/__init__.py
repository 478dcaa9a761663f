"""Storage-upload events: one small adapter per source turns an event into object references.

:func:`references` dispatches on the CloudEvent type (see each adapter's ``TYPES``); MinIO's webhook,
which is not a CloudEvent, goes through :func:`function.events.minio.webhook_references`.
"""

from __future__ import annotations

from . import ceph, gcs, minio, request, s3
from .model import Event, EventError, IgnoredEvent, ObjectRef, UnsupportedEventError

ADAPTERS = (gcs, s3, ceph, minio, request)

__all__ = [
    "WEBHOOK_LABELS",
    "Event",
    "EventError",
    "IgnoredEvent",
    "ObjectRef",
    "UnsupportedEventError",
    "labels",
    "references",
]
#: Metric labels of MinIO's webhook JSON, which is not a CloudEvent.
WEBHOOK_LABELS = (minio.NAME, "minio.webhook")


def labels(event_type: str) -> tuple[str, str]:
    """Return the metrics' (``source``, ``type``) labels of *event_type*, each from a closed set.

    ``source`` is the adapter that reads the type (``gcs``, ``s3``, ``ceph``, ``minio``, ``ocrfn``), else
    ``unknown``; ``type`` is the type itself (for Ceph its pattern), else ``other``: a sender cannot add
    label values by inventing types.
    """
    for adapter in ADAPTERS:
        if adapter.handles(event_type):
            label = getattr(adapter, "type_label", None)
            return adapter.NAME, label(event_type) if label else event_type
    return "unknown", "other"


def references(event: Event) -> list[ObjectRef]:
    """Return the objects an event announces.

    Raises :class:`UnsupportedEventError`, :class:`EventError`, or :class:`IgnoredEvent` for a known type
    that announces nothing to OCR (a deletion, a test event).
    """
    for adapter in ADAPTERS:
        if adapter.handles(event.type):
            return adapter.references(event)
    known = ", ".join(t for adapter in ADAPTERS for t in adapter.TYPES)
    raise UnsupportedEventError(f"event type {event.type!r} is not handled; handled types: {known}")
