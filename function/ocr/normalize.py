"""Pixel normalisation shared by every model input: ``(x / 255 - mean) / std`` per channel."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class Normalizer:
    """Maps uint8 H×W×3 pixels to float32 model input with one multiply-add per value."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        std_arr = np.asarray(std, dtype=np.float32)
        self._scale = (1.0 / (255.0 * std_arr)).reshape(1, 1, 3)
        self._bias = (-np.asarray(mean, dtype=np.float32) / std_arr).reshape(1, 1, 3)

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        """Return the normalised float32 copy of *pixels* (channels last)."""
        return pixels * self._scale + self._bias
