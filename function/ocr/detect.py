"""DB (differentiable binarization) text detection: resize, run, and turn the probability map into quads."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import onnxruntime as ort

from .geometry import rect_to_quad
from .normalize import Normalizer


@dataclass(frozen=True)
class DetectorParams:
    """Resize policy and post-processing thresholds.

    Resize: the image is scaled so that it has at most ``max_area`` pixels and its long side at most
    ``max_side``; it is upscaled only when its short side is under ``min_side`` (tiny images), never to a
    fixed size. The aspect ratio is kept and the input padded to multiples of 32.
    Post-processing: ``thresh`` binarizes the probability map, ``box_thresh`` is the minimum mean
    probability inside a box, ``unclip_ratio`` grows the shrunk text kernel back to the text's extent
    (offset = area * ratio / perimeter), boxes whose short side is under ``min_box`` pixels (in the
    original image) are dropped, and at most ``max_candidates`` contours (the largest) are examined.
    """

    max_area: int = 600_000
    max_side: int = 4096
    min_side: int = 32
    thresh: float = 0.3
    box_thresh: float = 0.5
    unclip_ratio: float = 1.6
    min_box: float = 3.0
    max_candidates: int = 1000


@dataclass(frozen=True)
class Detection:
    """One text region: an ordered quad in original image coordinates and its mean probability."""

    quad: np.ndarray
    score: float


class Detector:
    """A DB detector around one ONNX session; safe to call from several threads at once."""

    def __init__(
        self,
        session: ort.InferenceSession,
        *,
        mean: Sequence[float],
        std: Sequence[float],
        params: DetectorParams | None = None,
    ) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        self._normalize = Normalizer(mean, std)
        self.params = params or DetectorParams()

    def scaled_size(self, height: int, width: int) -> tuple[int, int]:
        """Return the (height, width) the image is resized to before padding to multiples of 32."""
        p = self.params
        scale = min(1.0, math.sqrt(p.max_area / (height * width)), p.max_side / max(height, width))
        if min(height, width) * scale < p.min_side:
            scale = min(p.min_side / min(height, width), p.max_side / max(height, width))
        return max(1, round(height * scale)), max(1, round(width * scale))

    def probability_map(
        self, image: np.ndarray, run_options: ort.RunOptions | None = None
    ) -> tuple[np.ndarray, float, float]:
        """Run the model on a BGR uint8 image.

        Returns the probability map cropped to the resized image (padding removed) and the x and y
        factors that map its coordinates back to the original image.
        """
        h, w = self.scaled_size(*image.shape[:2])
        interp = cv2.INTER_AREA if h < image.shape[0] else cv2.INTER_LINEAR
        resized = cv2.resize(image, (w, h), interpolation=interp)
        ph, pw = -(-h // 32) * 32, -(-w // 32) * 32
        blob = np.zeros((1, 3, ph, pw), dtype=np.float32)
        self._normalize.into(resized, blob[0, :, :h, :w])
        out = self._session.run(None, {self._input: blob}, run_options)[0]
        return out[0, 0, :h, :w], image.shape[1] / w, image.shape[0] / h

    def detect(self, image: np.ndarray, run_options: ort.RunOptions | None = None) -> list[Detection]:
        """Find text regions in a BGR uint8 image (unordered); *run_options* can cut the model run short."""
        prob, sx, sy = self.probability_map(image, run_options)
        return self.boxes_from_map(prob, sx, sy, image.shape[0], image.shape[1])

    def boxes_from_map(
        self, prob: np.ndarray, sx: float, sy: float, height: int, width: int
    ) -> list[Detection]:
        """Post-process a probability map into quads in the coordinates of a ``height×width`` image.

        ``sx`` and ``sy`` map map coordinates to image coordinates.
        """
        p = self.params
        bitmap = (prob > p.thresh).astype(np.uint8)
        bitmap = cv2.dilate(bitmap, np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        if len(contours) > p.max_candidates:
            areas = np.array([cv2.contourArea(c) for c in contours])
            keep = np.argsort(-areas, kind="stable")[: p.max_candidates]
            contours = [contours[i] for i in keep]
        min_box_map = p.min_box / max(sx, sy)
        found: list[Detection] = []
        for contour in contours:
            if len(contour) < 3:
                continue
            (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
            if min(rw, rh) < min_box_map:
                continue
            score = _mean_inside(prob, contour)
            if score < p.box_thresh:
                continue
            grow = rw * rh * p.unclip_ratio / (2.0 * (rw + rh))
            rw, rh = rw + 2 * grow, rh + 2 * grow
            if min(rw, rh) < min_box_map + 2:
                continue
            quad = rect_to_quad((cx, cy), (rw, rh), angle)
            quad[:, 0] = np.clip(quad[:, 0] * sx, 0, width - 1)
            quad[:, 1] = np.clip(quad[:, 1] * sy, 0, height - 1)
            found.append(Detection(quad, score))
        return found


def _mean_inside(prob: np.ndarray, contour: np.ndarray) -> float:
    """Mean probability inside *contour* (evaluated on its bounding box only, so it stays cheap)."""
    x, y, w, h = cv2.boundingRect(contour)
    mask = np.zeros((h, w), dtype=np.uint8)
    cv2.fillPoly(mask, [contour.reshape(-1, 2) - (x, y)], 1)
    region = prob[y : y + h, x : x + w]
    return float(cv2.mean(region, mask)[0]) if mask.any() else 0.0
