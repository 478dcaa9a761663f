"""Cut text lines out of an image: perspective crop of a quad, vertical text turned horizontal."""

from __future__ import annotations

import cv2
import numpy as np

from .geometry import VERTICAL_RATIO


def crop_quad(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Warp the region under an ordered quad to an upright rectangle; vertical columns are turned 90°.

    A vertical column is rotated counter-clockwise, so its first character ends up at the left, which is
    how the recognizer reads vertical text.
    """
    tl, tr, br, bl = quad.astype(np.float32)
    w, h = _warp_size(quad)
    target = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(np.stack([tl, tr, br, bl]), target)
    crop = cv2.warpPerspective(image, matrix, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return turn_if_vertical(crop)


def _warp_size(quad: np.ndarray) -> tuple[int, int]:
    tl, tr, br, bl = quad.astype(np.float32)
    width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    return max(1, round(width)), max(1, round(height))


def crop_turns(quad: np.ndarray) -> bool:
    """Whether :func:`crop_quad` turns this quad's crop 90° (it is a vertical text column)."""
    w, h = _warp_size(quad)
    return h >= VERTICAL_RATIO * w


def turn_if_vertical(crop: np.ndarray) -> np.ndarray:
    """Rotate a crop 90° counter-clockwise when it is a vertical text column."""
    h, w = crop.shape[:2]
    if h >= VERTICAL_RATIO * w:
        return np.ascontiguousarray(np.rot90(crop))
    return crop
