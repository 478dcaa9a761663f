"""From an announced object to a stored result: fetch, OCR, write; once per object version.

Delivery semantics for Knative Eventing (a broker retries 5xx, 404, 408, 409 and 429, and sends other
4xx to the dead-letter sink): success only after the result is written; a missing, oversized or
undecodable object is a 4xx that is not retried; an unreachable store is a 503 that is. Objects that are
clearly not images and the results themselves are acknowledged as skipped, so a bucket-wide trigger
neither retries forever nor loops on its own output.
"""

from __future__ import annotations

import datetime as dt
import json
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .api.errors import ApiError, from_ocr_error
from .api.outputs import dumps
from .events import ObjectRef
from .ocr import OcrError
from .settings import Settings
from .storage import (
    InvalidKeyError,
    ObjectMissingError,
    Storage,
    StorageUnavailableError,
    StoredObject,
    check_bucket,
    check_key,
)

#: Extensions of the formats the decoder reads (images, PDF); an object with another extension is skipped.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".jpe", ".webp", ".bmp", ".dib", ".tif", ".tiff", ".gif", ".pdf")
_EXTENSION = re.compile(r"^\.[a-z0-9]{1,5}$")
#: Content types that may hold an image without saying so.
GENERIC_TYPES = ("application/octet-stream", "binary/octet-stream", "")


