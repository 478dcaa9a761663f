"""Admission control for OCR jobs: a bounded number run at once, a few wait, the rest are refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class QueueFullError(Exception):
    """Every slot is busy and the waiting queue is full."""


class Admission:
    """Lets at most ``concurrency`` jobs run at once and at most ``max_queue`` wait; thread-safe.

    A job that finds every slot busy and the queue full is refused at once (:class:`QueueFullError`):
    the caller answers 429 instead of holding a server thread that health probes may need.
    """

    def __init__(self, concurrency: int, max_queue: int) -> None:
        if concurrency < 1 or max_queue < 0:
            raise ValueError("concurrency must be >= 1 and max_queue >= 0")
        self._concurrency = concurrency
        self._max_queue = max_queue
        self._cond = threading.Condition()
        self._running = 0
        self._waiting = 0

    @property
    def running(self) -> int:
        """Jobs holding a slot now."""
        return self._running

    @property
    def waiting(self) -> int:
        """Jobs waiting for a slot now."""
        return self._waiting

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot for the duration of the ``with`` block, waiting in the queue if needed."""
        with self._cond:
            if self._running >= self._concurrency:
                if self._waiting >= self._max_queue:
                    raise QueueFullError(
                        f"{self._running} OCR job(s) running and {self._waiting} waiting; try again shortly"
                    )
                self._waiting += 1
                try:
                    while self._running >= self._concurrency:
                        self._cond.wait()
                finally:
                    self._waiting -= 1
            self._running += 1
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify()
