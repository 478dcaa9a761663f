"""ocrfn's own request event: ``dev.ocrfn.ocr.request`` with data ``{"url": "s3://bucket/key"}``.

Optional data fields: ``version`` (identifies the content for duplicate detection; by default the store's
version or eTag is used).
"""

from __future__ import annotations

from .model import Event, EventError, ObjectRef, field

#: This adapter's name in the metrics' ``source`` label.
NAME = "ocrfn"
TYPES = ("dev.ocrfn.ocr.request",)


def handles(event_type: str) -> bool:
    """Whether this adapter reads events of *event_type*."""
    return event_type in TYPES


def split_url(url: str) -> tuple[str, str, str]:
    """Split ``scheme://bucket/key`` into its parts, unchecked (the storage layer checks each part).

    Raises :class:`EventError` when *url* does not have that form at all.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme or "/" not in rest:
        shown = url if len(url) <= 80 else url[:77] + "..."
        raise EventError(f"{shown!r} is not an object URL like s3://bucket/key")
    bucket, _, key = rest.partition("/")
    return scheme, bucket, key


def references(event: Event) -> list[ObjectRef]:
    """Return the object named by the data's ``url``."""
    data = event.json_data()
    url = field(data, "url")
    if not isinstance(url, str):
        raise EventError("url must be a string like s3://bucket/key")
    scheme, bucket, key = split_url(url)
    version = field(data, "version", required=False)
    if version is not None and (isinstance(version, (bool, dict, list)) or len(str(version)) > 1024):
        raise EventError("version must be a short string or number")
    given = str(version) if version not in (None, "") else None
    return [ObjectRef(scheme, bucket, key, version=given, version_kind="given" if given else None)]
