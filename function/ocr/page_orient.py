"""Whole-page orientation: which of 0/90/180/270 degrees a page is turned, and how to undo it.

A page "at 90" has its content turned 90° clockwise (its text runs top to bottom). The classifier (RapidAI's
page orientation model, a small CNN on a 224×224 centre crop) names the angle; :func:`upright` turns the
pixels back (:func:`~.geometry.to_page` maps points found on the upright page back onto the page as given).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import onnxruntime as ort

from .normalize import Normalizer

ANGLES = (0, 90, 180, 270)

#: cv2 rotation that makes a page at the given angle upright (content turned back counter-clockwise).
_UNDO = {
    90: cv2.ROTATE_90_COUNTERCLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_CLOCKWISE,
}


@dataclass(frozen=True)
class PageAngle:
    """The classifier's verdict: the page's angle (clockwise degrees) and its probability."""

    angle: int
    confidence: float


class PageOrientationClassifier:
    """0/90/180/270 page classifier around one ONNX session (input N×3×S×S, output N×4 probabilities).

    ``angles`` names the outputs in order (the model's ``character`` metadata).

    The page is resized so its short side is ``resize`` pixels, centre-cropped to ``size``, normalised
    with ``mean``/``std`` (BGR as is). A non-zero angle below ``min_confidence`` is reported as 0: turning
    a page the wrong way costs far more than leaving a doubtful one as it is (the recognizer reads
    upside-down lines anyway).
    """

    def __init__(
        self,
        session: ort.InferenceSession,
        *,
        size: int = 224,
        resize: int = 256,
        mean: Sequence[float] = (0.485, 0.456, 0.406),
        std: Sequence[float] = (0.229, 0.224, 0.225),
        angles: Sequence[int] = ANGLES,
        min_confidence: float = 0.5,
    ) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        self._size, self._resize = size, resize
        self._normalize = Normalizer(mean, std)
        self._angles = tuple(angles)
        self.min_confidence = min_confidence

    def classify(self, pixels: np.ndarray, run_options: ort.RunOptions | None = None) -> PageAngle:
        """Angle of a BGR uint8 page (0, 90, 180 or 270 degrees clockwise) and its probability."""
        blob = np.empty((1, 3, self._size, self._size), dtype=np.float32)
        self._normalize.into(self._centre_crop(pixels), blob[0])
        probs = self._session.run(None, {self._input: blob}, run_options)[0][0]
        best = int(np.argmax(probs))
        angle, confidence = self._angles[best], float(probs[best])
        if angle != 0 and confidence < self.min_confidence:
            return PageAngle(0, float(probs[self._angles.index(0)]))
        return PageAngle(angle, confidence)

    def _centre_crop(self, pixels: np.ndarray) -> np.ndarray:
        """Cut the centre square the model sees and resize only that (bounded for any aspect ratio).

        Same as resizing the short side to ``resize`` and cropping ``size`` from the middle, but the
        square is cut first: a 40000×1 image would otherwise be scaled to 10 million pixels wide.
        """
        height, width = pixels.shape[:2]
        side = max(1, round(min(height, width) * self._size / self._resize))
        top, left = (height - side) // 2, (width - side) // 2
        square = pixels[top : top + side, left : left + side]
        # Area averaging keeps thin strokes of a large scan visible after the strong reduction.
        interp = cv2.INTER_AREA if side > self._size else cv2.INTER_LANCZOS4
        return cv2.resize(square, (self._size, self._size), interpolation=interp)


def upright(pixels: np.ndarray, angle: int) -> np.ndarray:
    """Turn a page at *angle* (clockwise degrees) back upright; angle 0 returns the pixels as they are."""
    if angle == 0:
        return pixels
    return cv2.rotate(pixels, _UNDO[angle])
