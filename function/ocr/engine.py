"""The OCR pipeline: decode → detect → crop → orient → recognize → reading order."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np
import onnxruntime as ort

from .crop import crop_quad, crop_turns, turn_if_vertical
from .decode import DEFAULT_MAX_PIXELS
from .decoders import Decoder, InProcessDecoder
from .detect import Detector, DetectorParams
from .errors import TimeBudgetError, UnsupportedImageError
from .geometry import to_page
from .lines import TextLine, Word
from .models import ModelSet, load_charset
from .order import reading_order
from .orient import NOMINATE_THRESHOLD, OrientationClassifier
from .page_orient import PageOrientationClassifier, upright
from .recognize import BatchPolicy, RecognizedText, Recognizer
from .runtime import create_session
from .words import along, split_words


@dataclass(frozen=True)
class OcrOptions:
    """Per-call options. They never change the engine; each call gets its own.

    ``detect=False`` is single-line mode: the whole image is one text line and detection is skipped.
    ``orient_page=True`` finds whether the whole image is turned 0/90/180/270 degrees and reads it upright
    (boxes stay in the coordinates of the image as given); the result's ``angle`` says what was found. In
    single-line mode only 0 or 180 can be found (the line's own shape and flip check decide).
    ``words=True`` also cuts every line into words with boxes, from the recognizer's CTC alignment.
    Lines with a confidence under ``min_confidence`` or with no text are left out. ``time_budget`` (seconds)
    cuts the call off with :class:`TimeBudgetError` once it has run that long: a model run in progress
    is stopped through onnxruntime's terminate flag, and the check is repeated between stages.
    """

    detect: bool = True
    orient_page: bool = False
    words: bool = False
    min_confidence: float = 0.5
    time_budget: float | None = None


@dataclass
class OcrResult:
    """The lines of one image in reading order, the image size, and seconds spent per stage.

    ``angle`` is how far the content was turned clockwise (0, 90, 180 or 270) when the call asked for
    ``orient_page``, else ``None``: the page classifier's verdict, corrected by 180° when most lines
    still read upside down once the page was turned.
    """

    lines: list[TextLine]
    width: int
    height: int
    timings: dict[str, float] = field(default_factory=dict)
    angle: int | None = None


class OcrEngine:
    """Owns the ONNX sessions of one model set. Create one per process, after any fork; thread-safe.

    ``restore_spaces=False`` keeps the recognizer's text as the model emits it (no spaces put back from
    the line's geometry); the benchmarks use it to measure what restoring them does.
    """

    def __init__(
        self,
        models: ModelSet,
        *,
        threads: int,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        detector_params: DetectorParams | None = None,
        batch_policy: BatchPolicy | None = None,
        decoder: Decoder | None = None,
        restore_spaces: bool = True,
    ) -> None:
        self.models = models
        self.max_pixels = max_pixels
        #: Turns bytes into pixels and documents into pages (in-process unless given, e.g. a sandbox).
        self.decoder: Decoder = decoder or InProcessDecoder()
        det, rec, cls, page = models.detector, models.recognizer, models.classifier, models.page_classifier
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
            restore_spaces=restore_spaces,
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
        self.page_classifier = (
            None
            if page is None
            else PageOrientationClassifier(
                create_session(page.path, threads),
                size=page.size,
                resize=page.resize,
                mean=page.mean,
                std=page.std,
                angles=page.angles,
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
            try:
                pixels = self.decoder.decode(image, self.max_pixels, budget.remaining())
            except TimeoutError:
                budget.expire()
                budget.check()
                raise
        given_height, given_width = pixels.shape[:2]
        mark = _stage(timings, "decode", started)

        turned = 0
        # A single line (detect=False) is turned by its shape and read both ways up already; a page
        # classifier looking at the middle of a strip would only add a chance of turning it wrongly.
        if options.orient_page and options.detect and self.page_classifier is not None:
            budget.check()
            turned = budget.call(self.page_classifier.classify, pixels).angle
            pixels = upright(pixels, turned)
            mark = _stage(timings, "orient_page", mark)
        height, width = pixels.shape[:2]

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

        lines, page_flipped = self._assemble(quads, texts, flipped, width, height, options)
        if turned:
            lines = [_turn_line(ln, turned, given_width, given_height) for ln in lines]
        _stage(timings, "order", mark)
        timings["total"] = time.perf_counter() - started
        angle = (turned + 180 * page_flipped) % 360 if options.orient_page else None
        return OcrResult(lines, given_width, given_height, timings, angle)

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
    ) -> tuple[list[TextLine], bool]:
        """Build the kept lines in reading order; also tell whether most of them were read upside down."""
        keep = [i for i, t in enumerate(texts) if t.text and t.confidence >= options.min_confidence]
        # A line read upside down has its first character at its quad's bottom-right: rotate the point
        # order so TL is the text's own top-left.
        oriented = {i: (np.roll(quads[i], 2, axis=0) if flipped[i] else quads[i]) for i in keep}
        page_flipped = bool(keep) and int(flipped[keep].sum()) * 2 > len(keep)
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
            words = ()
            if options.words:
                # The quad in the crop's reading direction: a turned column starts at its top-right.
                along_text = np.roll(oriented[i], -1, axis=0) if crop_turns(quads[i]) else oriented[i]
                words = tuple(
                    Word(w.text, round(w.confidence, 4), along(along_text, w.start, w.end))
                    for w in split_words(texts[i].text, texts[i].spans, texts[i].scores)
                )
            confidence = round(texts[i].confidence, 4)
            lines.append(TextLine(text=texts[i].text, confidence=confidence, box=box, words=words))
        return lines, page_flipped


def _turn_line(line: TextLine, angle: int, width: int, height: int) -> TextLine:
    """Map a line (and its words) found on the upright page back onto the page as given."""
    words = tuple(replace(w, box=to_page(w.box, angle, width, height)) for w in line.words)
    return replace(line, box=to_page(line.box, angle, width, height), words=words)


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
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.run_options = ort.RunOptions() if seconds is not None else None
        self.expired = threading.Event()

    def expire(self) -> None:
        self.expired.set()
        if self.run_options is not None:
            self.run_options.terminate = True

    def remaining(self) -> float | None:
        """Seconds left (``None`` without a budget; 0 once it has run out)."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

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
