"""ocrfn's OCR library: image in, text lines out. No web code lives here."""

from .decode import DEFAULT_MAX_PIXELS, decode_image
from .detect import DetectorParams
from .engine import OcrEngine, OcrOptions, OcrResult, TextLine
from .errors import (
    EmptyImageError,
    ImageError,
    ImageTooLargeError,
    ModelError,
    NotAnImageError,
    OcrError,
    TimeBudgetError,
    TooManyPagesError,
    UnsupportedImageError,
)
from .models import ClassifierSpec, DetectorSpec, ModelSet, RecognizerSpec, load_model_set
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
    "RecognizerSpec",
    "TextLine",
    "TimeBudgetError",
    "TooManyPagesError",
    "UnsupportedImageError",
    "decode_image",
    "load_model_set",
]
