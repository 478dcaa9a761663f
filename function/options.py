"""The options of one OCR request, whatever carries them: one set of names, one validation.

The HTTP API takes them as JSON fields or query parameters, the command line as flags; both hand the raw
values to :func:`parse_options`, so ``min_confidence=5`` is refused the same way everywhere (a
:class:`~function.errors.ServiceError` 400 ``invalid_field``, which the CLI turns into exit status 2).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ServiceError
from .ocr import OcrOptions
from .ocr.pages import PageSelection

FORMATS = ("json", "text", "hocr")
OPTION_FIELDS = ("detect", "min_confidence", "orient_page", "text_layer", "pages", "format")
DEFAULT_MIN_CONFIDENCE = 0.5
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class RequestOptions:
    """What a request asks for besides its image.

    ``orient_page`` is ``None`` when the request did not say: pages of documents are then turned upright,
    single images are read as they are. ``text_layer=False`` OCRs PDF pages even when they carry text.
    ``pages`` selects pages of a document (``None``: all of them). ``ocr.words`` is set for the ``hocr``
    format, whose output is made of word boxes.
    """

    ocr: OcrOptions
    format: str = "json"
    orient_page: bool | None = None
    text_layer: bool = True
    pages: PageSelection | None = None


def parse_options(
    values: Mapping[str, Any], where: str, label: Callable[[str], str] = lambda name: name
) -> RequestOptions:
    """Validate the options in *values* (absent ones take their defaults); raise 400 ``invalid_field``.

    *where* and *label* word the message: ``"field"`` and the JSON name for the API, ``"option"`` and the
    flag's spelling for the command line.
    """

    def invalid(name: str, rule: str) -> ServiceError:
        return ServiceError(400, "invalid_field", f"{where} {label(name)} {rule}.")

    def flag(name: str, default: bool | None) -> bool | None:
        value = values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        raise invalid(name, "must be true or false")

    confidence = _number(values.get("min_confidence", DEFAULT_MIN_CONFIDENCE))
    if not 0.0 <= confidence <= 1.0:
        raise invalid("min_confidence", "must be a number from 0 to 1")
    pages = values.get("pages")
    if isinstance(pages, int) and not isinstance(pages, bool):
        pages = str(pages)
    if pages is not None and not isinstance(pages, str):
        raise invalid("pages", 'must be a string such as "1-3,7"')
    try:
        selection = None if pages is None else PageSelection.parse(pages)
    except ValueError as exc:
        raise ServiceError(400, "invalid_field", f"{where} {label('pages')}: {exc}.") from None
    fmt = values.get("format", "json")
    if fmt not in FORMATS:
        raise invalid("format", f"must be one of {', '.join(FORMATS)}")
    return RequestOptions(
        OcrOptions(detect=bool(flag("detect", True)), min_confidence=confidence, words=fmt == "hocr"),
        fmt,
        flag("orient_page", None),
        bool(flag("text_layer", True)),
        selection,
    )


def _number(value: Any) -> float:
    """*value* as a float (a number or a numeric string); NaN for anything else, booleans included."""
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return math.nan
    return math.nan
