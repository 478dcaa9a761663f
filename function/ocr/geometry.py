"""Quadrilateral helpers shared by detection, cropping and reading order.

A quad is a float32 array of shape (4, 2): top-left, top-right, bottom-right, bottom-left in the text's
own frame. "Top" is defined so the order is right also for tilted and vertical text: the edge direction
closest to the image's x axis (pointing right) is the box's x axis, and its perpendicular pointing down
is the box's y axis.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: A box or crop at least this many times taller than wide is a vertical text column.
VERTICAL_RATIO = 1.5


def rect_to_quad(center: tuple[float, float], size: tuple[float, float], angle_deg: float) -> np.ndarray:
    """Turn an OpenCV rotated rect into an ordered quad (see module docstring)."""
    theta = np.deg2rad(angle_deg)
    a = np.array([np.cos(theta), np.sin(theta)], dtype=np.float64)  # along size[0]
    b = np.array([-np.sin(theta), np.cos(theta)], dtype=np.float64)  # along size[1]
    half_a, half_b = size[0] / 2.0, size[1] / 2.0
    # Pick as x axis the edge direction that is closer to horizontal; make it point right.
    if abs(a[0]) >= abs(b[0]):
        u, v, hu, hv = a, b, half_a, half_b
    else:
        u, v, hu, hv = b, a, half_b, half_a
    if u[0] < 0:
        u = -u
    # The perpendicular that points down (positive y); for an exactly vertical u pick the one to the left.
    v = np.array([-u[1], u[0]])
    if v[1] < 0 or (v[1] == 0 and v[0] > 0):
        v = -v
    c = np.asarray(center, dtype=np.float64)
    quad = np.stack([c - u * hu - v * hv, c + u * hu - v * hv, c + u * hu + v * hv, c - u * hu + v * hv])
    return quad.astype(np.float32)


def quad_size(quad: np.ndarray) -> tuple[float, float]:
    """Width (top edge, TL→TR) and height (left edge, TL→BL) of an ordered quad."""
    width = float(np.linalg.norm(quad[1] - quad[0]))
    height = float(np.linalg.norm(quad[3] - quad[0]))
    return width, height


def quad_angle(quad: np.ndarray) -> float:
    """Angle of the quad's top edge against the image x axis, in degrees (-45..45 for ordered quads)."""
    dx, dy = quad[1] - quad[0]
    return float(np.degrees(np.arctan2(dy, dx)))


def is_vertical(quad: np.ndarray) -> bool:
    """Tell whether the quad is a vertical text column (see :data:`VERTICAL_RATIO`)."""
    width, height = quad_size(quad)
    return height >= VERTICAL_RATIO * width


def to_page(points: Sequence[Sequence[float]], angle: int, width: int, height: int) -> list[list[int]]:
    """Map points on the upright page back onto the page as given (*width* × *height*, at *angle*).

    Point order is kept, so a box whose first point is its text's top-left still starts there.
    """
    out = []
    for x, y in points:
        if angle == 90:
            x, y = width - 1 - y, x
        elif angle == 180:
            x, y = width - 1 - x, height - 1 - y
        elif angle == 270:
            x, y = y, height - 1 - x
        out.append([round(float(x)), round(float(y))])
    return out
