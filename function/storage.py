"""Object storage through obstore: read source objects, write results, classify failures.

Object URLs are ``s3://bucket/key`` (AWS S3, MinIO, Ceph RGW: the standard ``AWS_*`` environment
variables configure endpoint, region, credentials and ``AWS_ALLOW_HTTP``), ``gs://bucket/key`` (Google
Cloud Storage: ``GOOGLE_*`` variables) and ``file://bucket/key`` (a directory per bucket under a local
root). In ``file`` mode (the default, so the whole trigger path runs on a laptop) every bucket, whatever
its scheme, is a directory under the local root.

Keys never leave their bucket: a key that is absolute, contains ``..``, ``.`` or empty segments, a
backslash or a control character is refused before any store is touched.
"""

from __future__ import annotations

import atexit
import datetime as dt
import os
import sys
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import obstore
from obstore.store import GCSStore, LocalStore, S3Store

SCHEMES = ("s3", "gs", "file")
#: Fail over to the broker's retry quickly when a store is down instead of retrying for minutes.
RETRY = {
    "max_retries": 2,
    "backoff": {"init_backoff": dt.timedelta(milliseconds=100)},
    "retry_timeout": dt.timedelta(seconds=10),
}
CLIENT = {"connect_timeout": "5s", "timeout": "60s"}


class StorageError(Exception):
    """Base of the storage errors."""


class InvalidKeyError(StorageError):
    """The bucket or key is not acceptable (e.g. it would escape its bucket)."""


class ObjectMissingError(StorageError):
    """The object does not exist (or the bucket does not)."""


class StorageUnavailableError(StorageError):
    """The store could not be reached or answered with an error; worth retrying later."""


@dataclass(frozen=True)
class StoredObject:
    """An object's bytes and the metadata that identifies its version."""

    data: bytes
    size: int
    e_tag: str | None
    version: str | None
    content_type: str | None


#: Bidirectional overrides and isolates: they make a key display differently from what it is.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _has_control(text: str) -> bool:
    """Whether *text* has a control character (C0/C1) or a bidi override; other Unicode is fine."""
    return any(unicodedata.category(c) == "Cc" or c in _BIDI_CONTROLS for c in text)


_exit_guard_pid: int | None = None
_IMPORTED_IN = os.getpid()


def _skip_native_teardown() -> None:
    """Flush stdio and leave without the interpreter's native teardown (see :func:`_guard_exit`)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _guard_exit() -> None:
    """Once per gunicorn worker process, make a normal interpreter exit skip native teardown.

    In a gunicorn worker that has used an obstore client, the interpreter's teardown after a graceful
    shutdown never finished (obstore's runtime threads; measured: the worker sat until gunicorn killed
    it at its 30 s graceful timeout, so every scale-down took 30 s longer). Everything this process
    writes is durable before a request is answered, so nothing is lost by exiting right after the
    ``atexit`` stage; the exit status is then 0.
    """
    global _exit_guard_pid
    forked_worker = os.getpid() != _IMPORTED_IN and "gunicorn.arbiter" in sys.modules
    if forked_worker and _exit_guard_pid != os.getpid():
        _exit_guard_pid = os.getpid()
        atexit.register(_skip_native_teardown)


def check_bucket(bucket: str) -> str:
    """Return *bucket* if it is a plain bucket name, else raise :class:`InvalidKeyError`."""
    if not bucket or bucket in (".", "..") or any(c in bucket for c in "/\\") or _has_control(bucket):
        raise InvalidKeyError(f"invalid bucket name {bucket!r}")
    return bucket


def check_key(key: str) -> str:
    """Return *key* if it stays inside its bucket, else raise :class:`InvalidKeyError`."""
    if not key or key.startswith("/") or "\\" in key or _has_control(key):
        raise InvalidKeyError(f"invalid object key {key!r}")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise InvalidKeyError(f"object key {key!r} has empty, '.' or '..' segments")
    return key


def split_url(url: str) -> tuple[str, str, str]:
    """Split ``scheme://bucket/key`` into its parts (checked); raises :class:`InvalidKeyError`."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in SCHEMES:
        raise InvalidKeyError(f"unsupported object URL {url!r}: use s3://, gs:// or file://bucket/key")
    bucket, _, key = rest.partition("/")
    return scheme, check_bucket(bucket), check_key(key)


