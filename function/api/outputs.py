"""Response bodies: the OCR result as JSON or plain text, and the JSON error body."""

from __future__ import annotations

import json
from typing import Any

from ..ocr import OcrResult


def result_payload(result: OcrResult, model: str) -> dict[str, Any]:
    """Build the JSON body of a successful OCR request (``code``, ``data``, ``cost_time``: seed contract)."""
    return {
        "code": 0,
        "data": [
            {"text": line.text, "confidence": line.confidence, "box": line.box} for line in result.lines
        ],
        "cost_time": round(result.timings.get("total", 0.0), 4),
        "width": result.width,
        "height": result.height,
        "model": model,
    }


def result_text(result: OcrResult) -> str:
    """Build the plain-text body: one recognized line per line, in reading order."""
    return "".join(line.text + "\n" for line in result.lines)


def error_payload(status: int, error: str, message: str, request_id: str) -> dict[str, Any]:
    """Build the JSON body of an error response."""
    return {"code": status, "error": error, "message": message, "request_id": request_id}


def dumps(payload: Any) -> str:
    """Compact JSON with non-ASCII text kept readable."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
