"""The committed model artifacts: manifest integrity and every set loadable and working."""

import hashlib
import json

import onnxruntime as ort
import pytest
from conftest import ROOT, image_bytes

from function.ocr import ModelError, OcrEngine, OcrOptions, load_model_set
from function.ocr.models import load_charset

MODEL_DIR = ROOT / "model"
MANIFEST = json.loads((MODEL_DIR / "manifest.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("rel", sorted(MANIFEST["files"]))
def test_artifact_matches_manifest(rel):
    entry = MANIFEST["files"][rel]
    data = (MODEL_DIR / rel).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert len(data) == entry["bytes"]
    for key in ("license", "source"):
        assert entry.get(key), f"{rel} lacks {key}"
    assert {"package", "version", "path"} <= set(entry["source"])


def test_every_shipped_file_is_in_the_manifest():
    shipped = {
        p.relative_to(MODEL_DIR).as_posix() for p in MODEL_DIR.rglob("*") if p.suffix in {".onnx", ".txt"}
    }
    assert shipped == set(MANIFEST["files"])


@pytest.mark.parametrize("name", sorted(MANIFEST["sets"]))
def test_set_loads_and_charset_fits_the_recognizer(name):
    models = load_model_set(MODEL_DIR, name)
    charset = load_charset(models.recognizer.charset)
    session = ort.InferenceSession(str(models.recognizer.path), providers=["CPUExecutionProvider"])
    assert session.get_outputs()[0].shape[-1] == len(charset)
    assert charset[0] == "" and charset[-1] == " "


@pytest.mark.parametrize("name", sorted(MANIFEST["sets"]))
def test_every_set_reads_a_line(name):
    engine = OcrEngine(load_model_set(MODEL_DIR, name), threads=1)
    result = engine.run(image_bytes("line_zh.png"), OcrOptions(detect=False))
    assert [line.text for line in result.lines] == ["北京市海淀区中关村大街27号"]


def test_unknown_set_is_a_clear_error():
    with pytest.raises(ModelError, match="unknown model set 'nope'"):
        load_model_set(MODEL_DIR, "nope")


def test_default_recognizer_is_int8():
    models = load_model_set(MODEL_DIR)
    session = ort.InferenceSession(str(models.recognizer.path), providers=["CPUExecutionProvider"])
    del session
    import onnx

    graph = onnx.load(str(models.recognizer.path)).graph
    ops = {node.op_type for node in graph.node}
    assert ops & {"QLinearConv", "ConvInteger", "MatMulInteger", "DynamicQuantizeLinear", "QuantizeLinear"}
