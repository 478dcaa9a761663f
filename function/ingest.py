"""From an announced object to a stored result: fetch, OCR, write; once per object version.

Delivery semantics for Knative Eventing (a broker retries 5xx, 404, 408, 409 and 429, and sends other
4xx to the dead-letter sink): success only after the result is written; a missing, oversized or
undecodable object is a 4xx that is not retried; an unreachable store is a 503 that is. Objects that are
clearly not images and the results themselves are acknowledged as skipped, so a bucket-wide trigger
neither retries forever nor loops on its own output.

Each source object has its own result key (with ``OCRFN_RESULT_BUCKET`` the source bucket is part of it,
so ``alpha/scan.png`` and ``beta/scan.png`` never share one). Within a process one object is worked on
by one request at a time: simultaneous deliveries of the same upload wait for the first and then find
its result, and the records of one notification are de-duplicated. An existing result is read with a
size cap and parsed within JSON bounds; one that cannot be read (too large, not JSON, not a regular
file) is treated as absent and written anew.
"""

from __future__ import annotations

import datetime as dt
import logging
import posixpath
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .errors import ServiceError, from_ocr_error
from .events import ObjectRef
from .hocr import render_hocr
from .json_limits import JsonError
from .json_limits import loads as json_loads
from .ocr import OcrError, OcrOptions, OcrResult
from .ocr.document import DocumentResult, PageResult
from .outputs import document_payload, document_text, dumps, result_payload, result_text
from .settings import Settings
from .storage import (
    InvalidKeyError,
    ObjectMissingError,
    ObjectTooLargeError,
    Storage,
    StorageError,
    StorageUnavailableError,
    StoredObject,
    StoreFaultError,
    UnsupportedSchemeError,
)

log = logging.getLogger("ocrfn")

#: Extensions of the formats the decoder reads (images, PDF); an object with another extension is skipped.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".jpe", ".webp", ".bmp", ".dib", ".tif", ".tiff", ".gif", ".pdf")
_EXTENSION = re.compile(r"^\.[a-z0-9]{1,5}$")
#: Content types that may hold an image without saying so.
GENERIC_TYPES = ("application/octet-stream", "binary/octet-stream", "")
#: Suffix and content type of each result format (the JSON record is always written, last).
RESULT_FILES = {"text": (".txt", "text/plain; charset=utf-8"), "hocr": (".hocr", "application/xhtml+xml")}

#: Reads an image or document: (bytes, options, request id) → result; applies admission and budgets.
Reader = Callable[[bytes, OcrOptions, str], "OcrResult | DocumentResult"]


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


def unique(refs: list[ObjectRef]) -> list[ObjectRef]:
    """Return the references in order, each object version once (a notification may repeat one)."""
    seen: dict[tuple[str, str, str, str | None], ObjectRef] = {}
    for ref in refs:
        seen.setdefault((ref.scheme, ref.bucket, ref.key, ref.version), ref)
    return list(seen.values())


