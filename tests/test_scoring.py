"""Hand-computed cases for benchmarks/scoring.py (one or more per rule of the evaluation README)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from benchmarks.scoring import (  # noqa: E402
    char_f1,
    levenshtein,
    line_metrics,
    load_cases,
    normalize,
    normalize_spaced,
    page_metrics,
    score_line,
    score_page,
    space_metrics,
)


# ---- normalisation ---------------------------------------------------------------------------------------
def test_nfkc_full_width_digits_and_letters() -> None:
    assert normalize("１２３ＡＢ", "en") == "123AB"
    assert normalize("价格：１０．０元", "zh") == "价格:10.0元"


def test_em_and_en_dash_become_hyphen() -> None:
    assert normalize("a—b–c", "en") == "a-b-c"
    assert normalize("华南农业大学—东园", "zh") == "华南农业大学-东园"


def test_curly_quotes_become_straight() -> None:
    assert normalize("“Hi” it’s ‘x’", "en") == "\"Hi\" it's 'x'"


def test_case_insensitive_only_when_flagged() -> None:
    assert normalize("Davidson", "en", case_insensitive=True) == "davidson"
    assert normalize("Davidson", "en") == "Davidson"
    assert score_line("c", "en", "DAVIDSON", "Davidson", case_insensitive=True).distance == 0
    assert score_line("c", "en", "DAVIDSON", "Davidson").distance == 7


def test_en_whitespace_is_collapsed_and_stripped() -> None:
    assert normalize("  hello \t  world \n", "en") == "hello world"


def test_zh_and_mixed_whitespace_removed() -> None:
    assert normalize("你好 世界", "zh") == "你好世界"
    assert normalize(" 日常价 ¥ 10.0 起 ", "mixed") == "日常价¥10.0起"
    # NFKC turns the ideographic space into a plain space, which is then removed.
    assert normalize("你好\u3000世界", "zh") == "你好世界"


def test_unknown_lang_rejected() -> None:
    with pytest.raises(ValueError):
        normalize("x", "fr")


# ---- Levenshtein -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("", "", 0),
        ("", "abc", 3),
        ("abc", "", 3),
        ("abc", "abc", 0),
        ("kitten", "sitting", 3),
        ("flaw", "lawn", 2),
        ("中国人", "中华人民", 2),
        ("ab", "ba", 2),
    ],
)
def test_levenshtein(a: str, b: str, expected: int) -> None:
    assert levenshtein(a, b) == expected
    assert levenshtein(b, a) == expected


# ---- line metrics ----------------------------------------------------------------------------------------
def test_en_spaces_count() -> None:
    score = score_line("e", "en", "hello world", "helloworld")
    assert (score.distance, score.truth_len) == (1, 11)
    assert not score.exact
    # Without whitespace the two are equal.
    assert (score.distance_nows, score.truth_len_nows) == (0, 10)


def test_zh_spaces_do_not_count() -> None:
    score = score_line("z", "zh", "你好 世界", "你好世界")
    assert (score.distance, score.truth_len) == (0, 4)
    assert score.exact


def test_line_metrics_are_micro_averages() -> None:
    scores = [
        score_line("z1", "zh", "你好世界", "你好世"),  # d=1, len 4
        score_line("e1", "en", "ab cd", "ab cd"),  # d=0, len 5
        score_line("e2", "en", "xy z", "xyz"),  # d=1, len 4; without spaces d=0, len 3
    ]
    metrics = line_metrics(scores)
    assert metrics["all"].cer == pytest.approx(2 / 13)
    assert metrics["all"].exact_match == pytest.approx(1 / 3)
    assert metrics["all"].cer_no_ws == pytest.approx(1 / 11)
    assert metrics["zh"].cer == pytest.approx(1 / 4)
    assert metrics["en"].cer == pytest.approx(1 / 9)
    assert metrics["en"].exact_match == pytest.approx(1 / 2)
    assert "mixed" not in metrics


# ---- page metrics ----------------------------------------------------------------------------------------
def test_recall_is_substring_of_joined_output() -> None:
    page = score_page(
        "p",
        "mixed",
        expected_lines=["正品促销", "促销大桶", "划算", "10.0 起"],
        output_lines=["正品 促销", "大桶装更", "日常价¥10.0起"],
        full=False,
    )
    # "促销大桶" spans two output lines: found in the join. "划算" is absent.
    # "10.0 起" matches without its space.
    assert (page.expected, page.found) == (4, 3)
    assert page.missing == ("划算",)
    assert page.char_f1 is None


def test_recall_en_ignores_whitespace_and_case_flag() -> None:
    page = score_page("p", "en", ["Hello World"], ["HELLO", "WORLD"], full=False, case_insensitive=True)
    assert page.found == 1


def test_char_f1_is_multiset_and_order_insensitive() -> None:
    # overlap = min(2,1) for a + min(1,2) for b = 2; F1 = 2*2 / (3+3)
    f1, overlap = char_f1("aab", "abb")
    assert overlap == 2
    assert f1 == pytest.approx(2 / 3)
    assert char_f1("abc", "cba")[0] == 1.0
    assert char_f1("", "")[0] == 1.0
    assert char_f1("abc", "")[0] == 0.0


def test_page_f1_only_on_full_pages_and_pooled() -> None:
    pages = [
        score_page("a", "en", ["ab"], ["a b"], full=True),  # F1 1.0, overlap 2, chars 2 + 2
        score_page("b", "en", ["abc", "def"], [], full=True),  # F1 0.0, overlap 0, chars 6 + 0
        score_page("c", "en", ["zz"], ["q"], full=False),  # partial: no F1
    ]
    assert pages[0].char_f1 == 1.0
    assert pages[2].char_f1 is None
    metrics = page_metrics(pages)
    assert metrics.full_pages == 2
    assert metrics.char_f1 == pytest.approx(2 * 2 / (4 + 6))
    assert metrics.char_f1_page_mean == pytest.approx(0.5)
    assert (metrics.expected_lines, metrics.found_lines) == (4, 1)
    assert metrics.line_recall == pytest.approx(1 / 4)
    assert metrics.line_recall_page_mean == pytest.approx((1.0 + 0.0 + 0.0) / 3)


# ---- manifest --------------------------------------------------------------------------------------------
def test_load_cases_resolves_paths(tmp_path: Path) -> None:
    manifest = [
        {"id": "l1", "file": "lines/a.png", "kind": "line", "lang": "en", "expected_text": "A"},
        {
            "id": "p1",
            "file": "pages/b.jpg",
            "kind": "page",
            "lang": "zh",
            "expected_lines": ["你好"],
            "truth_completeness": "full",
            "vertical": True,
        },
    ]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    cases = load_cases(tmp_path)
    assert [c.id for c in cases] == ["l1", "p1"]
    assert cases[0].path == tmp_path / "lines/a.png"
    assert cases[0].expected_text == "A"
    assert cases[1].expected_lines == ("你好",)
    assert cases[1].truth_completeness == "full"
    assert cases[1].vertical


def test_load_cases_rejects_missing_truth(tmp_path: Path) -> None:
    manifest = [{"id": "l1", "file": "a.png", "kind": "line", "lang": "en"}]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ValueError):
        load_cases(tmp_path)


# ---- space-sensitive figures -----------------------------------------------------------------------------
def test_spaced_normalisation_keeps_one_space_per_run() -> None:
    assert normalize_spaced("  日期\u3000 2024-08-15\t12:36 ") == "日期 2024-08-15 12:36"


def test_fused_date_and_time_cost_spaces_that_the_readme_scoring_hides() -> None:
    fused = score_line("a", "zh", "日期 2024-08-15 12:36", "日期2024-08-1512:36")
    assert fused.distance == 0 and fused.distance_nows == 0  # whitespace removed: invisible
    assert fused.spaced_distance == 2 and fused.cjk_spaces == 1 and fused.cjk_spaces_kept == 0
    kept = score_line("b", "zh", "日期 2024-08-15 12:36", "日期 2024-08-15 12:36")
    assert kept.spaced_distance == 0 and kept.cjk_spaces_kept == 1 and kept.cjk_spaces_output == 1
    # A space in the wrong place is not the truth's space kept.
    moved = score_line("c", "mixed", "序号 SERIAL", "序号S ERIAL")
    assert moved.cjk_spaces == 1 and moved.cjk_spaces_kept == 0 and moved.cjk_spaces_output == 0


def test_space_metrics_pool_lines_with_spaces_and_count_chinese_only_lines() -> None:
    scores = [
        score_line("a", "zh", "日期 2024", "日期2024"),  # 1 error in 7 characters
        score_line("b", "en", "Total 12", "Total 12"),  # 0 in 8
        score_line("c", "zh", "注意事项", "注意 事项"),  # Chinese only: a space it should not have
        score_line("d", "zh", "合计12元", "合计12元"),  # neither
    ]
    m = space_metrics(scores)
    assert m.lines == 2 and m.cer == pytest.approx(1 / 15)
    assert (m.cjk_spaces, m.cjk_spaces_kept, m.cjk_kept_share) == (1, 0, 0.0)
    assert (m.chinese_only_lines, m.chinese_only_spaces) == (1, 1)


def test_page_lines_with_spaces_are_kept_only_when_found_with_them() -> None:
    page = score_page(
        "p", "mixed", ["日期 2024-08-15", "合计 12元", "收银"], ["日期2024-08-15", "合计 12元"], True
    )
    assert page.found == 2 and page.spaced_found == 2 and page.spaced_kept == 1
    metrics = page_metrics([page])
    assert (metrics.spaced_found, metrics.spaced_kept, metrics.spaced_kept_share) == (2, 1, 0.5)
