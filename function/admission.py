"""Admission control: a bounded number of requests in the house, a bounded number on the CPU at once.

A request is *admitted* before it reads its body, parses anything or fetches an object, so everything
expensive it does counts against a bound: at most ``concurrency + max_queue`` requests are admitted, and
one more is refused at once (the caller answers 429 instead of holding a server thread or memory). An
admitted request then *runs* its CPU work (decoding, rendering, OCR) in one of ``concurrency`` slots,
waiting for one if needed; I/O such as fetching an object happens while admitted but before running, so a
slow store does not hold a CPU slot. When the process is told to stop (:meth:`Admission.close`), requests
not yet running are refused with :class:`ShuttingDownError` and the running ones finish.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class QueueFullError(Exception):
    """Every slot is busy and the waiting queue is full."""


class ShuttingDownError(Exception):
    """The process is stopping: the request was not started and should be retried elsewhere."""


class Admission:
    """Admits at most ``concurrency + max_queue`` requests and runs at most ``concurrency``; thread-safe."""

    def __init__(self, concurrency: int, max_queue: int) -> None:
        if concurrency < 1 or max_queue < 0:
            raise ValueError("concurrency must be >= 1 and max_queue >= 0")
        self._concurrency = concurrency
        self._capacity = concurrency + max_queue
        self._cond = threading.Condition()
        self._admitted = 0
        self._running = 0
        self._closed = False

    @property
    def running(self) -> int:
        """Requests holding a CPU slot now."""
        return self._running

    @property
    def waiting(self) -> int:
        """Admitted requests not on the CPU now (waiting for a slot, reading, fetching)."""
        return self._admitted - self._running

    @property
    def admitted(self) -> int:
        """Requests admitted now."""
        return self._admitted

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Refuse every request not yet running, from now on; wake those waiting so they can answer."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @contextmanager
    def admit(self) -> Iterator[None]:
        """Count the ``with`` block as one admitted request; refused when full or closed."""
        with self._cond:
            if self._closed:
                raise ShuttingDownError("the server is shutting down")
            if self._admitted >= self._capacity:
                raise QueueFullError(
                    f"{self._running} OCR job(s) running and {self.waiting} waiting; try again shortly"
                )
            self._admitted += 1
        try:
            yield
        finally:
            with self._cond:
                self._admitted -= 1

    @contextmanager
    def run(self) -> Iterator[None]:
        """Hold a CPU slot for the ``with`` block (inside :meth:`admit`), waiting for one if needed."""
        with self._cond:
            while self._running >= self._concurrency and not self._closed:
                self._cond.wait()
            if self._closed:
                raise ShuttingDownError("the server is shutting down")
            self._running += 1
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify()
