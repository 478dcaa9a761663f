"""Object storage: names checked by each provider's rules, source objects read, results written.

Object URLs are ``s3://bucket/key`` (AWS S3, MinIO, Ceph RGW through obstore; the standard ``AWS_*``
variables configure endpoint, region, credentials and ``AWS_ALLOW_HTTP``), ``gs://bucket/key`` (Google
Cloud Storage through obstore: ``GOOGLE_*`` variables or workload identity) and ``file://bucket/key``.
The storage mode decides which schemes are served: ``file`` (the default, so the whole trigger path runs
on a laptop) serves every scheme from directories under a local root (:mod:`.local_buckets`); the cloud
modes serve only the schemes they name, so a ``gs://`` event to an S3-only service is refused instead of
sending obstore to look for Google credentials.

Names are checked before any store is touched, by the rules of the provider they claim to be from: a
bucket name obstore cannot put in a URL would otherwise panic inside it, and ``?`` or ``#`` in a name
would change the request. Keys never leave their bucket (no absolute keys, no ``..``, ``.`` or empty
segments, no backslash, control character or bidirectional override) and must fit the store's length
limits. A panic inside obstore is caught here and reported as :class:`StoreFaultError`.
"""

from __future__ import annotations

import atexit
import datetime as dt
import ipaddress
import os
import re
import sys
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import obstore
from obstore.store import GCSStore, S3Store

from .local_buckets import LocalBuckets, LocalMissingError, LocalPathError, LocalTooLargeError

SCHEMES = ("s3", "gs", "file")
CLOUD_SCHEMES = ("s3", "gs")
#: Fail over to the broker's retry quickly when a store is down instead of retrying for minutes.
RETRY = {
    "max_retries": 2,
    "backoff": {"init_backoff": dt.timedelta(milliseconds=100)},
    "retry_timeout": dt.timedelta(seconds=10),
}
CLIENT = {"connect_timeout": "5s", "timeout": "60s"}
#: Longest object name S3 and GCS accept (bytes of UTF-8); a local path segment is at most NAME_MAX.
MAX_KEY_BYTES = 1024
MAX_SEGMENT_BYTES = 255

T = TypeVar("T")


class StorageError(Exception):
    """Base of the storage errors; ``str()`` is written for the caller, ``detail`` for the log.

    ``exception`` names the type of the client's failure behind it, if any.
    """

    def __init__(self, message: str, detail: str | None = None, exception: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail
        self.exception = exception


class InvalidKeyError(StorageError):
    """The bucket or key is not acceptable: against the provider's naming rules, or escaping its bucket."""


class UnsupportedSchemeError(StorageError):
    """The object URL's scheme is not one this service's storage mode serves."""


class ObjectMissingError(StorageError):
    """The object does not exist (or the bucket does not)."""


class ObjectTooLargeError(StorageError):
    """The object is larger than the caller's limit; nothing of it was read."""


class StorageUnavailableError(StorageError):
    """The store could not be reached or answered with an error; worth retrying later."""


class StoreFaultError(StorageError):
    """The storage client itself failed (a panic in native code): a fault of the server, not the store."""


@dataclass(frozen=True)
class StoredObject:
    """An object's bytes and the metadata that identifies its version."""

    data: bytes
    size: int
    e_tag: str | None
    version: str | None
    content_type: str | None


# --- names -----------------------------------------------------------------------------------------------

#: Bidirectional overrides and isolates: they make a key display differently from what it is.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: S3 family (AWS, MinIO, Ceph RGW): today's AWS rules are lowercase DNS labels of 3-63 characters; AWS
#: buckets made in us-east-1 before 2018 and Ceph's relaxed names may also have capitals and underscores,
#: up to 255 characters. Both are accepted; nothing else is (no character that means something in a URL).
_S3_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]")
#: Google Cloud Storage: lowercase letters, digits, '-', '_' and '.', 3-63 characters (up to 222 with
#: dots, each dot-separated part at most 63), starting and ending with a letter or digit, not "goog...".
_GCS_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")


def _has_control(text: str) -> bool:
    """Whether *text* has a control character (C0/C1) or a bidi override; other Unicode is fine."""
    return any(unicodedata.category(c) == "Cc" or c in _BIDI_CONTROLS for c in text)


