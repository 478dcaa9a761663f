"""Errors the service answers with, whatever the transport: a status, a stable name, a message for the caller.

Both adapters use them: the HTTP API answers them as JSON error bodies, and event deliveries answer them
with the same status, which is what tells a broker whether to retry (5xx, 404, 408, 409, 429) or to send
the event to its dead-letter sink (other 4xx). ``message`` is written for the caller and says only what
they can act on; ``detail`` is for the server log (store endpoints, exception text), never answered, and
so is ``exception``, the type of the failure behind a 5xx (``GenericError`` from a store client, say).
"""

from __future__ import annotations

from collections.abc import Mapping

from .ocr import (
    EmptyImageError,
    ImageTooLargeError,
    NotAnImageError,
    OcrError,
    PageRangeError,
    TimeBudgetError,
    TooManyPagesError,
    UnsupportedImageError,
)
from .ocr.decode import FORMATS_TEXT


class ServiceError(Exception):
    """An error answered with *status*: JSON ``{"code": status, "error": name, "message": ...}`` over HTTP."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        detail: str | None = None,
        exception: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.headers = dict(headers or {})
        self.detail = detail
        self.exception = exception


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


#: What the service reads: the library's image formats and PDFs (which it reads page by page).
SERVICE_FORMATS_TEXT = FORMATS_TEXT.replace(" or ", ", ") + " or PDF"


def from_ocr_error(exc: OcrError) -> ServiceError | None:
    """Map an image the library refused to its client error; ``None`` when the fault is the server's.

    The library lists the image formats it decodes; the service also reads PDFs, and says so.
    """
    for kind, status in _IMAGE_STATUS:
        if isinstance(exc, kind):
            return ServiceError(status, exc.code, str(exc).replace(FORMATS_TEXT, SERVICE_FORMATS_TEXT))
    return None
