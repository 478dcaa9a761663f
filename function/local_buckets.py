"""Buckets as directories under one root, for the local mode (``OCRFN_STORAGE=file``).

Every path is walked one component at a time from a descriptor of the root (``openat`` with
``O_NOFOLLOW``), so a symbolic link anywhere under the root (a linked bucket, a linked ``ocr-results``
directory, a linked file) is refused instead of followed out of it, and nothing can swap a component
for a link between a check and its use. Only regular files are read: a FIFO, a device or a directory at
a key is "not a readable object", never a read that hangs. Writes go to a temporary file in the target
directory, are flushed to disk, and then renamed over the key, so a reader sees the old object or the
new one and never a partial file.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_CHUNK = 1 << 20


class LocalPathError(Exception):
    """The bucket or key cannot be used locally: a link, a non-directory on the way, not a regular file.

    The message says why without naming the path (the caller knows which object it asked for).
    """


class LocalMissingError(Exception):
    """The bucket directory or the object does not exist."""


class LocalTooLargeError(Exception):
    """The object is larger than the caller's limit (nothing of it was read)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


@dataclass(frozen=True)
class LocalObject:
    """A regular file's bytes, its size and an entity tag built from inode, mtime and size."""

    data: bytes
    size: int
    e_tag: str


class LocalBuckets:
    """Read and write objects of buckets that are directories under *root*."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def get(self, bucket: str, key: str, max_bytes: int) -> LocalObject:
        """Read a regular file; larger than *max_bytes* raises :class:`LocalTooLargeError` unread."""
        *dirs, name = key.split("/")
        with self._directory(bucket, dirs, create=False) as fd:
            try:
                file_fd = os.open(name, _FILE_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                raise LocalMissingError(key) from None
            except OSError as exc:
                raise _path_error(exc) from None
            try:
                info = os.fstat(file_fd)
                if not stat.S_ISREG(info.st_mode):
                    raise LocalPathError("the object is not a regular file")
                if info.st_size > max_bytes:
                    raise LocalTooLargeError(info.st_size)
                os.set_blocking(file_fd, True)
                data = _read_at_most(file_fd, max_bytes)
            finally:
                os.close(file_fd)
        e_tag = f"{info.st_ino:x}-{info.st_mtime_ns // 1000:x}-{info.st_size:x}"
        return LocalObject(data, len(data), e_tag)

    def put(self, bucket: str, key: str, data: bytes) -> None:
        """Write *data* at *key* (creating directories), durably, replacing what was there."""
        *dirs, name = key.split("/")
        with self._directory(bucket, dirs, create=True) as fd:
            temp = f".ocrfn-{secrets.token_hex(8)}.tmp"
            file_fd = os.open(
                temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=fd
            )
            try:
                view = memoryview(data)
                while view:
                    written = os.write(file_fd, view[:_CHUNK])
                    view = view[written:]
                os.fsync(file_fd)
            except BaseException:
                os.close(file_fd)
                os.unlink(temp, dir_fd=fd)
                raise
            os.close(file_fd)
            try:
                os.replace(temp, name, src_dir_fd=fd, dst_dir_fd=fd)
            except OSError as exc:
                os.unlink(temp, dir_fd=fd)
                raise _path_error(exc) from None
            os.fsync(fd)

    @contextmanager
    def _directory(self, bucket: str, dirs: list[str], create: bool) -> Iterator[int]:
        """Open ``root/bucket/dirs...`` without following links (making directories when *create*)."""
        try:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            raise LocalMissingError(bucket) from None
        try:
            try:
                fd = _step(fd, bucket)
            except FileNotFoundError:
                raise LocalMissingError(bucket) from None
            except OSError as exc:
                raise _path_error(exc) from None
            for part in dirs:
                try:
                    fd = _step(fd, part)
                except FileNotFoundError:
                    if not create:
                        raise LocalMissingError("/".join(dirs)) from None
                    try:
                        os.mkdir(part, 0o755, dir_fd=fd)
                    except FileExistsError:
                        pass  # made meanwhile by another writer
                    except OSError as exc:
                        raise _path_error(exc) from None
                    try:
                        fd = _step(fd, part)
                    except OSError as exc:
                        raise _path_error(exc) from None
                except OSError as exc:
                    raise _path_error(exc) from None
            yield fd
        finally:
            os.close(fd)


def _step(parent: int, name: str) -> int:
    """Open directory *name* in *parent* without following a link; closes *parent* once it succeeds."""
    try:
        child = os.open(name, _DIR_FLAGS, dir_fd=parent)
    except NotADirectoryError:
        # O_NOFOLLOW with O_DIRECTORY reports a link as "not a directory": say which it is.
        if stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode):
            raise OSError(errno.ELOOP, "a symbolic link") from None
        raise
    os.close(parent)
    return child


def _read_at_most(fd: int, limit: int) -> bytes:
    """Read the file, refusing more than *limit* bytes even if it grew since it was measured."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise LocalTooLargeError(total)


def _path_error(exc: OSError) -> LocalPathError:
    """Say why a path cannot be used (a link, not a directory, a name too long...), naming no path."""
    reasons = {
        errno.ELOOP: "a path component is a symbolic link",
        errno.ENOTDIR: "a path component is not a directory",
        errno.EISDIR: "the object is a directory",
        errno.ENAMETOOLONG: "a name is too long",
    }
    return LocalPathError(reasons.get(exc.errno or 0, "the path cannot be used"))
