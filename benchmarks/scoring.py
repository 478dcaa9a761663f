"""Scoring for the real-image evaluation set (``../shared/eval/real``).

Implements the rules of the evaluation README exactly, so that figures are comparable across engines:

* normalisation: Unicode NFKC, em/en dashes to ``-``, curly quotes to straight quotes, lower-case for
  ``case_insensitive`` cases; ``zh``/``mixed`` drop all whitespace, ``en`` collapses whitespace runs to a
  single space (and strips);
* line metrics: CER (sum of Levenshtein distances / sum of truth lengths) overall and per language,
  exact-match rate, CER with all whitespace removed;
* page metrics: line recall (substring test against all output lines joined) and, on pages whose truth is
  ``full``, the multiset character F1.

The README's scoring removes whitespace for ``zh``/``mixed``, which hides spaces lost between Chinese and
Latin or digit runs (``日期 2024-08-15 12:36`` read as ``日期2024-08-1512:36``). The space-sensitive figures
added here keep them: text is normalised the same way but with runs of white space collapsed to one space
(:func:`normalize_spaced`); the space-kept CER is taken over the lines whose truth has a space; each space of
the truth with a CJK character beside it is counted kept when an edit-distance alignment pairs it with a
space of the output; lines whose truth is Chinese only (full-width characters, no space) count the spaces
the output puts in them. On pages, an expected line with a space that is found counts kept when it is also
found with its spaces (output lines normalised with :func:`normalize_spaced`).

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


def normalize_spaced(text: str, case_insensitive: bool = False) -> str:
    """Normalise like :func:`normalize` for any language, but keep one space for every run of white space."""
    out = unicodedata.normalize("NFKC", text).translate(_CHAR_MAP)
    if case_insensitive:
        out = out.lower()
    return " ".join(out.split())


def is_wide(char: str) -> bool:
    """Whether *char* is set full width (CJK characters, full-width forms and punctuation)."""
    return unicodedata.east_asian_width(char) in "WF"


def cjk_adjacent_spaces(text: str) -> list[int]:
    """Indices of the spaces of *text* (already :func:`normalize_spaced`) with a full-width neighbour."""
    return [
        i
        for i, char in enumerate(text)
        if char == " " and 0 < i < len(text) - 1 and (is_wide(text[i - 1]) or is_wide(text[i + 1]))
    ]


def is_chinese_only(text: str) -> bool:
    """Whether *text* (normalised) is all full-width characters with no space: no Latin, digits or gaps."""
    return bool(text) and all(is_wide(char) for char in text)


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


def aligned_pairs(a: str, b: str) -> dict[int, int]:
    """Indices of *a* that a minimal edit alignment matches to an equal character of *b*, to that index."""
    rows, cols = len(a) + 1, len(b) + 1
    cost = [[0] * cols for _ in range(rows)]
    for i in range(rows):
        cost[i][0] = i
    for j in range(cols):
        cost[0][j] = j
    for i in range(1, rows):
        for j in range(1, cols):
            same = a[i - 1] == b[j - 1]
            cost[i][j] = min(cost[i - 1][j] + 1, cost[i][j - 1] + 1, cost[i - 1][j - 1] + (0 if same else 1))
    pairs: dict[int, int] = {}
    i, j = len(a), len(b)
    while i and j:
        same = a[i - 1] == b[j - 1]
        if cost[i][j] == cost[i - 1][j - 1] + (0 if same else 1):
            if same:
                pairs[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif cost[i][j] == cost[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return pairs


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
    spaced_truth: str = ""
    spaced_output: str = ""
    spaced_distance: int = 0
    cjk_spaces: int = 0
    cjk_spaces_kept: int = 0
    cjk_spaces_output: int = 0

    @property
    def truth_has_spaces(self) -> bool:
        """Whether the truth (normalised, spaces kept) has a space: the lines the space-kept CER covers."""
        return " " in self.spaced_truth

    @property
    def chinese_only(self) -> bool:
        """Whether the truth is Chinese only (full-width characters, no space)."""
        return is_chinese_only(self.spaced_truth)

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
    spaced_truth = normalize_spaced(truth, case_insensitive)
    spaced_output = normalize_spaced(output, case_insensitive)
    truth_cjk = cjk_adjacent_spaces(spaced_truth)
    matched = aligned_pairs(spaced_truth, spaced_output) if truth_cjk else {}
    return LineScore(
        case_id=case_id,
        lang=lang,
        truth=norm_truth,
        output=norm_output,
        distance=levenshtein(norm_truth, norm_output),
        truth_len=len(norm_truth),
        distance_nows=levenshtein(truth_nows, output_nows),
        truth_len_nows=len(truth_nows),
        spaced_truth=spaced_truth,
        spaced_output=spaced_output,
        spaced_distance=levenshtein(spaced_truth, spaced_output),
        cjk_spaces=len(truth_cjk),
        cjk_spaces_kept=sum(1 for i in truth_cjk if i in matched),
        cjk_spaces_output=len(cjk_adjacent_spaces(spaced_output)),
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


@dataclass(frozen=True)
class SpaceMetrics:
    """Space-sensitive line figures (see the module docstring).

    ``cer`` is the space-kept CER over the ``lines`` whose truth has a space; ``cjk_spaces`` counts the
    truth's spaces beside a CJK character on all lines, ``cjk_spaces_kept`` those the output keeps and
    ``cjk_spaces_output`` the output's own; ``chinese_only_spaces`` counts the spaces the output puts in
    the ``chinese_only_lines``.
    """

    lines: int
    cer: float
    cjk_spaces: int
    cjk_spaces_kept: int
    cjk_spaces_output: int
    chinese_only_lines: int
    chinese_only_spaces: int

    @property
    def cjk_kept_share(self) -> float:
        """Share of the truth's CJK-adjacent spaces that the output keeps."""
        return _ratio(self.cjk_spaces_kept, self.cjk_spaces)


