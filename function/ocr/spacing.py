"""Spaces restored from the geometry of a recognized line.

The recognizer often runs a Latin or digit run straight into the Chinese beside it (``日期2024-08-15``), and
two digit runs into each other (``08-1512:36``), though the page shows a space. This module puts back one
space where the line shows one, from two measurements in columns of the model's input (the crop resized
to the model height):

* the **empty gap**: the longest run of ink-free columns between the positions of two neighbouring
  characters (the recognizer's CTC frames say where each character sits; the crop's ink where it ends);
* the **advance**: the distance between the middles of their ink.

Each is compared with the line's own typography: the median gap and advance between its narrow characters
(Latin, digits) and, next to CJK, the median gap between its CJK characters and their pitch. A narrow pair
gets a space when its gap exceeds the line's letter spacing by ``NARROW_GAP`` of the narrow pitch *and*
its advance exceeds the pitch by ``NARROW_ADVANCE`` (``THIN_ADVANCE`` beside a glyph of little ink such as
``1`` or ``.``, whose wide side bearings open a gap in any tabular font); a CJK/narrow pair when its gap
exceeds the line's usual one by ``MIXED_GAP`` of the CJK pitch. ``benchmarks/spacing.py`` measures both on
rendered receipts, waybills and forms in eight faces; the thresholds sit where the distributions for
pairs with and without a space part (BENCHMARKS.md, "Spaces").

Never: between two CJK characters (Chinese set with letter-spacing stays one word), next to a space the
model already emitted, after an opening bracket or currency sign, before closing punctuation, next to
full-width punctuation or symbols (they carry their own space), before a bracket that follows CJK or after
punctuation that follows CJK (full width in effect: the recognizer reads ``（`` and ``：`` as ASCII), or
inside a number (``3.14``, ``1,000``, ``12:30``).
"""

from __future__ import annotations

import bisect
import statistics
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

#: A narrow pair's empty gap must exceed the line's median narrow gap by this share of its narrow pitch.
NARROW_GAP = 0.3
#: ... and its advance the line's median narrow advance by this share of it.
NARROW_ADVANCE = 0.15
#: ... or, next to a glyph of little ink (``1``, ``l``, ``I``, ``.``, ...: wide side bearings), this share.
THIN_ADVANCE = 0.4
#: A CJK/narrow pair's gap must exceed the line's usual one by this share of the CJK pitch.
MIXED_GAP = 0.14
#: A narrow character's pitch relative to a CJK one when the line has only one kind to measure.
NARROW_PITCH = 0.55

_OPENING = frozenset("([{<¥$£€#@\"'‘“")
_CLOSING = frozenset(")]}>.,:;!?%'\"’”°")
_NUMBER_SEPARATORS = frozenset(".,:")
_THIN = frozenset("1Iijlt!|.,:;'`-")


def is_wide(char: str) -> bool:
    """Whether *char* is set full width (CJK characters and full-width forms)."""
    return len(char) == 1 and unicodedata.east_asian_width(char) in "WF"


def column_ink(line: np.ndarray) -> np.ndarray:
    """Ink pixels per column of a BGR or grey uint8 line image (Otsu threshold; the minority is ink)."""
    grey = line if line.ndim == 2 else cv2.cvtColor(line, cv2.COLOR_BGR2GRAY)
    _, binary = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if binary.mean() > 0.5:
        binary = 1 - binary
    return binary.sum(axis=0).astype(np.int32)


@dataclass(frozen=True)
class PairGap:
    """Two neighbouring characters (``index`` and ``index + 1``) and what lies between their centres."""

    index: int
    gap: float
    advance: float
    kind: str  # "wide", "narrow" or "mixed"


@dataclass(frozen=True)
class LineGaps:
    """The pairs of one line and its typography: median narrow gap and advance, CJK gap and pitch."""

    pairs: tuple[PairGap, ...]
    narrow_gap: float
    narrow_pitch: float
    wide_gap: float
    wide_pitch: float


