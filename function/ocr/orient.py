"""Upside-down text lines: a 0/180 classifier nominates, the recognizer confirms.

The classifier (PP-OCR's mobile text-line orientation model) is cheap but not always right, so a line it
flags as upside down is recognized both ways and the reading with the higher confidence wins. Lines the
classifier is sure are upright cost nothing extra.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import onnxruntime as ort

from .normalize import Normalizer

#: Lines whose 180° probability is above this are recognized both ways.
NOMINATE_THRESHOLD = 0.5


class OrientationClassifier:
    """0/180 classifier around one ONNX session (input 3×48×192, output [p0, p180])."""

    def __init__(
        self,
        session: ort.InferenceSession,
        *,
        height: int = 48,
        width: int = 192,
        mean: Sequence[float] = (0.5, 0.5, 0.5),
        std: Sequence[float] = (0.5, 0.5, 0.5),
        batch: int = 16,
    ) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        self._height, self._width, self._batch = height, width, batch
        self._normalize = Normalizer(mean, std)

    def upside_down_probability(
        self, crops: Sequence[np.ndarray], run_options: ort.RunOptions | None = None
    ) -> np.ndarray:
        """Probability that each horizontal BGR crop is upside down."""
        out = np.zeros(len(crops), dtype=np.float32)
        for start in range(0, len(crops), self._batch):
            part = crops[start : start + self._batch]
            blob = np.zeros((len(part), 3, self._height, self._width), dtype=np.float32)
            for slot, crop in enumerate(part):
                h, w = crop.shape[:2]
                width = min(self._width, max(1, round(self._height * w / max(h, 1))))
                resized = cv2.resize(crop, (width, self._height), interpolation=cv2.INTER_LINEAR)
                self._normalize.into(resized, blob[slot, :, :, :width])
            probs = self._session.run(None, {self._input: blob}, run_options)[0]
            out[start : start + len(part)] = probs[:, 1]
        return out
