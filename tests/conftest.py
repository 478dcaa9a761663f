import json
import sys
from pathlib import Path

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
