"""What OCR produces per line: the recognized text, its confidence, its box and (when asked) its words.

Plain data with no model code, so the decoding side of the library (text layers read in the decoder
process) can build them too.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Word:
    """One word of a line: its text, confidence (0–1) and quad (TL, TR, BR, BL in the text's own frame)."""

    text: str
    confidence: float
    box: list[list[int]]


@dataclass(frozen=True)
class TextLine:
    """One recognized line: its text, confidence (0–1) and quad (TL, TR, BR, BL) in image pixels.

    ``words`` is filled only when the call asked for them (``OcrOptions.words``).
    """

    text: str
    confidence: float
    box: list[list[int]]
    words: tuple[Word, ...] = ()
