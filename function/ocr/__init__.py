"""ocrfn's OCR library: image in, text lines out. No web code lives here."""

from .decode import DEFAULT_MAX_PIXELS, decode_image
from .detect import DetectorParams
from .engine import OcrEngine, OcrOptions, OcrResult, TextLine, Word
from .errors import (
    EmptyImageError,
    ImageError,
    ImageTooLargeError,
    ModelError,
    NotAnImageError,
    OcrError,
    PageRangeError,
    TimeBudgetError,
    TooManyPagesError,
    UnsupportedImageError,
)
from .models import (
    ClassifierSpec,
    DetectorSpec,
    ModelSet,
    PageClassifierSpec,
    RecognizerSpec,
    load_model_set,
)
from .recognize import BatchPolicy

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "BatchPolicy",
    "ClassifierSpec",
    "DetectorParams",
    "DetectorSpec",
    "EmptyImageError",
    "ImageError",
    "ImageTooLargeError",
    "ModelError",
    "ModelSet",
    "NotAnImageError",
    "OcrEngine",
    "OcrError",
    "OcrOptions",
    "OcrResult",
    "PageClassifierSpec",
    "PageRangeError",
    "RecognizerSpec",
    "TextLine",
    "TimeBudgetError",
    "TooManyPagesError",
    "UnsupportedImageError",
    "Word",
    "decode_image",
    "load_model_set",
]
