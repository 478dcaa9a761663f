"""Decoding in a child process: every byte from outside is turned into pixels where it cannot hurt the server.

Image decoders and PDF renderers are native code that cannot be interrupted: a progressive JPEG with
10 000 scans decodes for minutes, a 2 KB PDF of nested forms renders for a minute and takes gigabytes,
and a decoder bug can crash the process it runs in. So the server decodes in a child process
(:mod:`.sandbox_child`): the child limits its own address space (``RLIMIT_AS``), every call has a
deadline, and a child that overruns it is killed (its memory goes back to the system at once) and
replaced. The parent waits with ``select``, reads pixels straight into an array, and treats everything
the child sends as untrusted (JSON headers and raw bytes only, sizes checked).

:class:`SandboxDecoder` is the engine's decoder (see :class:`~.decoders.Decoder`): a pool of children, one
per request that may decode at once.
"""

from __future__ import annotations

import json
import os
import queue
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from . import errors
from .lines import Word
from .pages import DocumentLimits, Page, PageSelection
from .pdf_text import TextRun
from .sandbox_wire import MAX_HEADER_BYTES, pack_header, payload_view

_ROOT = Path(__file__).resolve().parents[2]
#: Library errors the child may report, by name (anything else is the child's fault).
_ERRORS = {
    cls.__name__: cls
    for cls in (
        errors.NotAnImageError,
        errors.EmptyImageError,
        errors.ImageTooLargeError,
        errors.UnsupportedImageError,
        errors.TooManyPagesError,
        errors.PageRangeError,
    )
}
_CHUNK = 1 << 20
#: An idle child holding more than this (a fragmented heap after a huge image) is replaced before its
#: next job, so memory comes back even when the allocator keeps it.
RECYCLE_BYTES = 256 * 1024 * 1024
#: One thread per child keeps onnxruntime-free NumPy and Pillow from spawning pools of their own.
_CHILD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"}


class SandboxCrashError(errors.NotAnImageError):
    """The decoder process died on this input (a decoder bug or a limit it hit): the data is not usable."""


