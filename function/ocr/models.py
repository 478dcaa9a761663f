"""Model sets: which ONNX files make up a detector + recognizer pair, and how to feed them.

The committed ``model/manifest.json`` is the single source of truth for the shipped sets; candidate models
(e.g. in benchmarks) can be described directly with :class:`ModelSet`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError

#: Where the committed artifacts live: ``<repo>/model``.
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "model"

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HALF = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class DetectorSpec:
    """A DB text detector and its pre/post-processing parameters."""

    path: Path
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD


@dataclass(frozen=True)
class RecognizerSpec:
    """A CTC line recognizer: model file, character set file and input height."""

    path: Path
    charset: Path
    height: int = 48
    mean: tuple[float, float, float] = HALF
    std: tuple[float, float, float] = HALF


@dataclass(frozen=True)
class ClassifierSpec:
    """A 0/180 text-line orientation classifier (input 3×48×192, output [p0, p180])."""

    path: Path
    height: int = 48
    width: int = 192
    mean: tuple[float, float, float] = HALF
    std: tuple[float, float, float] = HALF


@dataclass(frozen=True)
class PageClassifierSpec:
    """A 0/90/180/270 page orientation classifier (short side resized, centre crop ``size``×``size``)."""

    path: Path
    size: int = 224
    resize: int = 256
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    angles: tuple[int, ...] = (0, 90, 180, 270)


@dataclass(frozen=True)
class ModelSet:
    """A named detector + recognizer (+ optional line and page orientation classifiers)."""

    name: str
    detector: DetectorSpec
    recognizer: RecognizerSpec
    classifier: ClassifierSpec | None = None
    page_classifier: PageClassifierSpec | None = None


def load_charset(path: Path) -> list[str]:
    """Return the recognizer's class list: CTC blank (``""``), the file's entries, then a space.

    The file holds one entry per line in class order (line *i* is class *i + 1*).
    """
    try:
        entries = path.read_text(encoding="utf-8").split("\n")
    except OSError as exc:
        raise ModelError(f"cannot read character set {path.name}: {exc.strerror}") from exc
    if entries and entries[-1] == "":
        entries.pop()
    entries = [e.rstrip("\r") for e in entries]
    return ["", *entries, " "]


def _triple(value: object, default: tuple[float, float, float]) -> tuple[float, float, float]:
    if value is None:
        return default
    if not isinstance(value, list) or len(value) != 3:
        raise ModelError(f"expected three numbers, got {value!r}")
    a, b, c = (float(v) for v in value)
    return (a, b, c)


def load_model_set(model_dir: Path = DEFAULT_MODEL_DIR, name: str | None = None) -> ModelSet:
    """Read ``manifest.json`` in *model_dir* and return the set called *name* (default: its default set)."""
    manifest_path = model_dir / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read model manifest {manifest_path}: {exc}") from exc
    sets = manifest.get("sets", {})
    chosen = name or manifest.get("default_set")
    if chosen not in sets:
        raise ModelError(f"unknown model set {chosen!r}; available: {', '.join(sorted(sets))}")
    entry = sets[chosen]

    def existing(rel: str) -> Path:
        path = (model_dir / rel).resolve()
        if not path.is_file():
            raise ModelError(f"model file missing: {rel} (set {chosen})")
        return path

    det, rec, cls = entry["detector"], entry["recognizer"], entry.get("classifier")
    page = entry.get("page_classifier")
    return ModelSet(
        name=chosen,
        detector=DetectorSpec(
            path=existing(det["file"]),
            mean=_triple(det.get("mean"), IMAGENET_MEAN),
            std=_triple(det.get("std"), IMAGENET_STD),
        ),
        recognizer=RecognizerSpec(
            path=existing(rec["file"]),
            charset=existing(rec["charset"]),
            height=int(rec.get("height", 48)),
            mean=_triple(rec.get("mean"), HALF),
            std=_triple(rec.get("std"), HALF),
        ),
        classifier=None
        if cls is None
        else ClassifierSpec(
            path=existing(cls["file"]),
            height=int(cls.get("height", 48)),
            width=int(cls.get("width", 192)),
            mean=_triple(cls.get("mean"), HALF),
            std=_triple(cls.get("std"), HALF),
        ),
        page_classifier=None
        if page is None
        else PageClassifierSpec(
            path=existing(page["file"]),
            size=int(page.get("size", 224)),
            resize=int(page.get("resize", 256)),
            mean=_triple(page.get("mean"), IMAGENET_MEAN),
            std=_triple(page.get("std"), IMAGENET_STD),
            angles=_angles(page.get("angles", [0, 90, 180, 270])),
        ),
    )


def _angles(value: object) -> tuple[int, ...]:
    if not isinstance(value, list) or sorted(value) != [0, 90, 180, 270]:
        raise ModelError(f"page classifier angles must be 0, 90, 180 and 270 in some order, got {value!r}")
    return tuple(int(v) for v in value)
