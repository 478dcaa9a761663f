"""Command line: ``python -m function IMAGE [IMAGE ...]`` prints the recognized lines of each image."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from .ocr import DetectorParams, OcrEngine, OcrError, OcrOptions, load_model_set
from .settings import load_settings


def main(argv: list[str] | None = None) -> int:
    """Run OCR on the given files; exit status 1 if any file could not be read."""
    parser = argparse.ArgumentParser(prog="python -m function", description="OCR images with ocrfn's engine.")
    parser.add_argument("images", nargs="+", type=Path, help="image files (PNG, JPEG, WebP, BMP, TIFF, GIF)")
    parser.add_argument(
        "--single-line", action="store_true", help="each image is one text line: skip detection"
    )
    parser.add_argument(
        "--min-confidence", type=float, default=0.5, help="drop lines below this (default 0.5)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per image")
    args = parser.parse_args(argv)

    settings = load_settings()
    engine = OcrEngine(
        load_model_set(settings.model_dir, settings.model_set),
        threads=settings.threads,
        max_pixels=settings.max_pixels,
        detector_params=DetectorParams(max_area=settings.detect_max_pixels),
    )
    options = OcrOptions(detect=not args.single_line, min_confidence=args.min_confidence)
    status = 0
    for path in args.images:
        try:
            result = engine.run(path.read_bytes(), options)
        except (OSError, OcrError) as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            status = 1
            continue
        if args.json:
            payload = {"file": str(path), "width": result.width, "height": result.height}
            payload["lines"] = [asdict(line) for line in result.lines]
            payload["timings"] = {k: round(v, 4) for k, v in result.timings.items()}
            print(json.dumps(payload, ensure_ascii=False))
        else:
            if len(args.images) > 1:
                print(f"== {path}")
            for line in result.lines:
                print(line.text)
    return status


if __name__ == "__main__":
    sys.exit(main())
