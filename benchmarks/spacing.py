"""Spaces restored from a line's geometry: what "clearly wider" is, and what restoring them does.

One run, two parts, each with restoration off (the recognizer's text as the model emits it) and on:

1. **Rendered lines** (``--rendered N``, default 1500; deterministic for a ``--seed``): label and value
   pairs as receipts, waybills and forms print them (dates with times, amounts with units, phone and
   tracking numbers, codes next to Chinese labels), with a space, with a full-width colon, or set solid;
   and Chinese-only lines, solid and letter-spaced, that must not gain spaces. Eight faces of four Debian
   font packages, 14-44 px, a third of them blurred and noisy. For every pair of neighbouring characters
   the recognizer read right, the two measures :mod:`function.ocr.spacing` decides on are printed as
   percentiles, for pairs the truth separates by a space and pairs it does not: where the two
   distributions part is what "clearly wider" means, and where the thresholds come from.
2. **The evaluation set** (``--data``): the space-sensitive figures of ``benchmarks/scoring.py`` on its
   lines and pages, with the existing CERs beside them.

Needs ``fonts-noto-cjk fonts-wqy-microhei fonts-wqy-zenhei fonts-arphic-uming`` for part 1 (it says so if
one is missing). Accuracy only: nothing here is timed.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from benchmarks.evaluate import (  # noqa: E402
    LINE_OPTIONS,
    PAGE_OPTIONS,
    add_data_arguments,
    markdown_table,
    pct,
    select_cases,
    space_rows,
)
from benchmarks.scoring import (  # noqa: E402
    LineScore,
    line_metrics,
    load_cases,
    page_metrics,
    score_line,
    score_page,
    space_metrics,
)
from function.ocr import (  # noqa: E402
    OcrEngine,
    load_model_set,
    spacing,
)


@dataclass(frozen=True)
class Face:
    """A font face: file, index in a collection, Debian package."""

    path: str
    index: int
    package: str


FACES: tuple[Face, ...] = (
    Face("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2, "fonts-noto-cjk"),  # Sans CJK SC
    Face("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 7, "fonts-noto-cjk"),  # Sans Mono CJK SC
    Face("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2, "fonts-noto-cjk"),  # Serif CJK SC
    Face("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2, "fonts-noto-cjk"),  # Sans CJK SC Bold
    Face("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, "fonts-wqy-microhei"),
    Face("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0, "fonts-wqy-zenhei"),
    Face("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 1, "fonts-wqy-zenhei"),  # Zen Hei Mono
    Face("/usr/share/fonts/truetype/arphic/uming.ttc", 0, "fonts-arphic-uming"),
)

LABELS = [
    "日期",
    "时间",
    "金额",
    "合计",
    "单价",
    "数量",
    "运单号",
    "收件人",
    "电话",
    "地址",
    "订单编号",
    "重量",
    "体积",
    "备注",
    "发票号码",
    "税号",
    "开户行",
    "账号",
    "车次",
    "座位",
    "检验员",
    "规格",
    "批号",
    "有效期",
    "温度",
    "型号",
    "姓名",
    "序号",
    "门店",
    "收银员",
]
WORDS = [
    "Total",
    "Date",
    "Invoice",
    "NO.",
    "SERIAL",
    "CLASS",
    "Tel",
    "Order",
    "Weight",
    "kg",
    "pcs",
    "VAT",
    "Cash",
    "Change",
    "ID",
    "Model",
    "FLIGHT",
    "GATE",
]
HANZI = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面"
    "而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把"
    "性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质"
)


@dataclass(frozen=True)
class RenderedLine:
    """One calibration line: its text and how it is drawn."""

    text: str
    face: int
    size: int
    tracking: float  # extra space after every character, in em (letter-spaced Chinese)
    degraded: bool


def _value(r: random.Random) -> str:
    """A value as receipts, waybills and forms print them."""
    kind = r.randrange(10)
    date = f"{r.randrange(1, 13):02d}-{r.randrange(1, 29):02d}"
    clock = f"{r.randrange(24):02d}:{r.randrange(60):02d}"
    makers = (
        lambda: f"{2020 + r.randrange(6)}-{date} {clock}",
        lambda: f"{r.randrange(10, 99)}-{date} {clock}",
        lambda: f"¥{r.randrange(1, 999)}.{r.randrange(100):02d}",
        lambda: f"{r.randrange(1, 99)}.{r.randrange(10)} kg",
        lambda: f"1{r.randrange(30, 99)} {r.randrange(1000, 9999)} {r.randrange(1000, 9999)}",
        lambda: f"SF{r.randrange(10**9, 10**10)}",
        lambda: f"{r.choice('ABGD')}{r.randrange(100, 9999)}",
        lambda: " ".join(r.sample(WORDS, 2)),
        lambda: f"{r.randrange(1, 20)} pcs",
        lambda: clock,
    )
    return makers[kind]()


def rendered_lines(count: int, seed: int) -> list[RenderedLine]:
    """The calibration lines, the same for the same *count* and *seed*."""
    r = random.Random(seed)
    out = []
    for _ in range(count):
        kind = r.randrange(6)
        label, value = r.choice(LABELS), _value(r)
        hanzi = "".join(r.choice(HANZI) for _ in range(r.randrange(2, 12)))
        text = {
            0: f"{label} {value}",
            1: f"{label}：{value}",
            2: f"{value} {hanzi[:4]}",
            3: f"{label}{value.replace(' ', '')}",
            4: hanzi,
            5: hanzi[:8],
        }[kind]
        tracking = r.uniform(0.15, 0.6) if kind == 5 else 0.0
        out.append(
            RenderedLine(text, r.randrange(len(FACES)), r.randrange(14, 44), tracking, r.random() < 0.35)
        )
    return out


def render(line: RenderedLine, seed: int) -> np.ndarray:
    """Draw *line* dark on light paper with the padding a detector's crop has; BGR uint8."""
    face = FACES[line.face]
    font = ImageFont.truetype(face.path, line.size, index=face.index, layout_engine=ImageFont.Layout.BASIC)
    advances = [font.getlength(c) + line.tracking * line.size for c in line.text] if line.tracking else []
    width = int(sum(advances)) if advances else int(font.getlength(line.text))
    pad_x, pad_y = line.size // 2, int(line.size * 0.35)
    image = Image.new("L", (width + 2 * pad_x, int(line.size * 1.3) + 2 * pad_y), 248)
    draw = ImageDraw.Draw(image)
    if advances:
        x = float(pad_x)
        for char, advance in zip(line.text, advances, strict=True):
            draw.text((x, pad_y), char, font=font, fill=25)
            x += advance
    else:
        draw.text((pad_x, pad_y), line.text, font=font, fill=25)
    if line.degraded:
        noise = np.random.default_rng(seed).normal(0, 6, (image.height, image.width))
        blurred = np.asarray(image.filter(ImageFilter.GaussianBlur(0.6)), np.float32) + noise
        image = Image.fromarray(np.clip(blurred, 0, 255).astype(np.uint8))
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_GRAY2BGR)


