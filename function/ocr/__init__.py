"""ocrfn's OCR library: image in, text lines out. No web code lives here.

Names are loaded on first use (PEP 562), so a process that only decodes (the server's decoder process,
:mod:`.sandbox_child`) imports Pillow and pypdfium2 without ONNX Runtime and OpenCV.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

# ONNX Runtime's usage telemetry stays off: a self-hosted service does not report home, and with a
# read-only root filesystem its device-id file cannot be written (a warning at every start otherwise).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

#: Public name → the module of this package that defines it.
_EXPORTS = {
    "DEFAULT_MAX_PIXELS": "decode",
    "decode_image": "decode",
    "DetectorParams": "detect",
    "OcrEngine": "engine",
    "OcrOptions": "engine",
    "OcrResult": "engine",
    "TextLine": "lines",
    "Word": "lines",
    "EmptyImageError": "errors",
    "ImageError": "errors",
    "ImageTooLargeError": "errors",
    "ModelError": "errors",
    "NotAnImageError": "errors",
    "OcrError": "errors",
    "PageRangeError": "errors",
    "TimeBudgetError": "errors",
    "TooManyPagesError": "errors",
    "UnsupportedImageError": "errors",
    "ClassifierSpec": "models",
    "DetectorSpec": "models",
    "ModelSet": "models",
    "PageClassifierSpec": "models",
    "RecognizerSpec": "models",
    "load_model_set": "models",
    "BatchPolicy": "recognize",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Load a public name from the module that defines it."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
