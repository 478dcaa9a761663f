"""Spaces the page shows come back in the text: rendered receipts, waybills and forms through the engine.

The rendered lines (``tests/data/render.py``, ``spacing_*.png``) put spaces between Chinese and Latin or
digit runs and between digit runs, set codes solid after a label, and set Chinese solid and letter-spaced;
each must read exactly, spaces included. The same engine without restoration reads several of them with
the spaces lost, which is what the restoration is for.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from conftest import image_bytes

from function.ocr import OcrEngine, OcrOptions, load_model_set
from function.ocr.spacing import is_wide, spaces_after

LINE = OcrOptions(detect=False, min_confidence=0.0)


def nfkc(text: str) -> str:
    """Compare as the evaluation does: NFKC (a full-width ¥ reads as ¥), spaces kept."""
    return unicodedata.normalize("NFKC", text)


@pytest.fixture(scope="module")
def plain():
    """The same models with the recognizer's text as the model emits it."""
    return OcrEngine(load_model_set(), threads=2, restore_spaces=False)


def spacing_cases(expected: dict, kind: str) -> list[str]:
    return [name for name, case in expected.items() if case.get("spacing") and case["kind"] == kind]


def test_every_rendered_line_reads_with_its_spaces(engine, expected):
    names = spacing_cases(expected, "line")
    assert len(names) >= 10
    for name in names:
        (truth,) = expected[name]["lines"]
        lines = engine.run(image_bytes(name), LINE).lines
        assert [nfkc(line.text) for line in lines] == [truth], name


def test_chinese_only_lines_solid_or_letter_spaced_gain_no_space(engine, expected):
    chinese = [n for n in spacing_cases(expected, "line") if all(is_wide(c) for c in expected[n]["lines"][0])]
    assert {"spacing_zh_tracked.png", "spacing_zh_tracked_serif.png", "spacing_zh_solid.png"} <= set(chinese)
    for name in chinese:
        (line,) = engine.run(image_bytes(name), LINE).lines
        assert " " not in line.text, name


def test_without_restoration_the_spaces_are_lost(engine, plain):
    """The README's receipt: what the model emits alone fuses date and time; restored, they stay apart."""
    fused = [line.text for line in plain.run(image_bytes("receipt.png")).lines]
    restored = [line.text for line in engine.run(image_bytes("receipt.png")).lines]
    assert "日期2024-08-1512:36" in fused and "日期 2024-08-15 12:36" in restored
    assert "Thank you! 欢迎再次光临" in restored
    (date,) = plain.run(image_bytes("spacing_date.png"), LINE).lines
    assert date.text != "日期 2024-08-15 12:36"


def test_a_receipt_page_keeps_its_spaces_through_detection(engine, expected):
    result = engine.run(image_bytes("spacing_page.png"))
    assert [nfkc(line.text) for line in result.lines] == expected["spacing_page.png"]["lines"]


def test_words_split_where_spaces_were_restored(engine):
    result = engine.run(image_bytes("spacing_date.png"), OcrOptions(detect=False, words=True))
    (line,) = result.lines
    assert [w.text for w in line.words] == ["日", "期", "2024-08-15", "12:36"]
    lefts = [w.box[0][0] for w in line.words]
    assert lefts == sorted(lefts)
    # The date's box ends before the time's begins: the space between them belongs to neither.
    assert line.words[2].box[1][0] <= line.words[3].box[0][0]


def test_confidence_and_alignment_stay_consistent(engine):
    (line,) = engine.run(image_bytes("spacing_sampled.png"), OcrOptions(detect=False, words=True)).lines
    assert line.text == "采样时间 10-08-06 11:23"
    assert 0.5 <= line.confidence <= 1.0
    assert [w.text for w in line.words][-2:] == ["10-08-06", "11:23"]


# The decision itself, on measured geometry: a line of narrow characters 20 columns apart with 4 empty
# columns between glyphs, and CJK characters 40 apart with 6 empty columns.
def ink_of(cells: list[tuple[int, int]], width: int) -> np.ndarray:
    ink = np.zeros(width, np.int32)
    for start, end in cells:
        ink[start:end] = 10
    return ink


def narrow_line(text: str, extra: dict[int, int]) -> tuple[list[str], list[float], np.ndarray]:
    """*text* as 16-column glyphs with 4-column gaps; ``extra[k]`` more empty columns after glyph k."""
    x, cells, centers = 10, [], []
    for k, char in enumerate(text):
        if char.strip():
            cells.append((x, x + 16))
        centers.append(x + 8.0)
        x += 20 + extra.get(k, 0)
    return list(text), centers, ink_of(cells, x + 10)


def test_a_gap_of_a_digit_width_is_a_space_and_letter_spacing_is_not():
    chars, centers, ink = narrow_line("2024081512", {7: 16})
    assert spaces_after(chars, centers, ink) == [7]
    chars, centers, ink = narrow_line("2024081512", {})
    assert spaces_after(chars, centers, ink) == []


def test_no_space_inside_numbers_or_next_to_one_the_model_emitted():
    chars, centers, ink = narrow_line("12.50", {2: 16})
    assert spaces_after(chars, centers, ink) == []  # the decimal point: never split a number
    chars, centers, ink = narrow_line("1 250", {0: 16})
    assert spaces_after(chars, centers, ink) == []  # already a space there: never a second


def test_never_between_two_cjk_characters_however_far_apart():
    cells = [(10 + 80 * k, 46 + 80 * k) for k in range(4)]  # letter-spaced: 44 empty columns apart
    centers = [28.0 + 80 * k for k in range(4)]
    assert spaces_after(list("注意事项"), centers, ink_of(cells, 340)) == []