def pair_measures(
    engine: OcrEngine, line: RenderedLine, image: np.ndarray
) -> list[tuple[str, float, float, bool]]:
    """(kind, gap excess, advance excess, truth has a space) for the line's candidate pairs.

    Excesses are in units of the pitch the rule scales them by (narrow pitch for narrow pairs, CJK pitch
    for CJK/narrow ones). Empty when the recognizer misread the line (whitespace aside).
    """
    recognizer = engine.recognizer
    raw = recognizer.recognize([image])[0]
    if "".join(raw.text.split()) != "".join(line.text.split()):
        return []
    width = recognizer.target_width(image)
    ink = spacing.column_ink(recognizer.resize(image, width))
    chars = list(raw.text)
    measured = spacing.measure(chars, [(a + b) / 2 * width for a, b in raw.spans], ink)
    if measured is None:
        return []
    spaced_after: list[bool] = []
    for char in line.text:
        if char == " ":
            spaced_after[-1] = True
        else:
            spaced_after.append(False)
    order = {k: n for n, k in enumerate(k for k, c in enumerate(chars) if c.strip())}
    out = []
    for pair in measured.pairs:
        if pair.kind == "wide" or not spacing.may_space(chars, pair.index):
            continue
        truth = spaced_after[order[pair.index]]
        if pair.kind == "narrow":
            gap = (pair.gap - measured.narrow_gap) / measured.narrow_pitch
            advance = (pair.advance - measured.narrow_pitch) / measured.narrow_pitch
        else:
            gap = (pair.gap - (measured.wide_gap + measured.narrow_gap) / 2) / measured.wide_pitch
            advance = pair.advance / measured.wide_pitch
        out.append((pair.kind, gap, advance, truth))
    return out


def percentiles(values: Sequence[float]) -> str:
    """1st, 5th, 50th, 95th and 99th percentiles."""
    if not values:
        return "-"
    return " / ".join(f"{v:.2f}" for v in np.percentile(values, [1, 5, 50, 95, 99]))


def score_lines(
    engine: OcrEngine, cases: Sequence[tuple[str, str, str, bool, np.ndarray | bytes]]
) -> list[LineScore]:
    """Score single-line runs of *engine* on (id, lang, truth, case-insensitive, image) cases."""
    scores = []
    for case_id, lang, truth, case_insensitive, image in cases:
        text = " ".join(line.text for line in engine.run(image, LINE_OPTIONS).lines)
        scores.append(score_line(case_id, lang, truth, text, case_insensitive))
    return scores


