"""CTC line recognition: resize crops to the model height, batch them by width, greedy-decode."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import onnxruntime as ort

from .errors import ModelError
from .normalize import Normalizer
from .spacing import column_ink, spaces_after


@dataclass(frozen=True)
class RecognizedText:
    """The text of one crop and its confidence (mean probability of the kept characters; 0 if empty).

    ``spans`` is the CTC alignment: for each character of ``text``, the start and end of the frames that
    emitted it, as fractions of the crop's width (0 = left edge, 1 = right edge). ``scores`` holds each
    character's probability. A space restored from the line's geometry (:mod:`.spacing`) spans the stretch
    between its neighbours and scores as the weaker of them.
    """

    text: str
    confidence: float
    spans: tuple[tuple[float, float], ...] = ()
    scores: tuple[float, ...] = ()


@dataclass(frozen=True)
class BatchPolicy:
    """How crops are grouped into batches.

    Crops are sorted by width; a batch grows while the widest crop is at most ``max_ratio`` times the
    narrowest one, it holds at most ``max_batch`` crops and ``max_batch * padded width`` stays under
    ``max_columns`` (bounds the input tensor, and so memory, for any number of lines).
    """

    min_width: int = 160
    max_width: int = 3200
    max_ratio: float = 1.3
    max_batch: int = 4
    max_columns: int = 12_800


class Recognizer:
    """A CTC recognizer around one ONNX session; safe to call from several threads at once.

    With ``restore_spaces`` (the default) the spaces a line shows but the model did not emit are put back
    from the line's geometry (:mod:`.spacing`).
    """

    def __init__(
        self,
        session: ort.InferenceSession,
        charset: Sequence[str],
        *,
        height: int = 48,
        mean: Sequence[float] = (0.5, 0.5, 0.5),
        std: Sequence[float] = (0.5, 0.5, 0.5),
        policy: BatchPolicy | None = None,
        restore_spaces: bool = True,
    ) -> None:
        self._session = session
        self._restore_spaces = restore_spaces
        self._input = session.get_inputs()[0].name
        self._charset = list(charset)
        self._height = height
        self._normalize = Normalizer(mean, std)
        self._policy = policy or BatchPolicy()
        classes = session.get_outputs()[0].shape[-1]
        if isinstance(classes, int) and classes != len(self._charset):
            raise ModelError(
                f"character set has {len(self._charset)} classes (with blank and space) "
                f"but the recognizer outputs {classes}"
            )

    @property
    def height(self) -> int:
        """Input height of the model in pixels."""
        return self._height

    def target_width(self, crop: np.ndarray) -> int:
        """Width of *crop* once resized to the model height (aspect kept, clamped to the policy)."""
        h, w = crop.shape[:2]
        width = math.ceil(self._height * w / max(h, 1))
        return max(1, min(width, self._policy.max_width))

    def resize(self, crop: np.ndarray, width: int | None = None) -> np.ndarray:
        """Resize *crop* to the model height and *width* (default :meth:`target_width`), as it is read."""
        interp = cv2.INTER_AREA if crop.shape[0] > self._height else cv2.INTER_LINEAR
        return cv2.resize(crop, (width or self.target_width(crop), self._height), interpolation=interp)

    def batches(self, widths: Sequence[int]) -> list[list[int]]:
        """Group crop indices into batches of similar width (see :class:`BatchPolicy`)."""
        policy = self._policy
        order = sorted(range(len(widths)), key=lambda i: widths[i])
        groups: list[list[int]] = []
        current: list[int] = []
        for i in order:
            if current:
                first = max(widths[current[0]], policy.min_width)
                padded = max(widths[i], policy.min_width)
                fits = (
                    padded <= first * policy.max_ratio
                    and len(current) < policy.max_batch
                    and (len(current) + 1) * padded <= policy.max_columns
                )
                if not fits:
                    groups.append(current)
                    current = []
            current.append(i)
        if current:
            groups.append(current)
        return groups

    def recognize(
        self, crops: Sequence[np.ndarray], run_options: ort.RunOptions | None = None
    ) -> list[RecognizedText]:
        """Recognize each BGR uint8 crop (one text line, upright, horizontal); results keep input order."""
        results: list[RecognizedText] = [RecognizedText("", 0.0)] * len(crops)
        widths = [self.target_width(c) for c in crops]
        for group in self.batches(widths):
            batch, inks = self._prepare([crops[i] for i in group], [widths[i] for i in group])
            probs = self._session.run(None, {self._input: batch}, run_options)[0]
            content = [widths[i] / batch.shape[3] for i in group]
            decoded_rows = self.decode(probs, content, inks)
            for i, decoded in zip(group, decoded_rows, strict=True):
                results[i] = decoded
        return results

    def _prepare(
        self, crops: Sequence[np.ndarray], widths: Sequence[int]
    ) -> tuple[np.ndarray, list[np.ndarray] | None]:
        """Build the normalized, padded input batch, and each crop's ink per column if spaces are restored."""
        pad_to = max(max(widths), self._policy.min_width)
        pad_to = -(-pad_to // 8) * 8
        batch = np.zeros((len(crops), 3, self._height, pad_to), dtype=np.float32)
        inks: list[np.ndarray] | None = [] if self._restore_spaces else None
        for slot, (crop, width) in enumerate(zip(crops, widths, strict=True)):
            resized = self.resize(crop, width)
            self._normalize.into(resized, batch[slot, :, :, :width])
            if inks is not None:
                inks.append(column_ink(resized))
        return batch, inks

    def decode(
        self,
        probs: np.ndarray,
        content: Sequence[float] | None = None,
        inks: Sequence[np.ndarray] | None = None,
    ) -> list[RecognizedText]:
        """Greedy CTC decode of an ``N×T×C`` probability tensor.

        *content* is, per row, the share of the (padded) input width the crop's pixels fill; it scales
        the character spans to the crop (1.0 for each row when not given). With *inks* (per row, the
        crop's :func:`.spacing.column_ink` at the model height), spaces the page shows but the model did
        not emit are put back (:func:`.spacing.spaces_after`).
        """
        best = probs.argmax(axis=2)
        score = np.take_along_axis(probs, best[..., None], axis=2)[..., 0]
        frames = best.shape[1]
        out: list[RecognizedText] = []
        for row, (labels, scores) in enumerate(zip(best, score, strict=True)):
            # Runs of equal labels: each non-blank run is one character, emitted from its first frame.
            starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
            ends = np.r_[starts[1:], frames]
            chosen = labels[starts] != 0
            if not chosen.any():
                out.append(RecognizedText("", 0.0))
                continue
            starts, ends = starts[chosen], ends[chosen]
            chars = [self._charset[c] for c in labels[starts]]
            char_scores = scores[starts]
            conf = float(char_scores.mean())
            first = next((k for k, c in enumerate(chars) if c.strip()), len(chars))
            last = next((k for k in range(len(chars) - 1, -1, -1) if chars[k].strip()), -1)
            if first > last:
                out.append(RecognizedText("", 0.0))
                continue
            scale = 1.0 / (frames * (content[row] if content is not None else 1.0))
            spans = tuple(
                (min(1.0, float(a) * scale), min(1.0, float(b) * scale))
                for a, b in zip(starts[first : last + 1], ends[first : last + 1], strict=True)
            )
            kept = chars[first : last + 1]
            scores_kept = tuple(float(v) for v in char_scores[first : last + 1])
            if inks is not None:
                kept, spans, scores_kept = _with_spaces(kept, spans, scores_kept, inks[row])
            out.append(RecognizedText("".join(kept), conf, spans, scores_kept))
        return out


def _with_spaces(
    chars: list[str], spans: tuple[tuple[float, float], ...], scores: tuple[float, ...], ink: np.ndarray
) -> tuple[list[str], tuple[tuple[float, float], ...], tuple[float, ...]]:
    """Insert the spaces :func:`.spacing.spaces_after` finds, each spanning the gap between its neighbours."""
    width = len(ink)
    centers = [(a + b) / 2 * width for a, b in spans]
    after = set(spaces_after(chars, centers, ink))
    if not after:
        return chars, spans, scores
    out_chars: list[str] = []
    out_spans: list[tuple[float, float]] = []
    out_scores: list[float] = []
    for k, char in enumerate(chars):
        out_chars.append(char)
        out_spans.append(spans[k])
        out_scores.append(scores[k])
        if k in after:
            out_chars.append(" ")
            out_spans.append((spans[k][1], spans[k + 1][0]))
            out_scores.append(min(scores[k], scores[k + 1]))
    return out_chars, tuple(out_spans), tuple(out_scores)
