"""Typed errors raised by the OCR library.

Every error carries a short machine-readable ``code`` so that adapters (HTTP, events) can map it to a
status without parsing messages. Messages are written for the person who sent the image.
"""

from __future__ import annotations


class OcrError(Exception):
    """Base class of every error the OCR library raises on purpose."""

    code = "ocr_error"


class ImageError(OcrError):
    """The input could not be turned into pixels the models accept."""

    code = "image_error"


class NotAnImageError(ImageError):
    """The bytes are not an image in a format we decode."""

    code = "not_an_image"


class EmptyImageError(ImageError):
    """No bytes, or an image with zero width or height."""

    code = "empty_image"


class ImageTooLargeError(ImageError):
    """The image header announces more pixels than the configured cap."""

    code = "image_too_large"


class UnsupportedImageError(ImageError):
    """A real image, but in a mode or variant we cannot convert."""

    code = "unsupported_image"


class TooManyPagesError(ImageError):
    """A PDF or multi-page TIFF has more pages than the configured cap (refused whole, never truncated)."""

    code = "too_many_pages"


class PageRangeError(ImageError):
    """A page selection names a page the document does not have."""

    code = "page_out_of_range"


class ModelError(OcrError):
    """The model files are missing, corrupt or inconsistent with their manifest."""

    code = "model_error"


class TimeBudgetError(OcrError):
    """The call ran past its time budget and was cut off (the engine stays usable)."""

    code = "time_budget_exceeded"
