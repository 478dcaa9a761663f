"""Command line: ``python -m function FILE [FILE ...]`` prints the lines of images, PDFs and TIFFs."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .hocr import render_hocr
from .ocr import DetectorParams, OcrEngine, OcrError, OcrOptions, OcrResult, load_model_set
from .ocr.document import DocumentResult, PageResult, read_document
from .ocr.pages import PageSelection, document_kind
from .settings import load_settings


def main(argv: list[str] | None = None) -> int:
    """Run OCR on the given files; exit status 1 if any file could not be read."""
    parser = argparse.ArgumentParser(
        prog="python -m function", description="OCR images, PDFs and multi-page TIFFs with ocrfn's engine."
    )
    parser.add_argument(
        "images", nargs="+", type=Path, help="image files (PNG, JPEG, WebP, BMP, TIFF, GIF) or PDFs"
    )
    parser.add_argument(
        "--single-line", action="store_true", help="each image is one text line: skip detection"
    )
    parser.add_argument(
        "--min-confidence", type=float, default=0.5, help="drop lines below this (default 0.5)"
    )
    parser.add_argument(
        "--orient-page",
        choices=("auto", "yes", "no"),
        default="auto",
        help="turn pages upright first (auto: documents yes, single images no)",
    )
    parser.add_argument(
        "--pages", type=_selection, default=None, help="pages of PDFs and TIFFs to read, e.g. 1-3,7 or 5-"
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON object per file")
    output.add_argument("--hocr", action="store_true", help="print one hOCR document per file")
    args = parser.parse_args(argv)

    settings = load_settings()
    engine = OcrEngine(
        load_model_set(settings.model_dir, settings.model_set),
        threads=settings.threads,
        max_pixels=settings.max_pixels,
        detector_params=DetectorParams(max_area=settings.detect_max_pixels),
    )
    status = 0
    for path in args.images:
        try:
            data = path.read_bytes()
            document = document_kind(data) is not None
            orient = document if args.orient_page == "auto" else args.orient_page == "yes"
            options = OcrOptions(
                detect=not args.single_line,
                min_confidence=args.min_confidence,
                orient_page=orient,
                words=args.hocr,
            )
            if document:
                limits = settings.document_limits()
                result: OcrResult | DocumentResult = read_document(
                    engine, data, options, limits, pages=args.pages
                )
            else:
                result = engine.run(data, options)
        except (OSError, OcrError) as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            status = 1
            continue
        pages = _pages(result)
        if args.json:
            print(json.dumps(_json(path, result, pages), ensure_ascii=False))
        elif args.hocr:
            print(render_hocr(pages, engine.models.name), end="")
        else:
            if len(args.images) > 1:
                print(f"== {path}")
            for page in pages:
                if isinstance(result, DocumentResult):
                    turned = f", turned {page.angle}°" if page.angle else ""
                    print(f"-- page {page.number} ({page.source}{turned})")
                for line in page.lines:
                    print(line.text)
    return status


def _selection(text: str) -> PageSelection:
    try:
        return PageSelection.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _pages(result: OcrResult | DocumentResult) -> list[PageResult]:
    if isinstance(result, DocumentResult):
        return result.pages
    return [PageResult.of_image(result)]


def _json(path: Path, result: OcrResult | DocumentResult, pages: list[PageResult]) -> dict[str, Any]:
    def lines(page: PageResult) -> list[dict[str, Any]]:
        return [{k: v for k, v in asdict(line).items() if k != "words" or v} for line in page.lines]

    if isinstance(result, DocumentResult):
        return {
            "file": str(path),
            "pages": [
                {"page": p.number, "width": p.width, "height": p.height, "angle": p.angle}
                | {"source": p.source, "lines": lines(p)}
                for p in pages
            ],
            "seconds": round(result.seconds, 4),
        }
    payload: dict[str, Any] = {"file": str(path), "width": result.width, "height": result.height}
    if result.angle is not None:
        payload["angle"] = result.angle
    payload["lines"] = lines(pages[0])
    payload["timings"] = {k: round(v, 4) for k, v in result.timings.items()}
    return payload


if __name__ == "__main__":
    sys.exit(main())
