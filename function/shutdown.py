"""The moments this process is told to stop and has stopped, for the parts that must act on them.

The server's worker calls :func:`begin` when it gets SIGTERM and :func:`end` once it has stopped serving
(every connection finished, or the shutdown timeout cut the rest off); the app registers what to do then
with :func:`on_begin` (stop admitting, so waiting requests are answered 503 at once, and log the state)
and :func:`on_end` (log what was drained and refused).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

_lock = threading.Lock()
_callbacks: list[Callable[[], None]] = []
_end_callbacks: list[Callable[[int], None]] = []
_begun = threading.Event()


def on_begin(callback: Callable[[], None]) -> None:
    """Run *callback* when shutdown begins (at once if it already has)."""
    with _lock:
        _callbacks.append(callback)
        begun = _begun.is_set()
    if begun:
        callback()


def on_end(callback: Callable[[int], None]) -> None:
    """Run *callback* with the number of connections cut off when the server has stopped serving."""
    with _lock:
        _end_callbacks.append(callback)


def begin() -> None:
    """Shutdown begins: run every registered callback, once."""
    with _lock:
        if _begun.is_set():
            return
        _begun.set()
        callbacks = list(_callbacks)
    for callback in callbacks:
        callback()


def end(cut_off: int) -> None:
    """Run the end callbacks: the server has stopped serving, *cut_off* connections still busy."""
    with _lock:
        callbacks = list(_end_callbacks)
    for callback in callbacks:
        callback(cut_off)


def begun() -> bool:
    """Whether shutdown has begun in this process."""
    return _begun.is_set()