def _is_ipv4(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


def _shown(name: str) -> str:
    """Quote a name for a message: its repr, shortened if very long."""
    return repr(name if len(name) <= 80 else name[:77] + "...")


def check_bucket(scheme: str, bucket: str) -> str:
    """Return *bucket* if it is a valid bucket name for *scheme*, else raise :class:`InvalidKeyError`."""
    if scheme == "s3":
        ok = bool(_S3_BUCKET.fullmatch(bucket)) and ".." not in bucket and not _is_ipv4(bucket)
        rule = "3-255 letters, digits, '.', '-' or '_', starting and ending with a letter or digit"
    elif scheme == "gs":
        parts = bucket.split(".")
        ok = (
            bool(_GCS_BUCKET.fullmatch(bucket))
            and (len(bucket) <= 63 or all(len(p) <= 63 for p in parts))
            and "" not in parts
            and not bucket.startswith("goog")
            and not _is_ipv4(bucket)
        )
        rule = "3-63 lowercase letters, digits, '.', '-' or '_', starting and ending with a letter or digit"
    else:
        ok = (
            bucket not in ("", ".", "..")
            and not any(c in bucket for c in "/\\")
            and not _has_control(bucket)
            and len(bucket.encode("utf-8", "surrogatepass")) <= MAX_SEGMENT_BYTES
        )
        rule = "a directory name without '/', '\\' or control characters, at most 255 bytes"
    if not ok:
        raise InvalidKeyError(f"invalid bucket name {_shown(bucket)} for {scheme}://: use {rule}")
    return bucket


def check_key(key: str, local: bool = False) -> str:
    """Return *key* if it stays inside its bucket and fits the store, else raise :class:`InvalidKeyError`.

    Keys are at most 1024 bytes of UTF-8 (S3 and GCS); for a local directory (*local*) every segment is
    also a file name, at most 255 bytes.
    """
    if not key or key.startswith("/") or "\\" in key or _has_control(key):
        raise InvalidKeyError(f"invalid object key {_shown(key)}")
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise InvalidKeyError(f"object key {_shown(key)} has empty, '.' or '..' segments")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidKeyError(f"object key {_shown(key)} is not valid Unicode") from None
    if size > MAX_KEY_BYTES:
        raise InvalidKeyError(f"object key {_shown(key)} is {size} bytes; keys are at most {MAX_KEY_BYTES}")
    if local and any(len(part.encode("utf-8")) > MAX_SEGMENT_BYTES for part in parts):
        raise InvalidKeyError(
            f"object key {_shown(key)} has a segment over {MAX_SEGMENT_BYTES} bytes, too long a file name"
        )
    return key


# --- stores ----------------------------------------------------------------------------------------------

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
    it at its graceful timeout, so every scale-down took that much longer). Everything this process
    writes is durable before a request is answered, so nothing is lost by exiting right after the
    ``atexit`` stage; the exit status is then 0.
    """
    global _exit_guard_pid
    forked_worker = os.getpid() != _IMPORTED_IN and "gunicorn.arbiter" in sys.modules
    if forked_worker and _exit_guard_pid != os.getpid():
        _exit_guard_pid = os.getpid()
        atexit.register(_skip_native_teardown)


def _native(call: Callable[[], T], where: str) -> T:
    """Run one obstore call; a missing object becomes :class:`ObjectMissingError`, a panic a fault."""
    try:
        return call()
    except FileNotFoundError:
        raise ObjectMissingError(f"{where} does not exist") from None
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except StorageError:
        raise
    except Exception as exc:
        raise StorageUnavailableError(
            f"the store of {where} is unavailable", _describe(exc), type(exc).__name__
        ) from None
    except BaseException as exc:  # pyo3's PanicException derives from BaseException
        raise StoreFaultError(
            f"the storage client failed on {where}", _describe(exc), type(exc).__name__
        ) from None


class Storage:
    """Reads and writes objects of the schemes the mode serves; thread-safe.

    *mode* ``file`` serves every scheme from directories under *file_root* (*schemes* is not used);
    ``cloud`` serves the *schemes* given (``s3``, ``gs``), each bucket through an obstore client; the
    *max_clients* most recently used clients are kept.
    """

    def __init__(
        self,
        mode: str,
        file_root: Path,
        allow_http: bool = False,
        schemes: tuple[str, ...] = CLOUD_SCHEMES,
        max_clients: int = 32,
    ) -> None:
        if mode not in ("file", "cloud"):
            raise ValueError(f"storage mode must be 'file' or 'cloud', got {mode!r}")
        if mode == "cloud" and (not schemes or set(schemes) - set(CLOUD_SCHEMES)):
            raise ValueError(f"cloud storage schemes must be among {CLOUD_SCHEMES}, got {schemes!r}")
        self.mode = mode
        self.schemes = SCHEMES if mode == "file" else tuple(schemes)
        self.local = LocalBuckets(file_root) if mode == "file" else None
        # Passing client options replaces the ones obstore would read from the environment, so the one
        # that matters here (plain-http endpoints such as a local MinIO) is passed on explicitly.
        self._client = {**CLIENT, "allow_http": allow_http}
        self._max_clients = max_clients
        self._stores: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def clients(self) -> int:
        """Store clients held now (at most *max_clients*: about 110 KB each)."""
        return len(self._stores)

    def check(self, scheme: str, bucket: str, key: str) -> None:
        """Refuse a scheme this mode does not serve, a bad bucket name or a key the store cannot hold."""
        if scheme not in self.schemes:
            served = ", ".join(f"{s}://" for s in self.schemes)
            raise UnsupportedSchemeError(
                f"{scheme}:// objects are not served here (this service reads {served})"
            )
        check_bucket(scheme, bucket)
        check_key(key, local=self.local is not None)

    def get(self, scheme: str, bucket: str, key: str, max_bytes: int) -> StoredObject:
        """Fetch an object; one over *max_bytes* raises :class:`ObjectTooLargeError`, its body unread."""
        self.check(scheme, bucket, key)
        where = f"{scheme}://{bucket}/{key}"
        if self.local is not None:
            local = self._local(lambda: self.local.get(bucket, key, max_bytes), where, max_bytes)
            return StoredObject(local.data, local.size, local.e_tag, None, None)
        store = self._store(scheme, bucket)

        def fetch() -> tuple[bytes, dict[str, Any], dict[str, Any]]:
            result = obstore.get(store, key)
            meta = result.meta
            if meta["size"] > max_bytes:
                raise ObjectTooLargeError(_over(where, meta["size"], max_bytes))
            return bytes(result.bytes()), meta, getattr(result, "attributes", None) or {}

        data, meta, attributes = _native(fetch, where)
        return StoredObject(
            data=data,
            size=int(meta["size"]),
            e_tag=(meta.get("e_tag") or "").strip('"') or None,
            version=meta.get("version"),
            content_type=attributes.get("Content-Type"),
        )

    def put(self, scheme: str, bucket: str, key: str, data: bytes, content_type: str) -> None:
        """Write an object durably (the call returns after the store acknowledged it)."""
        self.check(scheme, bucket, key)
        where = f"{scheme}://{bucket}/{key}"
        if self.local is not None:
            self._local(lambda: self.local.put(bucket, key, data), where, len(data))
            return
        store = self._store(scheme, bucket)
        _native(lambda: obstore.put(store, key, data, attributes={"Content-Type": content_type}), where)

    def _local(self, call: Callable[[], T], where: str, limit: int) -> T:
        try:
            return call()
        except LocalMissingError:
            raise ObjectMissingError(f"{where} does not exist") from None
        except LocalTooLargeError as exc:
            raise ObjectTooLargeError(_over(where, exc.size, limit)) from None
        except LocalPathError as exc:
            raise InvalidKeyError(f"{where} cannot be used: {exc}") from None
        except OSError as exc:
            raise StorageUnavailableError(
                f"the local bucket of {where} is unavailable", str(exc), type(exc).__name__
            ) from None

    def _store(self, scheme: str, bucket: str) -> Any:
        cache_key = (scheme, bucket)
        with self._lock:
            store = self._stores.get(cache_key)
            if store is not None:
                self._stores.move_to_end(cache_key)
                return store
        _guard_exit()
        where = f"{scheme}://{bucket}"
        if scheme == "s3":
            store = _native(lambda: S3Store(bucket, client_options=self._client, retry_config=RETRY), where)
        else:
            store = _native(lambda: GCSStore(bucket, client_options=self._client, retry_config=RETRY), where)
        with self._lock:
            self._stores[cache_key] = store
            self._stores.move_to_end(cache_key)
            while len(self._stores) > self._max_clients:
                self._stores.popitem(last=False)
        return store


def _over(where: str, size: int, limit: int) -> str:
    return f"{where} is {size} bytes, over the limit of {limit}"


def _describe(exc: BaseException) -> str:
    """First line of a store error, for the log (obstore messages carry URLs, never secrets)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {first[:300]}"
