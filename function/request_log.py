"""JSON lines on stdout, for the cluster's log collector: one per request, plus the process's own events."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

_lock = threading.Lock()


def severity(status: int) -> str:
    """Return the log severity of an answer with *status*.

    A fault of the server is an ERROR; a 503 (not ready, stopping, a store down: worth a retry) a WARNING;
    anything else, client mistakes included, INFO.
    """
    if status == 503:
        return "WARNING"
    return "ERROR" if status >= 500 else "INFO"


def log_request(fields: dict[str, Any], stream: TextIO | None = None) -> None:
    """Write one request's *fields* as a JSON line, with the severity its ``status`` calls for."""
    log_event(fields, severity(int(fields.get("status", 0))), stream)


def log_event(fields: dict[str, Any], level: str = "INFO", stream: TextIO | None = None) -> None:
    """Write *fields*, after a UTC timestamp and the severity *level*, as one JSON line.

    ``None`` values are left out.
    """
    now = time.time()
    record: dict[str, Any] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z",
        "severity": level,
    }
    record.update({k: v for k, v in fields.items() if v is not None})
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    out = stream or sys.stdout
    with _lock:
        out.write(line + "\n")
        out.flush()