class Storage:
    """Reads and writes objects; one store client per (scheme, bucket), created on first use; thread-safe."""

    def __init__(self, mode: str, file_root: Path, allow_http: bool = False) -> None:
        if mode not in ("file", "cloud"):
            raise ValueError(f"storage mode must be 'file' or 'cloud', got {mode!r}")
        self.mode = mode
        self.file_root = file_root
        # Passing client options replaces the ones obstore would read from the environment, so the one
        # that matters here (plain-http endpoints such as a local MinIO) is passed on explicitly.
        self._client = {**CLIENT, "allow_http": allow_http}
        self._stores: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def _store(self, scheme: str, bucket: str) -> Any:
        check_bucket(bucket)
        local = scheme == "file" or self.mode == "file"
        cache_key = ("file" if local else scheme, bucket)
        with self._lock:
            store = self._stores.get(cache_key)
            if store is None:
                _guard_exit()
                if local:
                    root = self.file_root / bucket
                    if not root.is_dir():
                        raise ObjectMissingError(
                            f"bucket {bucket!r} is not a directory under {self.file_root}"
                        )
                    store = LocalStore(root)
                elif scheme == "s3":
                    store = S3Store(bucket, client_options=self._client, retry_config=RETRY)
                else:
                    store = GCSStore(bucket, client_options=self._client, retry_config=RETRY)
                self._stores[cache_key] = store
        return store

    def get(self, scheme: str, bucket: str, key: str, max_bytes: int) -> StoredObject:
        """Fetch an object; objects over *max_bytes* raise ``ValueError`` before their body is read."""
        store = self._store(scheme, bucket)
        key = check_key(key)
        try:
            result = obstore.get(store, key)
            meta = result.meta
            if meta["size"] > max_bytes:
                raise ValueError(f"object is {meta['size']} bytes, over the limit of {max_bytes}")
            data = bytes(result.bytes())
        except FileNotFoundError as exc:
            raise ObjectMissingError(f"{scheme}://{bucket}/{key} does not exist") from exc
        except ValueError:
            raise
        except Exception as exc:
            raise StorageUnavailableError(_describe(exc)) from exc
        attributes = getattr(result, "attributes", None) or {}
        return StoredObject(
            data=data,
            size=int(meta["size"]),
            e_tag=(meta.get("e_tag") or "").strip('"') or None,
            version=meta.get("version"),
            content_type=attributes.get("Content-Type"),
        )

    def read_text(self, scheme: str, bucket: str, key: str) -> str | None:
        """Return the object's text, or ``None`` when it does not exist."""
        store = self._store(scheme, bucket)
        try:
            return bytes(obstore.get(store, check_key(key)).bytes()).decode("utf-8")
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise StorageUnavailableError(_describe(exc)) from exc

    def put(self, scheme: str, bucket: str, key: str, data: bytes, content_type: str) -> None:
        """Write an object durably (the call returns after the store acknowledged it)."""
        store = self._store(scheme, bucket)
        # Local files have no content type to set (obstore's LocalStore refuses attributes).
        attributes = None if isinstance(store, LocalStore) else {"Content-Type": content_type}
        try:
            obstore.put(store, check_key(key), data, attributes=attributes)
        except Exception as exc:
            raise StorageUnavailableError(_describe(exc)) from exc


def _describe(exc: Exception) -> str:
    """First line of a store error, without credentials (obstore messages carry URLs, never secrets)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return first[:300]
