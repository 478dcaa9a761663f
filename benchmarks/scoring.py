"""Scoring for the real-image evaluation set (``../shared/eval/real``).

Implements the rules of the evaluation README exactly, so that figures are comparable across engines:

* normalisation: Unicode NFKC, em/en dashes to ``-``, curly quotes to straight quotes, lower-case for
  ``case_insensitive`` cases; ``zh``/``mixed`` drop all whitespace, ``en`` collapses whitespace runs to a
  single space (and strips);
* line metrics: CER (sum of Levenshtein distances / sum of truth lengths) overall and per language,
  exact-match rate, CER with all whitespace removed;
* page metrics: line recall (substring test against all output lines joined) and, on pages whose truth is
  ``full``, the multiset character F1.

Pure functions only: nothing here imports an OCR engine.
"""

from __future__ import annotations

import json
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LANGS: tuple[str, ...] = ("zh", "mixed", "en")

# Characters mapped after NFKC. NFKC leaves these untouched, so they need an explicit table.
_CHAR_MAP: dict[int, str] = {
    0x2014: "-",  # em dash
    0x2013: "-",  # en dash
    0x2018: "'",  # left single quotation mark
    0x2019: "'",  # right single quotation mark
    0x201A: "'",  # single low-9 quotation mark
    0x201B: "'",  # single high-reversed-9 quotation mark
    0x201C: '"',  # left double quotation mark
    0x201D: '"',  # right double quotation mark
    0x201E: '"',  # double low-9 quotation mark
    0x201F: '"',  # double high-reversed-9 quotation mark
}


# --------------------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------------------
def normalize(text: str, lang: str, case_insensitive: bool = False) -> str:
    """Normalise ``text`` for comparison under the rules for ``lang`` (``zh``, ``mixed`` or ``en``).

    ``zh`` and ``mixed`` text loses all whitespace; ``en`` text keeps single spaces between words.
    """
    if lang not in LANGS:
        raise ValueError(f"unknown lang {lang!r}; expected one of {LANGS}")
    out = unicodedata.normalize("NFKC", text).translate(_CHAR_MAP)
    if case_insensitive:
        out = out.lower()
    if lang == "en":
        return " ".join(out.split())
    return strip_whitespace(out)


def strip_whitespace(text: str) -> str:
    """Remove every whitespace character (Unicode definition, as :meth:`str.split` uses)."""
    return "".join(text.split())


# --------------------------------------------------------------------------------------------------------
# Edit distance
# --------------------------------------------------------------------------------------------------------
def levenshtein(a: str, b: str) -> int:
    """Return the Levenshtein distance (unit-cost insert, delete, substitute) between ``a`` and ``b``."""
    if a == b:
        return 0
    # Common prefix and suffix do not change the distance; trimming them keeps the DP small.
    start = 0
    limit = min(len(a), len(b))
    while start < limit and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    a, b = a[start:end_a], b[start:end_b]
    if len(a) < len(b):
        a, b = b, a  # the shorter string indexes the DP row
    if not b:
        return len(a)
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost))
        previous = current
    return previous[-1]


# --------------------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One entry of an evaluation manifest, with its image path resolved against the data directory."""

    id: str
    kind: str
    lang: str
    path: Path
    expected_text: str | None = None
    expected_lines: tuple[str, ...] = ()
    truth_completeness: str | None = None
    case_insensitive: bool = False
    vertical: bool = False
    rotation: int = 0
    exif_orientation: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def load_cases(data_dir: Path | str) -> list[Case]:
    """Read ``data_dir/manifest.json`` and return its cases in file order.

    Raises ``ValueError`` for an entry with an unknown ``kind`` or ``lang`` or without its truth field.
    """
    root = Path(data_dir)
    entries = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    cases: list[Case] = []
    for entry in entries:
        kind = entry["kind"]
        lang = entry["lang"]
        if kind not in ("line", "page"):
            raise ValueError(f"{entry.get('id')}: unknown kind {kind!r}")
        if lang not in LANGS:
            raise ValueError(f"{entry.get('id')}: unknown lang {lang!r}")
        if kind == "line" and "expected_text" not in entry:
            raise ValueError(f"{entry['id']}: line case without expected_text")
        if kind == "page" and "expected_lines" not in entry:
            raise ValueError(f"{entry['id']}: page case without expected_lines")
        cases.append(
            Case(
                id=entry["id"],
                kind=kind,
                lang=lang,
                path=root / entry["file"],
                expected_text=entry.get("expected_text"),
                expected_lines=tuple(entry.get("expected_lines", ())),
                truth_completeness=entry.get("truth_completeness"),
                case_insensitive=bool(entry.get("case_insensitive", False)),
                vertical=bool(entry.get("vertical", False)),
                rotation=int(entry.get("rotation", 0) or 0),
                exif_orientation=entry.get("exif_orientation"),
                raw=entry,
            )
        )
    return cases


# --------------------------------------------------------------------------------------------------------
# Line metrics
# --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LineScore:
    """Score of one recognised line against its truth."""

    case_id: str
    lang: str
    truth: str
    output: str
    distance: int
    truth_len: int
    distance_nows: int
    truth_len_nows: int

    @property
    def exact(self) -> bool:
        """True when the normalised output equals the normalised truth."""
        return self.distance == 0

    @property
    def cer(self) -> float:
        """Character error rate of this line alone (distance / truth length)."""
        return _ratio(self.distance, self.truth_len)


