"""ocrfn's own request event: ``dev.ocrfn.ocr.request`` with data ``{"url": "s3://bucket/key"}``.

Optional data fields: ``version`` (identifies the content for duplicate detection; by default the store's
version or eTag is used).
"""

from __future__ import annotations

from ..storage import InvalidKeyError, split_url
from .model import Event, EventError, ObjectRef, field

TYPES = ("dev.ocrfn.ocr.request",)


def handles(event_type: str) -> bool:
    """Whether this adapter reads events of *event_type*."""
    return event_type in TYPES


def references(event: Event) -> list[ObjectRef]:
    """Return the object named by the data's ``url``."""
    data = event.json_data()
    url = field(data, "url")
    if not isinstance(url, str):
        raise EventError("url must be a string like s3://bucket/key")
    try:
        scheme, bucket, key = split_url(url)
    except InvalidKeyError as exc:
        raise EventError(str(exc)) from None
    version = field(data, "version", required=False)
    given = str(version) if version else None
    return [ObjectRef(scheme, bucket, key, version=given, version_kind="given" if given else None)]
