"""ocrfn's function, served by ``python -m function.server`` (or ``functions-framework --target ocr``).

One ``http``-signature handler serves every route (see :mod:`function.api.app`). Nothing heavy happens
at import: gunicorn imports this module in its master process and forks the worker that serves, so the
ONNX sessions are created after the fork (``os.register_at_fork``), or on the first request under a
server that does not fork.
"""

from __future__ import annotations

import time

_MODULE_START = time.time()

import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

# functions-framework loads this file by path; make the `function` package importable from the repository.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import functions_framework  # noqa: E402
from flask import Request, Response  # noqa: E402

from function.api.app import OcrApp  # noqa: E402
from function.lifecycle import STARTUP  # noqa: E402
from function.service import create_app  # noqa: E402

STARTUP.update(module_start=_MODULE_START, imported=time.time())
APP: OcrApp = create_app()
os.register_at_fork(after_in_child=APP.lifecycle.start)


@functions_framework.http
def ocr(request: Request) -> Response:
    """Serve OCR over HTTP, health, readiness and metrics (the function's single entry point)."""
    return APP.handle(request)