class _ObjectLocks:
    """One lock per result key in use; a key's lock is dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple[str, str, str], tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, name: tuple[str, str, str]) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(name, (threading.Lock(), 0))
            self._locks[name] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[name]
                if users == 1:
                    del self._locks[name]
                else:
                    self._locks[name] = (lock, users - 1)


class Ingest:
    """Processes announced objects with one reader (which applies admission control and time budgets)."""

    def __init__(self, settings: Settings, storage: Storage, read: Reader, model: Callable[[], str]) -> None:
        self.settings = settings
        self.storage = storage
        self._read = read
        self._model = model
        self._locks = _ObjectLocks()

    def result_location(self, ref: ObjectRef) -> tuple[str, str, str]:
        """(scheme, bucket, key) of the JSON result for *ref*.

        In the source's own bucket the key is ``<prefix><key>.json``; in ``OCRFN_RESULT_BUCKET`` it is
        ``<prefix><source bucket>/<key>.json``, so objects of different buckets never share a result.
        """
        prefix = self.settings.result_prefix
        if self.settings.result_bucket is None:
            return ref.scheme, ref.bucket, f"{prefix}{ref.key}.json"
        return ref.scheme, self.settings.result_bucket, f"{prefix}{ref.bucket}/{ref.key}.json"

    def is_result(self, ref: ObjectRef) -> bool:
        """Whether *ref* is one of our own results (never OCRed: that would loop)."""
        same_bucket = self.settings.result_bucket in (None, ref.bucket)
        return same_bucket and ref.key.startswith(self.settings.result_prefix)

    def process(self, ref: ObjectRef, request_id: str = "") -> Outcome:
        """OCR one object and write its result; raises :class:`ServiceError` with the delivery status."""
        self._check(ref.scheme, ref.bucket, ref.key)
        if self.is_result(ref):
            return Outcome(ref, "skipped", reason=f"under the result prefix {self.settings.result_prefix}")
        reason = not_an_image(ref.key, ref.content_type)
        if reason:
            return Outcome(ref, "skipped", reason=f"not an image ({reason})")
        scheme, bucket, key = self.result_location(ref)
        others = [
            key.removesuffix(".json") + RESULT_FILES[f][0]
            for f in self.settings.result_formats
            if f != "json"
        ]
        for target in [key, *others]:
            self._check(scheme, bucket, target)  # a result the store cannot hold: refuse before any work
        with self._locks.hold((scheme, bucket, key)):
            return self._process(ref, (scheme, bucket, key), request_id)

    def _process(self, ref: ObjectRef, location: tuple[str, str, str], request_id: str) -> Outcome:
        scheme, bucket, key = location
        result_url = f"{scheme}://{bucket}/{key}"
        if ref.version and self._stored_version(ref, location) == ref.version:
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
        if not ref.version and version and self._stored_version(ref, location) == version:
            return Outcome(ref, "duplicate", result_url, version)
        payload, lines, extras = self._ocr(ref, obj.data, request_id)
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
        writes = [(key.removesuffix(".json") + suffix, data, kind) for suffix, (data, kind) in extras.items()]
        writes.append((key, dumps(payload).encode("utf-8"), "application/json"))
        for target, data, kind in writes:
            try:
                self.storage.put(scheme, bucket, target, data, kind)
            except StorageError as exc:
                raise _delivery_error(exc, f"cannot write {scheme}://{bucket}/{target}") from None
        return Outcome(ref, "completed", result_url, version, lines)

    def _ocr(
        self, ref: ObjectRef, data: bytes, request_id: str
    ) -> tuple[dict[str, Any], int, dict[str, tuple[bytes, str]]]:
        """OCR the object's bytes: the JSON record, its line count and the other formats' files."""
        formats = self.settings.result_formats
        try:
            result = self._read(data, OcrOptions(words="hocr" in formats), request_id)
        except OcrError as exc:
            client = from_ocr_error(exc)
            if client is None:
                raise
            raise ServiceError(client.status, client.error, f"{ref.url}: {client.message}") from None
        model = self._model()
        if isinstance(result, DocumentResult):
            pages = result.pages
            payload, text = document_payload(result, model), document_text(result)
        else:
            pages = [PageResult.of_image(result)]
            payload, text = result_payload(result, model), result_text(result)
        extras: dict[str, tuple[bytes, str]] = {}
        if "text" in formats:
            extras[RESULT_FILES["text"][0]] = (text.encode("utf-8"), RESULT_FILES["text"][1])
        if "hocr" in formats:
            extras[RESULT_FILES["hocr"][0]] = (
                render_hocr(pages, model).encode("utf-8"),
                RESULT_FILES["hocr"][1],
            )
        return payload, sum(len(p.lines) for p in pages), extras

    def _check(self, scheme: str, bucket: str, key: str) -> None:
        try:
            self.storage.check(scheme, bucket, key)
        except StorageError as exc:
            raise _delivery_error(exc, "") from None

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
            raise ServiceError(
                422, "object_too_large", f"{ref.url} is {ref.size} bytes, over the limit of {limit}"
            )
        try:
            return self.storage.get(ref.scheme, ref.bucket, ref.key, limit)
        except StorageError as exc:
            raise _delivery_error(exc, f"cannot read {ref.url}") from None

    def _stored_version(self, ref: ObjectRef, location: tuple[str, str, str]) -> str | None:
        """Return the version recorded in *ref*'s existing result, or ``None`` (none, or unreadable)."""
        scheme, bucket, key = location
        where = f"{scheme}://{bucket}/{key}"
        try:
            stored = self.storage.get(scheme, bucket, key, self.settings.max_result_bytes)
        except (ObjectMissingError, ObjectTooLargeError, InvalidKeyError) as exc:
            if not isinstance(exc, ObjectMissingError):
                log.warning("existing result %s is not readable (%s); it will be written anew", where, exc)
            return None
        except StorageError as exc:
            raise _delivery_error(exc, f"cannot read {where}") from None
        try:
            record = json_loads(stored.data, self.settings.max_json_depth, self.settings.max_json_values)
        except JsonError as exc:
            log.warning("existing result %s is not a result record (%s); it will be written anew", where, exc)
            return None
        source = record.get("source") if isinstance(record, dict) else None
        if not isinstance(source, dict) or source.get("url") != ref.url:
            return None  # not this object's record (written by something else): never answer from it
        version = source.get("version")
        return str(version) if isinstance(version, (str, int)) and not isinstance(version, bool) else None


def _delivery_error(exc: StorageError, action: str) -> ServiceError:
    """Answer a storage failure: what the sender can act on, with the store's own words for the log."""
    where = f"{action}: " if action else ""
    if isinstance(exc, InvalidKeyError):
        return ServiceError(400, "invalid_key", str(exc), detail=exc.detail)
    if isinstance(exc, UnsupportedSchemeError):
        return ServiceError(400, "unsupported_scheme", str(exc), detail=exc.detail)
    if isinstance(exc, ObjectMissingError):
        return ServiceError(422, "object_missing", str(exc), detail=exc.detail)
    if isinstance(exc, ObjectTooLargeError):
        return ServiceError(422, "object_too_large", str(exc), detail=exc.detail)
    if isinstance(exc, StoreFaultError):
        message = "The server failed to process this event; quote the request id when reporting it."
        return ServiceError(500, "internal_error", message, detail=exc.detail, exception=exc.exception)
    if isinstance(exc, StorageUnavailableError):
        return ServiceError(
            503, "storage_unavailable", f"{exc}; retry later", detail=exc.detail, exception=exc.exception
        )
    return ServiceError(
        503,
        "storage_unavailable",
        f"{where}the store failed; retry later",
        detail=str(exc),
        exception=exc.exception or type(exc).__name__,
    )
