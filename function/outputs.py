"""Response bodies: the OCR result as JSON or plain text, and the JSON error body."""

from __future__ import annotations

import json
from typing import Any

from .ocr import OcrResult, TextLine
from .ocr.document import DocumentResult


def _lines(lines: list[TextLine]) -> list[dict[str, Any]]:
    return [{"text": line.text, "confidence": line.confidence, "box": line.box} for line in lines]


def document_payload(result: DocumentResult, model: str | None) -> dict[str, Any]:
    """Build the JSON body for a PDF or multi-page TIFF: one entry per page, in order."""
    pages = [
        {
            "page": p.number,
            "width": p.width,
            "height": p.height,
            "angle": p.angle,
            "source": p.source,
            "data": _lines(p.lines),
        }
        for p in result.pages
    ]
    return {"code": 0, "pages": pages, "cost_time": round(result.seconds, 4), "model": model}


def document_text(result: DocumentResult) -> str:
    """Build the plain-text body for a document: each page's lines, pages separated by a form feed."""
    return "\f".join("".join(line.text + "\n" for line in page.lines) for page in result.pages)


def result_payload(result: OcrResult, model: str | None) -> dict[str, Any]:
    """Build the JSON body of a successful OCR request (``code``, ``data``, ``cost_time``: seed contract).

    ``angle`` is there only when the request asked for the page orientation (``orient_page``).
    """
    payload = {
        "code": 0,
        "data": _lines(result.lines),
        "cost_time": round(result.timings.get("total", 0.0), 4),
        "width": result.width,
        "height": result.height,
        "model": model,
    }
    if result.angle is not None:
        payload["angle"] = result.angle
    return payload


def result_text(result: OcrResult) -> str:
    """Build the plain-text body: one recognized line per line, in reading order."""
    return "".join(line.text + "\n" for line in result.lines)


def error_payload(status: int, error: str, message: str, request_id: str) -> dict[str, Any]:
    """Build the JSON body of an error response."""
    return {"code": status, "error": error, "message": message, "request_id": request_id}


def dumps(payload: Any) -> str:
    """Compact JSON with non-ASCII text kept readable."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
