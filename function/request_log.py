"""One JSON line per request on stdout, for the cluster's log collector."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

_lock = threading.Lock()


def log_request(fields: dict[str, Any], stream: TextIO | None = None) -> None:
    """Write *fields* (plus a UTC timestamp and severity) as one JSON line; ``None`` values are left out."""
    now = time.time()
    record: dict[str, Any] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z",
        "severity": "ERROR" if fields.get("status", 0) >= 500 else "INFO",
    }
    record.update({k: v for k, v in fields.items() if v is not None})
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    out = stream or sys.stdout
    with _lock:
        out.write(line + "\n")
        out.flush()