def report_lines(title: str, off: Sequence[LineScore], on: Sequence[LineScore]) -> None:
    """Print the line table: existing CERs and the space figures, restoration off and on."""
    rows = []
    a, b = line_metrics(off)["all"], line_metrics(on)["all"]
    rows.append((f"Line CER ({a.count} lines)", pct(a.cer), pct(b.cer)))
    rows.append(("Line CER, whitespace removed", pct(a.cer_no_ws), pct(b.cer_no_ws)))
    for (label, before), (_, after) in zip(
        space_rows(space_metrics(off)), space_rows(space_metrics(on)), strict=True
    ):
        rows.append((label, before, after))
    print(f"\n{title}\n")
    print(markdown_table(("Metric", "restoration off", "on"), rows))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_arguments(parser)
    parser.add_argument("--rendered", type=int, default=1500, help="rendered lines (0: skip; default 1500)")
    parser.add_argument("--seed", type=int, default=15, help="seed of the rendered lines (default 15)")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads (default 2)")
    args = parser.parse_args(argv)
    models = load_model_set()
    on = OcrEngine(models, threads=args.threads)
    off = OcrEngine(models, threads=args.threads, restore_spaces=False)

    if args.rendered:
        missing = sorted({f.package for f in FACES if not Path(f.path).is_file()})
        if missing:
            sys.exit(f"spacing.py: fonts missing; apt-get install {' '.join(missing)} (or --rendered 0)")
        lines = rendered_lines(args.rendered, args.seed)
        images = [render(line, args.seed + n) for n, line in enumerate(lines)]
        measures = [
            m for line, image in zip(lines, images, strict=True) for m in pair_measures(off, line, image)
        ]
        rows = []
        for kind, what in (("narrow", "narrow pair"), ("mixed", "CJK/narrow pair")):
            for truth in (False, True):
                chosen = [m for m in measures if m[0] == kind and m[3] == truth]
                rows.append(
                    (
                        f"{what}, {'space' if truth else 'no space'} in the truth ({len(chosen)})",
                        percentiles([m[1] for m in chosen]),
                        percentiles([m[2] for m in chosen]),
                    )
                )
        print(f"Rendered lines: {len(lines)} (seed {args.seed}), {len(FACES)} faces\n")
        print("Pairs the rule decides on (percentiles 1 / 5 / 50 / 95 / 99), in units of the line's pitch:\n")
        print(
            markdown_table(
                ("Pairs", "empty gap beyond the line's usual", "advance (excess for narrow)"), rows
            )
        )
        cases = [
            (f"r{n}", "mixed", line.text, False, image)
            for n, (line, image) in enumerate(zip(lines, images, strict=True))
        ]
        report_lines("Rendered lines, space figures", score_lines(off, cases), score_lines(on, cases))
        tracked = [c for c, line in zip(cases, lines, strict=True) if line.tracking]
        gained = sum(s.spaced_output.count(" ") for s in score_lines(on, tracked))
        print(f"\nLetter-spaced Chinese lines: {len(tracked)}, spaces in their output: {gained}")

    if args.data is not None and (Path(args.data) / "manifest.json").is_file():
        cases_all = load_cases(args.data)
        line_cases, page_cases = select_cases(cases_all, args.only, args.limit)
        data = [
            (c.id, c.lang, c.expected_text or "", c.case_insensitive, c.path.read_bytes()) for c in line_cases
        ]
        report_lines(
            f"Evaluation set `{Path(args.data).name}`: lines", score_lines(off, data), score_lines(on, data)
        )
        page_rows = []
        for engine in (off, on):
            scores = [
                score_page(
                    c.id,
                    c.lang,
                    c.expected_lines,
                    [line.text for line in engine.run(c.path.read_bytes(), PAGE_OPTIONS).lines],
                    c.truth_completeness == "full",
                    c.case_insensitive,
                )
                for c in page_cases
            ]
            page_rows.append(page_metrics(scores))
        a, b = page_rows
        print(f"\nEvaluation set: {a.pages} pages\n")
        print(
            markdown_table(
                ("Metric", "restoration off", "on"),
                [
                    (
                        f"Page line recall ({a.expected_lines} lines)",
                        pct(a.line_recall, 1),
                        pct(b.line_recall, 1),
                    ),
                    ("Page char F1", pct(a.char_f1, 1), pct(b.char_f1, 1)),
                    (
                        f"Found lines with spaces found with them (of {a.spaced_found} / {b.spaced_found})",
                        f"{a.spaced_kept} ({pct(a.spaced_kept_share, 1)})",
                        f"{b.spaced_kept} ({pct(b.spaced_kept_share, 1)})",
                    ),
                ],
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
