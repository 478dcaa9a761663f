"""The OCR pipeline: decode → detect → crop → orient → recognize → reading order."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import onnxruntime as ort

from .crop import crop_quad, turn_if_vertical
from .decode import DEFAULT_MAX_PIXELS, decode_image
from .detect import Detector, DetectorParams
from .errors import TimeBudgetError, UnsupportedImageError
from .models import ModelSet, load_charset
from .order import reading_order
from .orient import NOMINATE_THRESHOLD, OrientationClassifier
from .recognize import BatchPolicy, RecognizedText, Recognizer
from .runtime import create_session


@dataclass(frozen=True)
class OcrOptions:
    """Per-call options. They never change the engine; each call gets its own.

    ``detect=False`` is single-line mode: the whole image is one text line and detection is skipped.
    Lines with a confidence under ``min_confidence`` or with no text are left out. ``time_budget`` (seconds)
    cuts the call off with :class:`TimeBudgetError` once it has run that long: a model run in progress
    is stopped through onnxruntime's terminate flag, and the check is repeated between stages.
    """

    detect: bool = True
    min_confidence: float = 0.5
    time_budget: float | None = None


@dataclass(frozen=True)
class TextLine:
    """One recognized line: its text, confidence (0–1) and quad (TL, TR, BR, BL) in image pixels."""

    text: str
    confidence: float
    box: list[list[int]]


@dataclass
class OcrResult:
    """The lines of one image in reading order, the image size, and seconds spent per stage."""

    lines: list[TextLine]
    width: int
    height: int
    timings: dict[str, float] = field(default_factory=dict)


class OcrEngine:
    """Owns the ONNX sessions of one model set. Create one per process, after any fork; thread-safe."""

    def __init__(
        self,
        models: ModelSet,
        *,
        threads: int,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        detector_params: DetectorParams | None = None,
        batch_policy: BatchPolicy | None = None,
    ) -> None:
        self.models = models
        self.max_pixels = max_pixels
        det, rec, cls = models.detector, models.recognizer, models.classifier
        self.detector = Detector(
            create_session(det.path, threads), mean=det.mean, std=det.std, params=detector_params
        )
        self.recognizer = Recognizer(
            create_session(rec.path, threads),
            load_charset(rec.charset),
            height=rec.height,
            mean=rec.mean,
            std=rec.std,
            policy=batch_policy,
        )
        self.classifier = (
            None
            if cls is None
            else OrientationClassifier(
                create_session(cls.path, threads),
                height=cls.height,
                width=cls.width,
                mean=cls.mean,
                std=cls.std,
            )
        )

    def run(self, image: bytes | np.ndarray, options: OcrOptions | None = None) -> OcrResult:
        """OCR an encoded image (bytes) or a BGR uint8 array; lines come back in reading order."""
        options = options or OcrOptions()
        with _budget(options.time_budget) as budget:
            return self._run(image, options, budget)

    def _run(self, image: bytes | np.ndarray, options: OcrOptions, budget: _Budget) -> OcrResult:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        if isinstance(image, np.ndarray):
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or 0 in image.shape:
                raise UnsupportedImageError("pixel arrays must be non-empty H×W×3 uint8 in BGR order")
            pixels = image
        else:
            pixels = decode_image(image, max_pixels=self.max_pixels)
        height, width = pixels.shape[:2]
        mark = _stage(timings, "decode", started)

        budget.check()
        if options.detect:
            quads = [d.quad for d in budget.call(self.detector.detect, pixels)]
            crops = [crop_quad(pixels, q) for q in quads]
        else:
            quads = [np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)]
            crops = [turn_if_vertical(pixels)]
        mark = _stage(timings, "detect", mark)

        budget.check()
        flipped = self._find_upside_down(crops, budget)
        mark = _stage(timings, "classify", mark)

        budget.check()
        texts = budget.call(self.recognizer.recognize, crops)
        texts, flipped = self._confirm_flips(crops, texts, flipped, budget)
        mark = _stage(timings, "recognize", mark)

        lines = self._assemble(quads, texts, flipped, width, height, options)
        _stage(timings, "order", mark)
        timings["total"] = time.perf_counter() - started
        return OcrResult(lines=lines, width=width, height=height, timings=timings)

    def _find_upside_down(self, crops: list[np.ndarray], budget: _Budget) -> np.ndarray:
        if self.classifier is None or not crops:
            return np.zeros(len(crops), dtype=bool)
        return budget.call(self.classifier.upside_down_probability, crops) > NOMINATE_THRESHOLD

    def _confirm_flips(
        self, crops: list[np.ndarray], texts: list[RecognizedText], nominated: np.ndarray, budget: _Budget
    ) -> tuple[list[RecognizedText], np.ndarray]:
        """Recognize nominated crops turned 180°; keep whichever reading is more confident."""
        idx = np.flatnonzero(nominated)
        flipped = np.zeros(len(crops), dtype=bool)
        if idx.size == 0:
            return texts, flipped
        turned = budget.call(
            self.recognizer.recognize, [np.ascontiguousarray(crops[i][::-1, ::-1]) for i in idx]
        )
        texts = list(texts)
        for i, alt in zip(idx, turned, strict=True):
            if _better(alt, texts[i]):
                texts[i] = alt
                flipped[i] = True
        return texts, flipped

    def _assemble(
        self,
        quads: list[np.ndarray],
        texts: list[RecognizedText],
        flipped: np.ndarray,
        width: int,
        height: int,
        options: OcrOptions,
    ) -> list[TextLine]:
        keep = [i for i, t in enumerate(texts) if t.text and t.confidence >= options.min_confidence]
        # A line read upside down has its first character at its quad's bottom-right: rotate the point
        # order so TL is the text's own top-left.
        oriented = {i: (np.roll(quads[i], 2, axis=0) if flipped[i] else quads[i]) for i in keep}
        page_flipped = keep and flipped[keep].sum() * 2 > len(keep)
        if page_flipped:
            # Most lines are upside down: the page is. Order in the turned page's coordinates.
            turn = np.array([width - 1, height - 1], dtype=np.float32)
            order = reading_order([turn - oriented[i] for i in keep])
        else:
            order = reading_order([oriented[i] for i in keep])
        lines = []
        for k in order:
            i = keep[k]
            box = [[round(float(x)), round(float(y))] for x, y in oriented[i]]
            lines.append(TextLine(text=texts[i].text, confidence=round(texts[i].confidence, 4), box=box))
        return lines


def _better(candidate: RecognizedText, current: RecognizedText) -> bool:
    """Whether *candidate* is the better reading: higher confidence, ties to the longer text."""
    return (candidate.confidence, len(candidate.text)) > (current.confidence, len(current.text))


def _stage(timings: dict[str, float], name: str, since: float) -> float:
    now = time.perf_counter()
    timings[name] = now - since
    return now


class _Budget:
    """One call's time budget: onnxruntime run options whose terminate flag a timer sets at the deadline."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.run_options = ort.RunOptions() if seconds is not None else None
        self.expired = threading.Event()

    def expire(self) -> None:
        self.expired.set()
        if self.run_options is not None:
            self.run_options.terminate = True

    def check(self) -> None:
        """Raise :class:`TimeBudgetError` if the deadline has passed."""
        if self.expired.is_set():
            raise TimeBudgetError(
                f"OCR took longer than its time budget of {self.seconds:g} s and was stopped."
            )

    def call(self, fn, *args):
        """Run one model stage with the budget's run options; a terminated run becomes TimeBudgetError."""
        try:
            return fn(*args, self.run_options)
        except Exception:
            if self.expired.is_set():
                self.check()
            raise


@contextmanager
def _budget(seconds: float | None) -> Iterator[_Budget]:
    budget = _Budget(seconds)
    timer = None
    if seconds is not None:
        timer = threading.Timer(max(0.0, seconds), budget.expire)
        timer.daemon = True
        timer.start()
    try:
        yield budget
    finally:
        if timer is not None:
            timer.cancel()
