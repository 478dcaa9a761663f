"""Reading order: visual lines top to bottom, left to right within a line, columns kept whole.

The boxes are first de-skewed by the page's median text angle. The block of boxes is then cut
recursively, in the spirit of an XY-cut:

* **columns**: a vertical gutter that no box crosses splits the block when both sides look like text
  columns: each at least ``MIN_COLUMN_SHARE`` of the block's width with two or more boxes, and the right
  side left-aligned (text columns start at a common margin). Right-aligned or narrow values (prices on a
  receipt, values in a settings list or form) are not a column, so such rows stay together;
* **bands**: otherwise the block is cut at horizontal gaps into rows, and consecutive rows that share a
  gutter are merged into a band, which is ordered recursively (a title above a two-column body gives a
  title band and a body band, and the body then splits into columns);
* **lines**: what is left is grouped into visual lines by vertical overlap and sorted left to right.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .geometry import is_vertical, quad_angle, quad_size

MIN_COLUMN_SHARE = 0.25
ALIGNED_SHARE = 2 / 3
SAME_LINE_OVERLAP = 0.5


def reading_order(quads: Sequence[np.ndarray]) -> list[int]:
    """Return the indices of *quads* in reading order.

    When most boxes are vertical text columns, the page is read the traditional way: columns right to
    left, each top to bottom (the page is turned 90° counter-clockwise and read as horizontal text).
    """
    if not quads:
        return []
    vertical = sum(1 for q in quads if is_vertical(q))
    if vertical * 2 > len(quads):
        quads = [np.stack([q[:, 1], -q[:, 0]], axis=1) for q in quads]
    boxes = _deskewed_extents(quads)
    return _order_block(boxes, list(range(len(quads))))


def _deskewed_extents(quads: Sequence[np.ndarray]) -> np.ndarray:
    """Axis-aligned extents (x0, y0, x1, y1) of each quad after rotating the page by its median text angle."""
    angles = [quad_angle(q) for q in quads if quad_size(q)[0] >= quad_size(q)[1]]
    theta = -np.deg2rad(float(np.median(angles))) if angles else 0.0
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    out = np.empty((len(quads), 4))
    for i, q in enumerate(quads):
        pts = q.astype(np.float64) @ rot.T
        out[i] = (*pts.min(axis=0), *pts.max(axis=0))
    return out


def _order_block(boxes: np.ndarray, items: list[int]) -> list[int]:
    if len(items) <= 1:
        return items
    columns = _split_columns(boxes, items)
    if columns is not None:
        return [i for col in columns for i in _order_block(boxes, col)]
    rows = _split_rows(boxes, items)
    if len(rows) == 1:
        return _line_order(boxes, items)
    bands = _merge_rows_sharing_gutter(boxes, rows)
    if len(bands) == 1:
        return _line_order(boxes, items)
    return [i for band in bands for i in _order_block(boxes, band)]


def _gaps(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Empty stretches between the union of *intervals* (sorted, exclusive of the outer ends)."""
    intervals = sorted(intervals)
    gaps = []
    reach = intervals[0][1]
    for start, end in intervals[1:]:
        if start > reach:
            gaps.append((reach, start))
        reach = max(reach, end)
    return gaps


def _split_columns(boxes: np.ndarray, items: list[int]) -> list[list[int]] | None:
    x0, x1 = boxes[items, 0].min(), boxes[items, 2].max()
    width = x1 - x0
    best: tuple[float, float] | None = None
    for gap in _gaps([(boxes[i, 0], boxes[i, 2]) for i in items]):
        cut = (gap[0] + gap[1]) / 2
        left = [i for i in items if boxes[i, 2] <= cut]
        right = [i for i in items if boxes[i, 0] >= cut]
        left_w = max(boxes[i, 2] for i in left) - x0
        right_w = x1 - min(boxes[i, 0] for i in right)
        ok = (
            len(left) >= 2
            and len(right) >= 2
            and left_w >= MIN_COLUMN_SHARE * width
            and right_w >= MIN_COLUMN_SHARE * width
            and _left_aligned(boxes, right)
        )
        if ok and (best is None or gap[1] - gap[0] > best[1] - best[0]):
            best = gap
    if best is None:
        return None
    cut = (best[0] + best[1]) / 2
    return [[i for i in items if boxes[i, 2] <= cut], [i for i in items if boxes[i, 0] >= cut]]


