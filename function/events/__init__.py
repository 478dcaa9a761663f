"""Storage-upload events: one small adapter per source turns an event into object references.

:func:`references` dispatches on the CloudEvent type (see each adapter's ``TYPES``); MinIO's webhook,
which is not a CloudEvent, goes through :func:`function.events.minio.webhook_references`.
"""

from __future__ import annotations

from . import ceph, gcs, minio, request, s3
from .model import Event, EventError, IgnoredEvent, ObjectRef, UnsupportedEventError

ADAPTERS = (gcs, s3, ceph, minio, request)

__all__ = ["Event", "EventError", "IgnoredEvent", "ObjectRef", "UnsupportedEventError", "references"]


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