def space_metrics(scores: Sequence[LineScore]) -> SpaceMetrics:
    """Aggregate the space-sensitive figures of line scores."""
    spaced = [s for s in scores if s.truth_has_spaces]
    chinese = [s for s in scores if s.chinese_only]
    return SpaceMetrics(
        lines=len(spaced),
        cer=_ratio(sum(s.spaced_distance for s in spaced), sum(len(s.spaced_truth) for s in spaced)),
        cjk_spaces=sum(s.cjk_spaces for s in scores),
        cjk_spaces_kept=sum(s.cjk_spaces_kept for s in scores),
        cjk_spaces_output=sum(s.cjk_spaces_output for s in scores),
        chinese_only_lines=len(chinese),
        chinese_only_spaces=sum(s.spaced_output.count(" ") for s in chinese),
    )


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
    spaced_found: int = 0
    spaced_kept: int = 0

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
    ``spaced_found`` counts the found expected lines that have a space, ``spaced_kept`` those of them found
    with their spaces too.
    """
    joined = strip_whitespace(normalize("\n".join(output_lines), lang, case_insensitive))
    truths = [strip_whitespace(normalize(line, lang, case_insensitive)) for line in expected_lines]
    missing = tuple(t for t in truths if t not in joined)
    joined_spaced = "\n".join(normalize_spaced(line, case_insensitive) for line in output_lines)
    spaced = [
        normalize_spaced(line, case_insensitive)
        for line, t in zip(expected_lines, truths, strict=True)
        if t in joined and " " in normalize_spaced(line, case_insensitive)
    ]
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
        spaced_found=len(spaced),
        spaced_kept=sum(1 for line in spaced if line in joined_spaced),
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
    spaced_found: int = 0
    spaced_kept: int = 0

    @property
    def spaced_kept_share(self) -> float:
        """Share of the found expected lines with a space that are found with their spaces."""
        return _ratio(self.spaced_kept, self.spaced_found)


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
        spaced_found=sum(s.spaced_found for s in scores),
        spaced_kept=sum(s.spaced_kept for s in scores),
    )
