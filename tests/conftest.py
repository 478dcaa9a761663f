import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def expected() -> dict:
    return json.loads((DATA / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def engine():
    from function.ocr import OcrEngine, load_model_set

    return OcrEngine(load_model_set(), threads=2)


def image_bytes(name: str) -> bytes:
    return (DATA / "images" / name).read_bytes()


def tiled_receipt(rows: int = 4, cols: int = 4) -> bytes:
    """The rendered receipt tiled rows x cols as a PNG (4x4: 2080x2184 px, 240 lines, ~1 s of OCR)."""
    tile = cv2.imdecode(np.frombuffer(image_bytes("receipt.png"), np.uint8), cv2.IMREAD_COLOR)
    ok, png = cv2.imencode(".png", np.tile(tile, (rows, cols, 1)))
    assert ok
    return png.tobytes()