def measure(chars: Sequence[str], centers: Sequence[float], ink: np.ndarray) -> LineGaps | None:
    """Measure every pair of neighbouring non-blank characters; ``None`` when the line gives no scale.

    *centers* are the characters' positions (from the recognizer's frames) in columns of *ink* (the
    line's :func:`column_ink`); each is refined to the middle of the ink around it (:func:`ink_centers`).
    """
    gaps = _EmptyRuns(ink)
    middles = ink_centers(centers, ink)
    pairs: list[PairGap] = []
    for k in range(len(chars) - 1):
        a, b = chars[k], chars[k + 1]
        if not a.strip() or not b.strip():
            continue
        lo, hi = max(int(centers[k]), 0), max(int(centers[k + 1]), 0)
        wide_a, wide_b = is_wide(a), is_wide(b)
        kind = "wide" if wide_a and wide_b else "mixed" if wide_a or wide_b else "narrow"
        pairs.append(PairGap(k, float(gaps.longest(lo, hi)), middles[k + 1] - middles[k], kind))
    wide = [p for p in pairs if p.kind == "wide"]
    narrow = [p for p in pairs if p.kind == "narrow"]
    if not wide and len(narrow) < 2:
        return None
    wide_pitch = statistics.median(p.advance for p in wide) if wide else 0.0
    if len(narrow) >= 2:
        narrow_pitch = statistics.median(p.advance for p in narrow)
    else:
        narrow_pitch = NARROW_PITCH * wide_pitch
    if not wide:
        wide_pitch = narrow_pitch / NARROW_PITCH
    if narrow_pitch <= 0 or wide_pitch <= 0:
        return None
    narrow_gap = statistics.median(p.gap for p in narrow) if len(narrow) >= 2 else 0.0
    wide_gap = statistics.median(p.gap for p in wide) if wide else narrow_gap
    return LineGaps(tuple(pairs), narrow_gap, narrow_pitch, wide_gap, wide_pitch)


def ink_centers(centers: Sequence[float], ink: np.ndarray) -> list[float]:
    """Move each character's position to the middle of the ink in its cell.

    A character's cell reaches halfway to its neighbours' positions (the frame positions are 8 columns
    coarse; the ink is exact to a column). A cell without ink keeps its position.
    """
    inked = np.flatnonzero(ink > 0)
    out = []
    n = len(centers)
    for k, center in enumerate(centers):
        left = (centers[k - 1] + center) / 2 if k > 0 else 0.0
        right = (center + centers[k + 1]) / 2 if k + 1 < n else float(len(ink))
        lo, hi = max(int(np.ceil(left)), 0), min(int(right), len(ink) - 1)
        first, last = bisect.bisect_left(inked, lo), bisect.bisect_right(inked, hi) - 1
        out.append((int(inked[first]) + int(inked[last])) / 2 if first <= last else float(center))
    return out


def spaces_after(chars: Sequence[str], centers: Sequence[float], ink: np.ndarray) -> list[int]:
    """Return the indices of the characters of a recognized line that a space should follow."""
    line = measure(chars, centers, ink)
    if line is None:
        return []
    out = []
    for pair in line.pairs:
        k = pair.index
        if pair.kind == "wide" or not may_space(chars, k):
            continue
        if pair.kind == "narrow":
            thin = chars[k] in _THIN or chars[k + 1] in _THIN
            advance = (THIN_ADVANCE if thin else NARROW_ADVANCE) * line.narrow_pitch
            wider = pair.gap - line.narrow_gap >= NARROW_GAP * line.narrow_pitch
            if wider and pair.advance - line.narrow_pitch >= advance:
                out.append(k)
        elif pair.gap - (line.wide_gap + line.narrow_gap) / 2 >= MIXED_GAP * line.wide_pitch:
            out.append(k)
    return out


def may_space(chars: Sequence[str], k: int) -> bool:
    """Return whether typography allows a space between ``chars[k]`` and ``chars[k + 1]`` at all."""
    a, b = chars[k], chars[k + 1]
    if a in _OPENING or b in _CLOSING:
        return False
    for char in (a, b):
        # Full-width punctuation and symbols carry their own space.
        if is_wide(char) and unicodedata.category(char).startswith(("P", "S")):
            return False
    if is_wide(a) and unicodedata.category(b).startswith("P"):
        return False  # an ASCII bracket after CJK: the recognizer's reading of a full-width one
    before = chars[k - 1] if k > 0 else ""
    if a in _NUMBER_SEPARATORS and before.isdigit() and b.isdigit():
        return False
    # Punctuation after CJK is full width in effect, whatever follows it.
    return not (unicodedata.category(a).startswith("P") and is_wide(before))


class _EmptyRuns:
    """The runs of ink-free columns of a line, for the longest one within any span of columns."""

    def __init__(self, ink: np.ndarray) -> None:
        edges = np.flatnonzero(np.diff(np.r_[False, ink <= 0, False].astype(np.int8)))
        self._starts = edges[::2].tolist()
        self._ends = edges[1::2].tolist()  # exclusive

    def longest(self, lo: int, hi: int) -> int:
        """Length of the longest ink-free run inside columns *lo* to *hi* (inclusive)."""
        best = 0
        k = bisect.bisect_right(self._ends, lo)
        while k < len(self._starts) and self._starts[k] <= hi:
            best = max(best, min(self._ends[k], hi + 1) - max(self._starts[k], lo))
            k += 1
        return best
