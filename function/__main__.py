"""Command line: ``python -m function FILE [FILE ...]`` prints the lines of images, PDFs and TIFFs.

Its options are the HTTP API's, checked by the same code (:func:`function.options.parse_options`): a
value the API refuses with 400 ``invalid_field`` is refused here with exit status 2. ``--json`` prints,
per file and in order, one line holding exactly the API's answer body: the result (``code`` 0, ``data``
or ``pages``, ``cost_time``, ...) or the error (``code``, ``error``, ``message``, ``request_id``) with the
API's status and error name.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path
from typing import Any

from .errors import ServiceError, from_ocr_error
from .hocr import render_hocr
from .ocr import DetectorParams, OcrEngine, OcrError, OcrResult, load_model_set
from .ocr.document import DocumentResult, PageResult, read_document, reading_plan
from .options import DEFAULT_MIN_CONFIDENCE, RequestOptions, parse_options
from .outputs import document_payload, dumps, error_payload, result_payload, result_text
from .settings import Settings, load_settings


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m function",
        description="OCR images, PDFs and multi-page TIFFs with ocrfn's engine (the API's options).",
    )
    parser.add_argument(
        "images", nargs="+", type=Path, help="image files (PNG, JPEG, WebP, BMP, TIFF, GIF) or PDFs"
    )
    parser.add_argument(
        "--single-line",
        action="store_true",
        help="each image is one text line: skip detection (detect=false)",
    )
    parser.add_argument(
        "--min-confidence",
        default=str(DEFAULT_MIN_CONFIDENCE),
        metavar="0..1",
        help=f"drop lines below this (default {DEFAULT_MIN_CONFIDENCE})",
    )
    parser.add_argument(
        "--orient-page",
        choices=("auto", "yes", "no"),
        default="auto",
        help="turn pages upright first (auto: documents yes, single images no)",
    )
    parser.add_argument(
        "--no-text-layer",
        action="store_true",
        help="OCR PDF pages even when they carry text (text_layer=false)",
    )
    parser.add_argument("--pages", default=None, help="pages of PDFs and TIFFs to read, e.g. 1-3,7 or 5-")
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--json", action="store_true", help="one JSON line per file: the HTTP API's answer body"
    )
    output.add_argument("--hocr", action="store_true", help="print one hOCR document per file")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run OCR on the given files; exit status 1 if any file could not be read, 2 for a bad option."""
    parser = _parser()
    args = parser.parse_args(argv)
    values: dict[str, Any] = {
        "detect": not args.single_line,
        "min_confidence": args.min_confidence,
        "text_layer": not args.no_text_layer,
        "pages": args.pages,
        "format": "json" if args.json else "hocr" if args.hocr else "text",
    }
    if args.orient_page != "auto":
        values["orient_page"] = args.orient_page
    try:
        asked = parse_options(values, "option", _flag)
    except ServiceError as exc:
        parser.error(exc.message)
    try:
        settings = load_settings()
    except ValueError as exc:
        parser.exit(2, f"python -m function: {exc}\n")
    engine = OcrEngine(
        load_model_set(settings.model_dir, settings.model_set),
        threads=settings.threads,
        max_pixels=settings.max_pixels,
        detector_params=DetectorParams(max_area=settings.detect_max_pixels),
    )
    status = 0
    for path in args.images:
        try:
            result = _read(engine, settings, path, asked)
        except ServiceError as exc:
            status = 1
            print(f"{path}: {exc.error}: {exc.message}", file=sys.stderr)
            if asked.format == "json":
                print(dumps(error_payload(exc.status, exc.error, f"{path}: {exc.message}", uuid.uuid4().hex)))
            continue
        _print(result, asked.format, engine.models.name, path if len(args.images) > 1 else None)
    return status


def _read(
    engine: OcrEngine, settings: Settings, path: Path, asked: RequestOptions
) -> OcrResult | DocumentResult:
    """OCR one file as the API would; what the API answers 4xx is a :class:`ServiceError` here too."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ServiceError(400, "unreadable_file", exc.strerror or str(exc)) from None
    try:
        document, options = reading_plan(data, asked.ocr, asked.orient_page, asked.pages)
        if document:
            limits = settings.document_limits(asked.text_layer)
            return read_document(engine, data, options, limits, pages=asked.pages)
        return engine.run(data, options)
    except OcrError as exc:
        client = from_ocr_error(exc)
        if client is None:
            raise
        raise client from None


def _print(result: OcrResult | DocumentResult, fmt: str, model: str, name: Path | None) -> None:
    """Write one file's result in *fmt*; plain text is headed by the file's name when there are several."""
    if fmt == "json":
        payload = (
            document_payload(result, model)
            if isinstance(result, DocumentResult)
            else result_payload(result, model)
        )
        print(dumps(payload))
        return
    pages = result.pages if isinstance(result, DocumentResult) else [PageResult.of_image(result)]
    if fmt == "hocr":
        print(render_hocr(pages, model), end="")
        return
    if name is not None:
        print(f"== {name}")
    if not isinstance(result, DocumentResult):
        print(result_text(result), end="")
        return
    for page in pages:
        turned = f", turned {page.angle}°" if page.angle else ""
        print(f"-- page {page.number} ({page.source}{turned})")
        for line in page.lines:
            print(line.text)


if __name__ == "__main__":
    sys.exit(main())
