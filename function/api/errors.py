"""Client-facing errors: an HTTP status, a stable error name and a message written for the caller."""

from __future__ import annotations

from collections.abc import Mapping

from ..ocr import (
    EmptyImageError,
    ImageTooLargeError,
    NotAnImageError,
    OcrError,
    PageRangeError,
    TimeBudgetError,
    TooManyPagesError,
    UnsupportedImageError,
)


class ApiError(Exception):
    """An error answered as JSON ``{"code": status, "error": name, "message": ...}`` with *status*."""

    def __init__(
        self, status: int, error: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.headers = dict(headers or {})


#: Library errors that are the client's: status per error type (most specific first).
_IMAGE_STATUS: tuple[tuple[type[OcrError], int], ...] = (
    (ImageTooLargeError, 422),
    (TooManyPagesError, 422),
    (PageRangeError, 422),
    (EmptyImageError, 422),
    (UnsupportedImageError, 422),
    (NotAnImageError, 400),
    (TimeBudgetError, 422),  # the same image would take as long again: retrying does not help
)


def from_ocr_error(exc: OcrError) -> ApiError | None:
    """Map an image the library refused to its client error; ``None`` when the fault is the server's."""
    for kind, status in _IMAGE_STATUS:
        if isinstance(exc, kind):
            return ApiError(status, exc.code, str(exc))
    return None