def _left_aligned(boxes: np.ndarray, items: list[int]) -> bool:
    """Whether most boxes start within one text height of the leftmost one."""
    margin = boxes[items, 0].min()
    tolerance = float(np.median(boxes[items, 3] - boxes[items, 1]))
    aligned = np.count_nonzero(boxes[items, 0] - margin <= tolerance)
    return aligned >= ALIGNED_SHARE * len(items)


def _split_rows(boxes: np.ndarray, items: list[int]) -> list[list[int]]:
    """Cut *items* at horizontal gaps; rows come out top to bottom."""
    cuts = [(a + b) / 2 for a, b in _gaps([(boxes[i, 1], boxes[i, 3]) for i in items])]
    rows: list[list[int]] = [[] for _ in range(len(cuts) + 1)]
    for i in items:
        centre = (boxes[i, 1] + boxes[i, 3]) / 2
        rows[int(np.searchsorted(cuts, centre))].append(i)
    return [r for r in rows if r]


def _free_spans(boxes: np.ndarray, row: list[int], x0: float, x1: float) -> list[tuple[float, float]]:
    """Stretches of [x0, x1] that no box of *row* covers."""
    spans = []
    reach = x0
    for start, end in sorted((boxes[i, 0], boxes[i, 2]) for i in row):
        if start > reach:
            spans.append((reach, start))
        reach = max(reach, end)
    if reach < x1:
        spans.append((reach, x1))
    return spans


def _intersect(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out = []
    for s0, e0 in a:
        for s1, e1 in b:
            lo, hi = max(s0, s1), min(e0, e1)
            if hi > lo:
                out.append((lo, hi))
    return out


def _merge_rows_sharing_gutter(boxes: np.ndarray, rows: list[list[int]]) -> list[list[int]]:
    """Merge consecutive rows that keep a common internal vertical gutter into bands."""
    items = [i for r in rows for i in r]
    x0, x1 = boxes[items, 0].min(), boxes[items, 2].max()
    heights = boxes[items, 3] - boxes[items, 1]
    min_gutter = 0.5 * float(np.median(heights))

    def internal(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(s, e) for s, e in spans if s > x0 and e < x1 and e - s >= min_gutter]

    bands: list[list[int]] = []
    shared: list[tuple[float, float]] = []
    for row in rows:
        spans = _free_spans(boxes, row, x0, x1)
        if bands:
            common = internal(_intersect(shared, spans))
            if common and internal(shared):
                bands[-1].extend(row)
                shared = common
                continue
        bands.append(list(row))
        shared = spans
    return bands


def _line_order(boxes: np.ndarray, items: list[int]) -> list[int]:
    """Group into visual lines by vertical overlap (top to bottom), then left to right in each line."""
    by_centre = sorted(items, key=lambda i: (boxes[i, 1] + boxes[i, 3]) / 2)
    lines: list[list[int]] = []
    top = bottom = 0.0
    for i in by_centre:
        y0, y1 = boxes[i, 1], boxes[i, 3]
        if lines:
            overlap = min(bottom, y1) - max(top, y0)
            if overlap >= SAME_LINE_OVERLAP * min(bottom - top, y1 - y0):
                lines[-1].append(i)
                top, bottom = min(top, y0), max(bottom, y1)
                continue
        lines.append([i])
        top, bottom = y0, y1
    return [i for line in lines for i in sorted(line, key=lambda j: boxes[j, 0])]