def score_line(case_id: str, lang: str, truth: str, output: str, case_insensitive: bool = False) -> LineScore:
    """Normalise ``truth`` and ``output`` and compute both edit distances for one line."""
    norm_truth = normalize(truth, lang, case_insensitive)
    norm_output = normalize(output, lang, case_insensitive)
    truth_nows = strip_whitespace(norm_truth)
    output_nows = strip_whitespace(norm_output)
    return LineScore(
        case_id=case_id,
        lang=lang,
        truth=norm_truth,
        output=norm_output,
        distance=levenshtein(norm_truth, norm_output),
        truth_len=len(norm_truth),
        distance_nows=levenshtein(truth_nows, output_nows),
        truth_len_nows=len(truth_nows),
    )


@dataclass(frozen=True)
class LineGroupMetrics:
    """Aggregate line metrics over one group of lines (one language or all of them)."""

    count: int
    cer: float
    exact_match: float
    cer_no_ws: float
    distance: int
    truth_len: int


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def aggregate_lines(scores: Iterable[LineScore]) -> LineGroupMetrics:
    """Aggregate line scores: CERs are micro averages (sum of distances / sum of truth lengths)."""
    items = list(scores)
    distance = sum(s.distance for s in items)
    truth_len = sum(s.truth_len for s in items)
    return LineGroupMetrics(
        count=len(items),
        cer=_ratio(distance, truth_len),
        exact_match=_ratio(sum(1 for s in items if s.exact), len(items)),
        cer_no_ws=_ratio(sum(s.distance_nows for s in items), sum(s.truth_len_nows for s in items)),
        distance=distance,
        truth_len=truth_len,
    )


def line_metrics(scores: Sequence[LineScore]) -> dict[str, LineGroupMetrics]:
    """Return aggregate line metrics keyed by ``"all"`` and by each language present."""
    result = {"all": aggregate_lines(scores)}
    for lang in LANGS:
        group = [s for s in scores if s.lang == lang]
        if group:
            result[lang] = aggregate_lines(group)
    return result


# --------------------------------------------------------------------------------------------------------
# Page metrics
# --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PageScore:
    """Score of one page: which expected lines were found, and the char F1 for ``full`` pages."""

    case_id: str
    lang: str
    expected: int
    found: int
    missing: tuple[str, ...]
    full: bool
    char_f1: float | None
    char_overlap: int
    truth_chars: int
    output_chars: int

    @property
    def recall(self) -> float:
        """Fraction of this page's expected lines found in the output."""
        return _ratio(self.found, self.expected)


def char_f1(truth: str, output: str) -> tuple[float, int]:
    """F1 of the character multisets of ``truth`` and ``output`` (order-insensitive) and their overlap.

    Two empty strings score 1.0; one empty string against a non-empty one scores 0.0.
    """
    if not truth and not output:
        return 1.0, 0
    overlap = sum((Counter(truth) & Counter(output)).values())
    # F1 = 2PR/(P+R) with P = overlap/|output| and R = overlap/|truth| simplifies to this.
    return 2.0 * overlap / (len(truth) + len(output)), overlap


def score_page(
    case_id: str,
    lang: str,
    expected_lines: Sequence[str],
    output_lines: Sequence[str],
    full: bool,
    case_insensitive: bool = False,
) -> PageScore:
    """Score one page's output lines against its expected lines.

    Line recall: each expected line, normalised and stripped of whitespace, must be a substring of all output
    lines joined, normalised and stripped of whitespace. Char F1 is computed only when ``full`` is true.
    """
    joined = strip_whitespace(normalize("\n".join(output_lines), lang, case_insensitive))
    truths = [strip_whitespace(normalize(line, lang, case_insensitive)) for line in expected_lines]
    missing = tuple(t for t in truths if t not in joined)
    f1: float | None = None
    overlap = 0
    truth_all = "".join(truths)
    if full:
        f1, overlap = char_f1(truth_all, joined)
    return PageScore(
        case_id=case_id,
        lang=lang,
        expected=len(truths),
        found=len(truths) - len(missing),
        missing=missing,
        full=full,
        char_f1=f1,
        char_overlap=overlap,
        truth_chars=len(truth_all),
        output_chars=len(joined),
    )


@dataclass(frozen=True)
class PageMetrics:
    """Aggregate page metrics.

    The headline figures pool over pages, which is how the evaluation README's reference figures are
    computed: ``line_recall`` = all found lines / all expected lines; ``char_f1`` = F1 from the character
    counts of all ``full`` pages added together. ``line_recall_page_mean`` and ``char_f1_page_mean`` average
    the per-page values instead (every page weighs the same).
    """

    pages: int
    full_pages: int
    expected_lines: int
    found_lines: int
    line_recall: float
    char_f1: float
    line_recall_page_mean: float
    char_f1_page_mean: float


def page_metrics(scores: Sequence[PageScore]) -> PageMetrics:
    """Aggregate page scores (see :class:`PageMetrics` for the definitions)."""
    expected = sum(s.expected for s in scores)
    found = sum(s.found for s in scores)
    full = [s for s in scores if s.full and s.char_f1 is not None]
    full_f1 = [s.char_f1 for s in full if s.char_f1 is not None]
    pooled_chars = sum(s.truth_chars + s.output_chars for s in full)
    return PageMetrics(
        pages=len(scores),
        full_pages=len(full),
        expected_lines=expected,
        found_lines=found,
        line_recall=_ratio(found, expected),
        char_f1=_ratio(2.0 * sum(s.char_overlap for s in full), pooled_chars),
        line_recall_page_mean=statistics.fmean(s.recall for s in scores) if scores else 0.0,
        char_f1_page_mean=statistics.fmean(full_f1) if full_f1 else 0.0,
    )