class Sandbox:
    """One decoder process; not thread-safe (the pool hands it to one caller at a time)."""

    def __init__(self, memory_limit: int) -> None:
        self.memory_limit = memory_limit
        self._process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        """Start the child (it imports in the background; the first call waits for it)."""
        env = {**os.environ, **_CHILD_ENV}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "function.ocr.sandbox_child", str(self.memory_limit)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=_ROOT,
            env=env,
            close_fds=True,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        os.set_blocking(self._process.stdin.fileno(), False)
        os.set_blocking(self._process.stdout.fileno(), False)

    def stop(self) -> None:
        """Kill the child and reap it."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.wait()
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    pipe.close()

    @property
    def pid(self) -> int | None:
        """The child's process id (``None`` between a kill and the restart)."""
        return self._process.pid if self._process is not None else None

    def decode(self, data: bytes, max_pixels: int, timeout: float | None) -> np.ndarray:
        """Decode an image in the child (see :func:`~.decode.decode_image`), within *timeout* seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        _, pixels = self._call({"op": "decode", "max_pixels": max_pixels}, data, deadline, max_pixels)
        if pixels is None:
            raise SandboxCrashError("The decoder sent no pixels.")
        return pixels

    def pages(
        self,
        data: bytes,
        limits: DocumentLimits,
        words: bool,
        selection: PageSelection | None,
        deadline: float | None,
    ) -> Iterator[Page]:
        """Yield the pages of a document read in the child (see :func:`~.pages.iter_pages`)."""
        request = {
            "op": "open",
            "limits": asdict(limits),
            "words": words,
            "pages": str(selection) if selection else None,
        }
        self._call(request, data, deadline, 0)
        while True:
            header, pixels = self._call({"op": "next"}, None, deadline, limits.max_page_pixels)
            if header.get("done"):
                return
            yield _page(header.get("page"), pixels)

    def _call(
        self, request: dict[str, Any], data: bytes | None, deadline: float | None, max_pixels: int
    ) -> tuple[dict[str, Any], np.ndarray | None]:
        fresh_work = request["op"] in ("decode", "open")  # not in the middle of a document
        if self._process is None or self._process.poll() is not None or (fresh_work and self._bloated()):
            self._replace()
        try:
            self._send(request, data, deadline)
            header = self._receive_header(deadline)
            pixels = None
            shape = header.get("shape") if header.get("ok") else None
            if shape is None and header.get("ok") and isinstance(header.get("page"), dict):
                shape = header["page"].get("shape")
            size = self._payload_size
            if shape is not None:
                pixels = self._receive_pixels(shape, size, max_pixels, deadline)
            elif size:
                raise SandboxCrashError("The decoder sent an unexpected payload.")
        except TimeoutError:
            self._replace()
            raise
        except (OSError, EOFError, ValueError) as exc:
            self._replace()
            message = "The decoder failed on this data: it is corrupt, or needs more memory than allowed."
            raise SandboxCrashError(message) from exc
        if not header.get("ok"):
            kind = _ERRORS.get(str(header.get("error")))
            if kind is None:
                raise RuntimeError(f"decoder process failed: {str(header.get('message'))[:300]}")
            raise kind(str(header.get("message", ""))[:1000])
        return header, pixels

    def _bloated(self) -> bool:
        """Whether the idle child still holds more memory than :data:`RECYCLE_BYTES` (fragmented heap)."""
        if self._process is None:
            return False
        try:
            with open(f"/proc/{self._process.pid}/statm", encoding="ascii") as statm:
                resident = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return False
        return resident > RECYCLE_BYTES

    def _replace(self) -> None:
        """Kill the child (its memory is freed now) and start a fresh one for the next call."""
        self.stop()
        self.start()

    # --- the wire, with deadlines ---------------------------------------------------------------------

    def _send(self, request: dict[str, Any], data: bytes | None, deadline: float | None) -> None:
        assert self._process is not None and self._process.stdin is not None
        fd = self._process.stdin.fileno()
        body = payload_view(data)
        for view in (memoryview(pack_header(request, len(body))), body):
            while view:
                _wait(fd, write=True, deadline=deadline)
                try:
                    written = os.write(fd, view[:_CHUNK])
                except BlockingIOError:
                    continue
                view = view[written:]

    def _read_into(self, view: memoryview, deadline: float | None) -> None:
        assert self._process is not None and self._process.stdout is not None
        fd = self._process.stdout.fileno()
        while view:
            _wait(fd, write=False, deadline=deadline)
            try:
                got = os.readv(fd, [view[:_CHUNK]])
            except BlockingIOError:
                continue
            if got == 0:
                raise EOFError("the decoder process ended")
            view = view[got:]

    def _receive_header(self, deadline: float | None) -> dict[str, Any]:
        prefix = bytearray(4)
        self._read_into(memoryview(prefix), deadline)
        length = int.from_bytes(prefix, "big")
        if length > MAX_HEADER_BYTES:
            raise ValueError("oversized header from the decoder process")
        text = bytearray(length)
        self._read_into(memoryview(text), deadline)
        size = bytearray(8)
        self._read_into(memoryview(size), deadline)
        self._payload_size = int.from_bytes(size, "big")
        header = json.loads(bytes(text))
        if not isinstance(header, dict):
            raise ValueError("malformed header from the decoder process")
        return header

    def _receive_pixels(self, shape: Any, size: int, max_pixels: int, deadline: float | None) -> np.ndarray:
        if (
            not isinstance(shape, list)
            or len(shape) != 3
            or shape[2] != 3
            or not all(isinstance(n, int) and n > 0 for n in shape)
            or shape[0] * shape[1] > max_pixels
            or shape[0] * shape[1] * 3 != size
        ):
            raise ValueError("implausible pixels from the decoder process")
        pixels = np.empty(shape, dtype=np.uint8)
        self._read_into(memoryview(pixels).cast("B"), deadline)
        return pixels

    _payload_size = 0


def _wait(fd: int, write: bool, deadline: float | None) -> None:
    """Block until *fd* is ready, or raise ``TimeoutError`` at *deadline*."""
    timeout = None if deadline is None else deadline - time.monotonic()
    if timeout is not None and timeout <= 0:
        raise TimeoutError("the decoder ran out of time")
    ready = select.select([], [fd], [], timeout) if write else select.select([fd], [], [], timeout)
    if not any(ready):
        raise TimeoutError("the decoder ran out of time")


def _page(header: Any, pixels: np.ndarray | None) -> Page:
    """Rebuild a page from the child's header (checked: it is untrusted)."""
    if not isinstance(header, dict):
        raise SandboxCrashError("The decoder sent a malformed page.")
    try:
        text = None
        if header.get("text") is not None:
            text = [
                TextRun(
                    str(run["text"]),
                    _box(run["box"]),
                    tuple(Word(str(w["text"]), float(w["confidence"]), _box(w["box"])) for w in run["words"]),
                )
                for run in header["text"]
            ]
        elif pixels is None:
            raise SandboxCrashError("The decoder sent a page without pixels or text.")
        return Page(
            number=int(header["number"]),
            count=int(header["count"]),
            width=int(header["width"]),
            height=int(header["height"]),
            pixels=pixels,
            text=text,
            dpi=None if header.get("dpi") is None else float(header["dpi"]),
            rotation=int(header.get("rotation") or 0),
            reading=int(header.get("reading") or 0),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SandboxCrashError("The decoder sent a malformed page.") from exc


def _box(points: Any) -> list[list[int]]:
    box = [[int(x), int(y)] for x, y in points]
    if len(box) != 4:
        raise ValueError("a box has four points")
    return box


class SandboxDecoder:
    """A pool of decoder processes, one lent to each caller; thread-safe.

    *size* is how many requests may decode at once (``OCRFN_CONCURRENCY``); *memory_limit* the address
    space each child may use (bytes).
    """

    def __init__(self, size: int, memory_limit: int) -> None:
        self._idle: queue.SimpleQueue[Sandbox] = queue.SimpleQueue()
        self._all = [Sandbox(memory_limit) for _ in range(size)]
        for sandbox in self._all:
            self._idle.put(sandbox)

    @contextmanager
    def _lease(self) -> Iterator[Sandbox]:
        sandbox = self._idle.get()
        try:
            yield sandbox
        finally:
            self._idle.put(sandbox)

    @property
    def pids(self) -> list[int]:
        """Process ids of the children now."""
        return [s.pid for s in self._all if s.pid is not None]

    def decode(self, data: bytes, max_pixels: int, timeout: float | None) -> np.ndarray:
        """Decode one image in a child process."""
        with self._lease() as sandbox:
            return sandbox.decode(data, max_pixels, timeout)

    def pages(
        self,
        data: bytes,
        limits: DocumentLimits,
        words: bool,
        selection: PageSelection | None,
        deadline: float | None,
    ) -> Iterator[Page]:
        """Yield a document's pages, read by one child held for the whole document."""
        with self._lease() as sandbox:
            yield from sandbox.pages(data, limits, words, selection, deadline)

    def close(self) -> None:
        """Stop every child."""
        for sandbox in self._all:
            sandbox.stop()
