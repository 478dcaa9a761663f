"""Word boxes from the recognizer's CTC alignment.

The recognizer says where along a line each character was emitted (frame spans, as fractions of the
line's length). A line is cut into words at spaces, and every CJK ideograph is a word of its own (as
OCR engines and PDF text layers treat them, so a reader can select single characters). Each character
owns the stretch of line between the midpoints to its neighbours; a word is the union of its characters'
stretches, mapped onto the line's quad.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WordSpan:
    """A word: its text, confidence (mean of its characters) and extent along the line (fractions 0–1)."""

    text: str
    confidence: float
    start: float
    end: float


def is_ideograph(char: str) -> bool:
    """Whether *char* is a CJK ideograph (or a kana/hangul syllable): written without spaces between words."""
    if len(char) != 1:
        return False
    name = unicodedata.name(char, "")
    return name.startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH", "HIRAGANA", "KATAKANA"))


def split_words(text: str, spans: Sequence[tuple[float, float]], scores: Sequence[float]) -> list[WordSpan]:
    """Cut one recognized line into words with their extents along the line.

    *spans* and *scores* are per character of *text* (see ``RecognizedText``). Without an alignment
    (e.g. an empty one) the whole line is one word spanning the line.
    """
    if len(spans) != len(text) or not text:
        stripped = text.strip()
        mean = float(np.mean(scores)) if len(scores) else 0.0
        return [WordSpan(stripped, mean, 0.0, 1.0)] if stripped else []
    cells = _cells(spans)
    return [
        WordSpan(
            "".join(text[k] for k in group),
            float(np.mean([scores[k] for k in group])),
            cells[group[0]][0],
            cells[group[-1]][1],
        )
        for group in word_groups(text)
    ]


def word_groups(chars: Sequence[str]) -> list[list[int]]:
    """Group character indices into words: split at blanks, and every ideograph is a word of its own."""
    groups: list[list[int]] = []
    current: list[int] = []
    for k, char in enumerate(chars):
        if not char.strip() or is_ideograph(char):
            if current:
                groups.append(current)
                current = []
            if char.strip():
                groups.append([k])
        else:
            current.append(k)
    if current:
        groups.append(current)
    return groups


def _cells(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Give each character the stretch between the midpoints to its neighbours' emitted frames.

    The first and last characters reach half a typical character pitch beyond their frames (the
    recognizer emits a character inside its glyph, not at its edge), within the line.
    """
    starts = [s for s, _ in spans]
    ends = [e for _, e in spans]
    pitch = float(np.median(np.diff(starts))) if len(starts) > 1 else (ends[0] - starts[0]) * 2
    bounds = [max(0.0, starts[0] - pitch / 2)]
    bounds += [(ends[k] + starts[k + 1]) / 2 for k in range(len(spans) - 1)]
    bounds.append(min(1.0, ends[-1] + pitch / 2))
    return [(bounds[k], bounds[k + 1]) for k in range(len(spans))]


def along(quad: np.ndarray, start: float, end: float) -> list[list[int]]:
    """Cut the piece of a text-ordered quad (TL, TR, BR, BL) between fractions *start* and *end*."""
    tl, tr, br, bl = (np.asarray(p, dtype=np.float64) for p in quad)
    top = [tl + (tr - tl) * start, tl + (tr - tl) * end]
    bottom = [bl + (br - bl) * end, bl + (br - bl) * start]
    return [[round(float(x)), round(float(y))] for x, y in (*top, *bottom)]
