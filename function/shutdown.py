"""The moment this process is told to stop, for the parts that must act on it (admission, the log).

The server's worker calls :func:`begin` when it gets SIGTERM; the app registers what to do then with
:func:`on_begin` (stop admitting, so waiting requests are answered 503 at once, and log the state).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

_lock = threading.Lock()
_callbacks: list[Callable[[], None]] = []
_begun = threading.Event()


def on_begin(callback: Callable[[], None]) -> None:
    """Run *callback* when shutdown begins (at once if it already has)."""
    with _lock:
        _callbacks.append(callback)
        begun = _begun.is_set()
    if begun:
        callback()


def begin() -> None:
    """Shutdown begins: run every registered callback, once."""
    with _lock:
        if _begun.is_set():
            return
        _begun.set()
        callbacks = list(_callbacks)
    for callback in callbacks:
        callback()


def begun() -> bool:
    """Whether shutdown has begun in this process."""
    return _begun.is_set()