@dataclass(frozen=True)
class EventResult:
    """One object's OCR as it will be stored: the JSON record, its line count, and the other formats.

    ``extras`` maps a file suffix (``.txt``, ``.hocr``) to the bytes and content type to store there.
    """

    payload: dict[str, Any]
    lines: int
    extras: dict[str, tuple[bytes, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What happened to one object: ``completed``, ``duplicate`` (its version had a result), ``skipped``."""

    ref: ObjectRef
    status: str
    result_url: str | None = None
    version: str | None = None
    lines: int | None = None
    reason: str | None = None

    def summary(self) -> dict[str, Any]:
        """Return the outcome as JSON-ready fields (for the reply event and the log)."""
        fields = {
            "status": self.status,
            "source": self.ref.url,
            "version": self.version,
            "result": self.result_url,
            "lines": self.lines,
            "reason": self.reason,
        }
        return {k: v for k, v in fields.items() if v is not None}


def not_an_image(key: str, content_type: str | None) -> str | None:
    """Why an object is clearly not an image (by content type or extension), or ``None``."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media.startswith("image/") or media == "application/pdf":
        return None  # an explicit image (or PDF) type wins over the name
    if media and media not in GENERIC_TYPES:
        return f"content type {media}"
    ext = posixpath.splitext(key.lower())[1]
    if _EXTENSION.match(ext) and ext not in IMAGE_EXTENSIONS:
        return f"extension {ext}"
    return None


class Ingest:
    """Processes announced objects with one OCR callable (which applies admission control)."""

    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        ocr: Callable[[bytes, str], EventResult],
    ) -> None:
        self.settings = settings
        self.storage = storage
        self._ocr = ocr

    def result_location(self, ref: ObjectRef) -> tuple[str, str, str]:
        """(scheme, bucket, key) of the result for *ref*."""
        bucket = self.settings.result_bucket or ref.bucket
        return ref.scheme, bucket, f"{self.settings.result_prefix}{ref.key}.json"

    def is_result(self, ref: ObjectRef) -> bool:
        """Whether *ref* is one of our own results (never OCRed: that would loop)."""
        same_bucket = self.settings.result_bucket in (None, ref.bucket)
        return same_bucket and ref.key.startswith(self.settings.result_prefix)

    def process(self, ref: ObjectRef, request_id: str = "") -> Outcome:
        """OCR one object and write its result; raises :class:`ApiError` with the delivery status."""
        try:
            check_bucket(ref.bucket)
            check_key(ref.key)
        except InvalidKeyError as exc:
            raise ApiError(400, "invalid_key", str(exc)) from None
        if self.is_result(ref):
            return Outcome(ref, "skipped", reason=f"under the result prefix {self.settings.result_prefix}")
        reason = not_an_image(ref.key, ref.content_type)
        if reason:
            return Outcome(ref, "skipped", reason=f"not an image ({reason})")
        scheme, bucket, key = self.result_location(ref)
        result_url = f"{scheme}://{bucket}/{key}"
        if ref.version and self._stored_version(scheme, bucket, key) == ref.version:
            return Outcome(ref, "duplicate", result_url, ref.version)
        obj = self._fetch(ref)
        reason = not_an_image(ref.key, obj.content_type)
        if reason:
            return Outcome(ref, "skipped", reason=f"not an image ({reason})")
        current = self._current_version(ref, obj)
        if current is not None and current != ref.version:
            # A late or out-of-order delivery: the object has changed since; its own event makes the result.
            return Outcome(ref, "skipped", version=ref.version, reason=f"stale: the object is now {current}")
        version = ref.version or obj.version or obj.e_tag
        if not ref.version and version and self._stored_version(scheme, bucket, key) == version:
            return Outcome(ref, "duplicate", result_url, version)
        try:
            result = self._ocr(obj.data, request_id)
        except OcrError as exc:
            client = from_ocr_error(exc)
            if client is None:
                raise
            raise ApiError(client.status, client.error, f"{ref.url}: {client.message}") from None
        payload = result.payload
        payload["source"] = {
            "url": ref.url,
            "bucket": ref.bucket,
            "key": ref.key,
            "version": version,
            "size": obj.size,
            "content_type": obj.content_type,
        }
        payload["created"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # The other formats first, the JSON record last: it names the version that was read, so once it
        # is there every format of that version is (a redelivery after a failure writes them all again).
        writes = [
            (key.removesuffix(".json") + suffix, data, kind) for suffix, (data, kind) in result.extras.items()
        ]
        writes.append((key, dumps(payload).encode("utf-8"), "application/json"))
        for target, data, kind in writes:
            try:
                self.storage.put(scheme, bucket, target, data, kind)
            except (StorageUnavailableError, ObjectMissingError) as exc:
                where = f"{scheme}://{bucket}/{target}"
                raise ApiError(503, "storage_unavailable", f"cannot write {where}: {exc}") from None
        return Outcome(ref, "completed", result_url, version, result.lines)

    def _current_version(self, ref: ObjectRef, obj: StoredObject) -> str | None:
        """Return the stored object's version in the event's terms, when the store reports it."""
        if ref.version_kind in ("generation", "versionId"):
            return obj.version
        if ref.version_kind == "eTag" and ref.scheme == "s3" and self.settings.storage == "cloud":
            return obj.e_tag  # a local file's eTag is not the S3 one the event carries
        return None

    def _fetch(self, ref: ObjectRef) -> StoredObject:
        limit = self.settings.max_body_bytes
        if ref.size is not None and ref.size > limit:
            raise ApiError(
                422, "object_too_large", f"{ref.url} is {ref.size} bytes, over the limit of {limit}"
            )
        try:
            return self.storage.get(ref.scheme, ref.bucket, ref.key, self.settings.max_body_bytes)
        except InvalidKeyError as exc:
            raise ApiError(400, "invalid_key", str(exc)) from None
        except ObjectMissingError as exc:
            raise ApiError(422, "object_missing", str(exc)) from None
        except ValueError as exc:
            raise ApiError(422, "object_too_large", f"{ref.url}: {exc}") from None
        except StorageUnavailableError as exc:
            raise ApiError(503, "storage_unavailable", f"cannot read {ref.url}: {exc}") from None

    def _stored_version(self, scheme: str, bucket: str, key: str) -> str | None:
        """Return the source version recorded in an existing result, or ``None``."""
        try:
            text = self.storage.read_text(scheme, bucket, key)
        except ObjectMissingError:
            return None
        except StorageUnavailableError as exc:
            raise ApiError(
                503, "storage_unavailable", f"cannot read {scheme}://{bucket}/{key}: {exc}"
            ) from None
        if text is None:
            return None
        try:
            version = json.loads(text).get("source", {}).get("version")
        except (json.JSONDecodeError, AttributeError):
            return None
        return str(version) if version is not None else None
