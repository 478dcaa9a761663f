"""The S3 notification record shared by AWS (via TriggerMesh), Ceph RGW and MinIO."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from .model import EventError, ObjectRef, as_size, field


def record_reference(record: Any) -> ObjectRef:
    """Read an S3 record's object: bucket, URL-decoded key, size, version (versionId, eTag, sequencer)."""
    if not isinstance(record, dict):
        raise EventError("an S3 record must be a JSON object")
    bucket = field(record, "s3", "bucket", "name")
    raw_key = field(record, "s3", "object", "key")
    if not isinstance(bucket, str) or not isinstance(raw_key, str):
        raise EventError("s3.bucket.name and s3.object.key must be strings")
    obj = record["s3"]["object"]
    kind = next((k for k in ("versionId", "eTag", "sequencer") if obj.get(k)), None)
    version = str(obj[kind]).strip('"') if kind else None
    return ObjectRef(
        scheme="s3",
        bucket=bucket,
        key=unquote_plus(raw_key),
        version=version,
        version_kind=kind,
        size=as_size(obj.get("size")),
        content_type=obj.get("contentType") or None,
    )
