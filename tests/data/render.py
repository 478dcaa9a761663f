#!/usr/bin/env python3
"""Render ocrfn's synthetic OCR test images and their ground truth.

Running ``python3 tests/data/render.py`` regenerates every image in ``tests/data/images/`` and rewrites
``tests/data/expected.json``. Everything is deterministic: layout is computed from fixed numbers, the only
random elements (noise on the photo-like sign) use fixed seeds, and text is laid out with Pillow's BASIC
layout engine so the result does not depend on whether libraqm is installed.

The rendered files are committed, so CI never needs the fonts. Regenerating them does; these Debian
packages provide the font files used (``apt-get install`` them if the script says one is missing):

* ``fonts-noto-cjk``      Noto Sans CJK SC (Regular, Bold), Noto Serif CJK SC (Regular, Bold)
* ``fonts-wqy-microhei``  WenQuanYi Micro Hei
* ``fonts-wqy-zenhei``    WenQuanYi Zen Hei
* ``fonts-arphic-uming``  AR PL UMing CN
* ``fonts-dejavu-core``   DejaVu Sans (Regular, Bold)
* ``fonts-liberation2``   Liberation Sans (Regular, Bold)

``--check`` renders into memory and compares against the files on disk instead of writing (PNG pixels and
expected.json must match exactly; JPEGs, whose bytes depend on the libjpeg build, within a small tolerance).

expected.json maps each file name to a dict with at least ``kind`` ("line" or "page"), ``lines`` (expected
text lines in reading order), ``lang``, ``notes``, ``fonts`` (Debian packages), ``font_faces``, ``size``
([width, height] of the stored pixels), ``mode``, ``order_sensitive`` (whether the order of ``lines`` is
part of the assertion) and ``space_sensitive`` (whether spaces must match exactly; when false, compare with
whitespace removed). Some cases add ``rows``, ``columns``, ``vertical``, ``rotation``, ``exif_orientation``,
``upright_size`` or ``alpha``.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, partial
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

HERE = Path(__file__).resolve().parent
IMAGE_DIR = HERE / "images"
EXPECTED_PATH = HERE / "expected.json"

RGB = tuple[int, int, int]

INK: RGB = (22, 22, 26)
PAPER: RGB = (251, 250, 246)
RECEIPT_PAPER: RGB = (252, 251, 247)
WHITE: RGB = (255, 255, 255)

EXIF_ORIENTATION_TAG = 0x0112
# Orientation 6: the stored pixels must be turned 90 degrees clockwise to be shown upright.
EXIF_ORIENTATION = 6

# Mean absolute grey-level difference allowed between a decoded JPEG and the image it was made from.
JPEG_TOLERANCE = 3.0


@dataclass(frozen=True)
class FontSpec:
    """A font face inside a Debian font package."""

    path: str
    index: int
    package: str
    face: str


FONTS: dict[str, FontSpec] = {
    "noto_sans": FontSpec(
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        2,
        "fonts-noto-cjk",
        "Noto Sans CJK SC Regular",
    ),
    "noto_sans_bold": FontSpec(
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2, "fonts-noto-cjk", "Noto Sans CJK SC Bold"
    ),
    "noto_serif": FontSpec(
        "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
        2,
        "fonts-noto-cjk",
        "Noto Serif CJK SC Regular",
    ),
    "noto_serif_bold": FontSpec(
        "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc", 2, "fonts-noto-cjk", "Noto Serif CJK SC Bold"
    ),
    "wqy_microhei": FontSpec(
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, "fonts-wqy-microhei", "WenQuanYi Micro Hei"
    ),
    "wqy_zenhei": FontSpec(
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0, "fonts-wqy-zenhei", "WenQuanYi Zen Hei"
    ),
    "uming": FontSpec(
        "/usr/share/fonts/truetype/arphic/uming.ttc", 0, "fonts-arphic-uming", "AR PL UMing CN"
    ),
    "dejavu_sans": FontSpec(
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0, "fonts-dejavu-core", "DejaVu Sans"
    ),
    "dejavu_sans_bold": FontSpec(
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 0, "fonts-dejavu-core", "DejaVu Sans Bold"
    ),
    "liberation_sans": FontSpec(
        "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
        0,
        "fonts-liberation2",
        "Liberation Sans Regular",
    ),
}


def check_fonts() -> None:
    """Exit with a message naming the Debian packages to install if any font file is missing."""
    missing = sorted({spec.package for spec in FONTS.values() if not Path(spec.path).is_file()})
    if missing:
        paths = "\n".join(
            f"  {spec.path} ({spec.package})" for spec in FONTS.values() if not Path(spec.path).is_file()
        )
        sys.exit(
            "render.py: missing font files:\n"
            f"{paths}\n"
            f"Install the Debian package(s): apt-get install {' '.join(missing)}"
        )


@cache
def font(key: str, size: int) -> ImageFont.FreeTypeFont:
    """Load font ``key`` at ``size`` pixels with the BASIC layout engine (independent of libraqm)."""
    spec = FONTS[key]
    return ImageFont.truetype(spec.path, size, index=spec.index, layout_engine=ImageFont.Layout.BASIC)


@dataclass(frozen=True)
class Span:
    """A run of text on one row of a page.

    ``align`` is "left", "center" or "right" (relative to the page margins) unless ``x`` gives an explicit
    left edge, which is how columns are placed.
    """

    text: str
    font: str
    size: int
    align: str = "left"
    x: int | None = None
    fill: RGB = INK


@dataclass(frozen=True)
class Row:
    """One visual row: spans sharing a baseline, listed left to right; ``slot`` is the row pitch in em."""

    spans: tuple[Span, ...]
    slot: float = 1.8


def row(*spans: Span, slot: float = 1.8) -> Row:
    """Build a :class:`Row` from its spans."""
    return Row(spans, slot)


def text_width(span: Span) -> float:
    """Advance width of ``span`` in pixels."""
    return font(span.font, span.size).getlength(span.text)


def draw_rows(img: Image.Image, rows: list[Row], top: int, left: int, right: int) -> int:
    """Draw ``rows`` between x=``left`` and x=``right`` from y=``top``; return the y below the last row.

    Each row takes ``slot`` times its largest font size; the text is centred vertically in that slot (CJK
    faces put the ink centre about 0.36 em above the baseline).
    """
    draw = ImageDraw.Draw(img)
    y = float(top)
    for r in rows:
        size = max(s.size for s in r.spans)
        pitch = size * r.slot
        baseline = round(y + pitch / 2 + 0.36 * size)
        for s in r.spans:
            f = font(s.font, s.size)
            if s.x is not None:
                draw.text((s.x, baseline), s.text, font=f, fill=s.fill, anchor="ls")
            elif s.align == "left":
                draw.text((left, baseline), s.text, font=f, fill=s.fill, anchor="ls")
            elif s.align == "right":
                draw.text((right, baseline), s.text, font=f, fill=s.fill, anchor="rs")
            elif s.align == "center":
                draw.text(((left + right) / 2, baseline), s.text, font=f, fill=s.fill, anchor="ms")
            else:
                raise ValueError(f"unknown alignment {s.align!r}")
        y += pitch
    return round(y)


def rows_height(rows: list[Row]) -> int:
    """Total height in pixels that :func:`draw_rows` uses for ``rows``."""
    return round(sum(max(s.size for s in r.spans) * r.slot for r in rows))


def render_page(rows: list[Row], width: int, margin: int, bg: RGB = PAPER) -> Image.Image:
    """Render ``rows`` onto a new page ``width`` pixels wide with ``margin`` pixels around the text block."""
    for r in rows:
        used = sum(text_width(s) for s in r.spans if s.x is None)
        if used > width - 2 * margin:
            raise ValueError(f"row {[s.text for s in r.spans]} is too wide for a {width}px page")
    img = Image.new("RGB", (width, rows_height(rows) + 2 * margin), bg)
    draw_rows(img, rows, margin, margin, width - margin)
    return img


def render_line(span: Span, pad_x: int = 18, pad_y: int = 8, bg: RGB = PAPER) -> Image.Image:
    """Render a single-line image fitted around ``span`` with ``pad_x``/``pad_y`` pixels of padding."""
    rows = [row(span, slot=1.6)]
    width = round(text_width(span)) + 2 * pad_x
    img = Image.new("RGB", (width, rows_height(rows) + 2 * pad_y), bg)
    draw_rows(img, rows, pad_y, pad_x, width - pad_x)
    return img


def rotate(img: Image.Image, degrees: float, fill: RGB = WHITE) -> Image.Image:
    """Rotate counter-clockwise by ``degrees``, growing the canvas and filling the corners with ``fill``."""
    return img.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)


@dataclass
class Case:
    """One rendered test image and its ground truth."""

    name: str
    image: Image.Image
    kind: str
    lines: list[str]
    lang: str
    notes: str
    fonts: list[str]
    order_sensitive: bool = True
    space_sensitive: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    jpeg_quality: int = 0
    exif_orientation: int = 0

    def expected(self, stored: Image.Image) -> dict[str, Any]:
        """Ground-truth record for expected.json; ``stored`` is the image as written to disk."""
        packages = sorted({FONTS[k].package for k in self.fonts})
        faces = [FONTS[k].face for k in dict.fromkeys(self.fonts)]
        return {
            "kind": self.kind,
            "lines": self.lines,
            "lang": self.lang,
            "notes": self.notes,
            "fonts": packages,
            "font_faces": faces,
            "size": list(stored.size),
            "mode": stored.mode,
            "order_sensitive": self.order_sensitive,
            "space_sensitive": self.space_sensitive,
            **self.extra,
        }


def spans_of(rows: list[Row]) -> list[str]:
    """Texts of all spans in reading order: rows top to bottom, spans left to right."""
    return [s.text for r in rows for s in r.spans]


def fonts_of(rows: list[Row]) -> list[str]:
    """Font keys used by ``rows``, first use first."""
    return list(dict.fromkeys(s.font for r in rows for s in r.spans))


def grouped_rows(rows: list[Row]) -> list[list[str]]:
    """Texts grouped by visual row (for rows that hold more than one text block)."""
    return [[s.text for s in r.spans] for r in rows]


# --------------------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------------------

LINE_EN_TEXT = "Invoice No. 2024-0815 Total: $1,286.75"


def case_line_en() -> Case:
    """A single English line with spaces, punctuation and digits."""
    span = Span(LINE_EN_TEXT, "liberation_sans", 32)
    return Case(
        "line_en.png",
        render_line(span, 18, 8, PAPER),
        "line",
        [LINE_EN_TEXT],
        "en",
        "One English line, 32px Liberation Sans. Word spaces are ordinary (about 9px), so a correct "
        "recognizer must keep the five spaces.",
        ["liberation_sans"],
        space_sensitive=True,
    )


def case_line_en_rgba() -> Case:
    """The line_en text as RGBA: black text on a fully transparent background."""
    span = Span(LINE_EN_TEXT, "liberation_sans", 32, fill=WHITE)
    mask = render_line(span, 18, 8, (0, 0, 0)).convert("L")
    img = Image.new("RGBA", mask.size, (0, 0, 0, 0))
    img.putalpha(mask)
    return Case(
        "line_en_rgba.png",
        img,
        "line",
        [LINE_EN_TEXT],
        "en",
        "Same text and layout as line_en.png, stored as RGBA: every pixel's colour is black (0,0,0) and "
        "the text is carried only by the alpha channel (background alpha 0). Dropping alpha without "
        "compositing onto white gives an all-black image, so this checks alpha compositing end to end.",
        ["liberation_sans"],
        space_sensitive=True,
        extra={"alpha": True},
    )


def case_line_zh() -> Case:
    """A single Chinese address line."""
    text = "北京市海淀区中关村大街27号"
    span = Span(text, "noto_sans", 36)
    return Case(
        "line_zh.png",
        render_line(span, 18, 6, PAPER),
        "line",
        [text],
        "zh",
        "One Chinese address line, 36px Noto Sans CJK SC, no spaces.",
        ["noto_sans"],
    )


def case_line_mixed() -> Case:
    """A waybill line mixing Chinese, Latin letters and digits."""
    text = "顺丰速运 运单号 SF1428576392"
    span = Span(text, "wqy_microhei", 32)
    return Case(
        "line_mixed.png",
        render_line(span, 18, 8, PAPER),
        "line",
        [text],
        "mixed",
        "Waybill line, 32px WenQuanYi Micro Hei. Spaces sit between CJK words; recognizers often drop or "
        "keep them inconsistently, so compare with whitespace removed.",
        ["wqy_microhei"],
    )


def case_receipt() -> Case:
    """A one-column receipt with item names at the left and prices right-aligned on the same row."""
    body, bold = "noto_sans", "noto_sans_bold"
    items = [("宫保鸡丁", "36.75"), ("米饭 2碗", "4.25"), ("Iced Latte", "28.35"), ("番茄蛋汤", "18.46")]
    total = sum((Decimal(p) for _, p in items), Decimal("0"))
    rows = [
        row(Span("美味小馆", bold, 34, align="center"), slot=2.0),
        row(Span("上海市黄浦区南京东路128号", body, 24)),
        row(Span("日期 2024-08-15 12:36", body, 24)),
        *(row(Span(name, body, 26), Span(price, body, 26, align="right")) for name, price in items),
        row(Span("合计", bold, 28), Span(f"{total:.2f}", bold, 28, align="right")),
        row(Span("Thank you! 欢迎再次光临", body, 24)),
        row(Span("Tel 021-6357 8249", body, 24)),
    ]
    return Case(
        "receipt.png",
        render_page(rows, 520, 34, RECEIPT_PAPER),
        "page",
        spans_of(rows),
        "mixed",
        "Receipt, one column. Item rows hold the name at the left margin and the price right-aligned on the "
        "same baseline; they are separate entries in 'lines' (name, then price) and 'rows' groups the "
        "entries of each visual row. A reader that merges a row into one line must give name then price. "
        "No separator rules or symbols are drawn. Compare with whitespace removed for the CJK lines.",
        fonts_of(rows),
        extra={"rows": grouped_rows(rows)},
    )


def case_two_column() -> Case:
    """A full-width title over two columns whose lines share y positions."""
    body = "wqy_zenhei"
    left = ["寄件人信息", "姓名 张伟", "北京市朝阳区建国路88号", "电话 13912345678", "Beijing, China"]
    right = ["收件人信息", "姓名 李娜", "广州市天河区体育西路56号", "电话 13787654329", "Guangzhou, China"]
    width, margin, right_x = 860, 40, 470
    rows = [row(Span("快递面单 Express Waybill", "noto_sans_bold", 32, align="center"), slot=2.2)]
    rows += [
        row(Span(a, body, 26, x=margin), Span(b, body, 26, x=right_x))
        for a, b in zip(left, right, strict=True)
    ]
    widest_left = max(text_width(Span(t, body, 26)) for t in left)
    gap = right_x - margin - widest_left
    word_gap = font(body, 26).getlength(" ")
    if gap < 8 * word_gap:
        raise ValueError(f"column gap {gap:.0f}px is not clearly wider than a word gap ({word_gap:.0f}px)")
    title = rows[0].spans[0].text
    return Case(
        "two_column.png",
        render_page(rows, width, margin),
        "page",
        [title, *left, *right],
        "mixed",
        f"Full-width centred title, then two columns of 5 lines whose baselines are identical, so a plain "
        f"sort by y interleaves them. Narrowest column gap {gap:.0f}px vs a {word_gap:.0f}px word space. "
        f"Expected order: title, left column top to bottom, right column top to bottom. Compare with "
        f"whitespace removed for the CJK lines.",
        ["noto_sans_bold", body],
        extra={"columns": [left, right]},
    )


def draw_vertical(
    img: Image.Image, text: str, cx: float, top: float, key: str, size: int, pitch: float
) -> None:
    """Draw ``text`` as a vertical column: one character per cell, centred on x=``cx``, top to bottom."""
    draw = ImageDraw.Draw(img)
    f = font(key, size)
    for i, ch in enumerate(text):
        draw.text((cx, top + pitch * (i + 0.5)), ch, font=f, fill=INK, anchor="mm")


def case_vertical() -> Case:
    """Three columns of traditional vertical Chinese, read right to left."""
    columns = ["床前明月光", "疑是地上霜", "举头望明月"]  # rightmost column first
    key, size, pitch, col_step, margin = "uming", 40, 48.0, 96, 44
    width = 2 * margin + col_step * len(columns)
    height = round(2 * margin + pitch * max(len(c) for c in columns))
    img = Image.new("RGB", (width, height), PAPER)
    for i, text in enumerate(columns):
        cx = width - margin - col_step * (i + 0.5)
        draw_vertical(img, text, cx, margin, key, size, pitch)
    return Case(
        "vertical.png",
        img,
        "page",
        columns,
        "zh",
        "Traditional vertical layout, 40px AR PL UMing CN: three columns, characters stacked top to bottom, "
        "one column = one expected line. 'lines' lists the columns in traditional reading order "
        "(rightmost first), but the order between columns is NOT asserted, only the content of each column "
        "(read top to bottom). Character pitch 48px (8px blank) vs 56px blank between columns.",
        [key],
        order_sensitive=False,
        extra={"vertical": True},
    )


def case_vertical_tilted() -> Case:
    """One vertical column rotated by 12 degrees."""
    text, key, size, pitch, margin = "欢迎光临本店", "noto_sans", 40, 50.0, 40
    img = Image.new("RGB", (size + 2 * margin, round(pitch * len(text)) + 2 * margin), WHITE)
    draw_vertical(img, text, img.width / 2, margin, key, size, pitch)
    img = rotate(img, 12.0)
    return Case(
        "vertical_tilted.png",
        img,
        "line",
        [text],
        "zh",
        "One vertical column (40px Noto Sans CJK SC) rotated 12 degrees counter-clockwise (its top leans "
        "left) with white fill; checks quad point ordering for tilted vertical text. Read top to bottom.",
        [key],
        extra={"vertical": True, "rotation": 12},
    )


def case_upside_down() -> Case:
    """A three-line label rotated by 180 degrees."""
    rows = [
        row(Span("易碎物品 小心轻放", "noto_sans_bold", 32)),
        row(Span("Fragile, Handle With Care", "dejavu_sans", 28)),
        row(Span("请勿倒置 This Side Up", "noto_sans", 28)),
    ]
    page = render_page(rows, 520, 36)
    return Case(
        "upside_down.png",
        page.transpose(Image.Transpose.ROTATE_180),
        "page",
        spans_of(rows),
        "mixed",
        "Three-line label rendered upright, then rotated 180 degrees (exact pixel transpose). Expected "
        "lines are the upright text in upright reading order. Compare with whitespace removed for CJK.",
        fonts_of(rows),
        extra={"rotation": 180},
    )


def exif_page() -> tuple[Image.Image, list[Row]]:
    """The upright page stored sideways in exif_rotated.jpg."""
    rows = [
        row(Span("收货人 王芳", "noto_sans_bold", 30)),
        row(Span("浙江省杭州市西湖区文三路478号", "noto_sans", 28)),
        row(Span("Phone 0571-8823 4619", "noto_sans", 28)),
    ]
    return render_page(rows, 560, 36), rows


def case_exif_rotated() -> Case:
    """A page whose pixels are stored rotated, with EXIF Orientation=6 to show it upright."""
    page, rows = exif_page()
    # Orientation 6 tells a viewer to turn the stored pixels 90 degrees clockwise, so store them turned
    # 90 degrees counter-clockwise (Pillow's ROTATE_90).
    stored = page.transpose(Image.Transpose.ROTATE_90)
    return Case(
        "exif_rotated.jpg",
        stored,
        "page",
        spans_of(rows),
        "mixed",
        "Three-line page whose JPEG pixels are stored rotated 90 degrees counter-clockwise, with EXIF "
        "Orientation=6 so that an EXIF-aware viewer (ImageOps.exif_transpose) shows it upright at "
        f"{page.width}x{page.height}. Expected lines are the upright ones. Compare with whitespace removed "
        "for CJK.",
        fonts_of(rows),
        extra={
            "exif_orientation": EXIF_ORIENTATION,
            "upright_size": list(page.size),
        },
        jpeg_quality=92,
        exif_orientation=EXIF_ORIENTATION,
    )


def case_tilted() -> Case:
    """A four-line notice rotated by 7 degrees."""
    rows = [
        row(Span("会议通知", "noto_serif_bold", 36), slot=2.0),
        row(Span("时间 9月12日 下午3点", "noto_serif", 30)),
        row(Span("地点 三号楼二层会议室", "noto_serif", 30)),
        row(Span("Please arrive on time.", "noto_serif", 30)),
    ]
    page = render_page(rows, 560, 40, WHITE)
    return Case(
        "tilted.png",
        rotate(page, 7.0),
        "page",
        spans_of(rows),
        "mixed",
        "Four-line notice (Noto Serif CJK SC) rotated 7 degrees counter-clockwise with expand and white "
        "fill; lines stay horizontal-ish. Compare with whitespace removed for CJK.",
        fonts_of(rows),
        extra={"rotation": 7},
    )


def case_sign_photo() -> Case:
    """A photo-like shop sign: bold dark text on a noisy, blurred, vignetted amber board."""
    width, height = 720, 340
    rng = np.random.default_rng(20240815)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    t = (yy / (height - 1))[..., None]
    top, bottom = np.array([252, 222, 120], np.float32), np.array([232, 168, 64], np.float32)
    board = top * (1 - t) + bottom * t
    dist = np.hypot((xx - width * 0.42) / width, (yy - height * 0.38) / height)
    board *= (1.0 - 0.35 * dist**2)[..., None]
    img = Image.fromarray(np.clip(board, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((10, 10, width - 11, height - 11), radius=18, outline=(120, 78, 30), width=5)
    ink: RGB = (28, 30, 44)
    rows = [
        row(Span("出口 EXIT", "noto_sans_bold", 76, align="center", fill=ink), slot=1.6),
        row(Span("营业时间 09:00-21:00", "noto_sans_bold", 40, align="center", fill=ink), slot=1.9),
    ]
    draw_rows(img, rows, (height - rows_height(rows)) // 2, 40, width - 40)
    arr = np.asarray(img, dtype=np.float32) + rng.normal(0.0, 6.0, (height, width, 1))
    img = Image.fromarray(np.clip(arr, 0, 255).round().astype(np.uint8), "RGB")
    img = img.filter(ImageFilter.GaussianBlur(1.1))
    return Case(
        "sign_photo.jpg",
        img,
        "page",
        spans_of(rows),
        "mixed",
        "Photo-like sign: Noto Sans CJK SC Bold 76px and 40px, dark navy text on an amber vertical gradient "
        "with vignette, a brown border, Gaussian noise (sigma 6, seed 20240815), blur radius 1.1 and "
        "JPEG quality 70. Two centred lines. Compare with whitespace removed.",
        fonts_of(rows),
        jpeg_quality=70,
    )


def case_screenshot() -> Case:
    """A phone-settings-like screenshot: dark header bar, section title, label/value rows."""
    width, bar_h, pad = 480, 52, 16
    body, size = "noto_sans", 17
    header = "设置 Settings"
    section = "通用 General"
    items = [
        ("Wi-Fi", "已连接"),
        ("蓝牙 Bluetooth", "关闭"),
        ("屏幕亮度", "75%"),
        ("Language", "简体中文"),
        ("存储空间", "已用 32.5 GB"),
        ("About This Device", ""),
    ]
    row_h, card_top = 46, bar_h + 52
    height = card_top + row_h * len(items) + 28
    img = Image.new("RGB", (width, height), (240, 240, 243))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, width - 1, bar_h - 1), fill=(43, 47, 56))
    draw.text((width / 2, bar_h / 2), header, font=font("noto_sans_bold", 18), fill=WHITE, anchor="mm")
    draw.text((pad + 8, card_top - 12), section, font=font(body, 16), fill=(88, 88, 96), anchor="ls")
    draw.rounded_rectangle(
        (pad, card_top, width - pad - 1, card_top + row_h * len(items)), radius=10, fill=WHITE
    )
    lines = [header, section]
    rows: list[list[str]] = [[header], [section]]
    for i, (label, value) in enumerate(items):
        y0 = card_top + row_h * i
        if i:
            draw.line((pad + 14, y0, width - pad - 1, y0), fill=(222, 222, 228), width=1)
        mid = y0 + row_h / 2
        draw.text((pad + 14, mid), label, font=font(body, size), fill=(24, 24, 28), anchor="lm")
        if value:
            draw.text((width - pad - 14, mid), value, font=font(body, size), fill=(70, 70, 78), anchor="rm")
        pair = [label, value] if value else [label]
        lines += pair
        rows.append(pair)
    return Case(
        "screenshot.png",
        img,
        "page",
        lines,
        "mixed",
        "UI screenshot: 480px wide, light grey background, dark header bar with white bold 18px text, a "
        "grey 16px section title, then a white card of label/value rows in 17px Noto Sans CJK SC (values "
        "right-aligned, dark grey). 'rows' groups label and value of each row; 'lines' lists label then "
        "value. Compare with whitespace removed for the CJK lines.",
        [body, "noto_sans_bold"],
        extra={"rows": rows},
    )


def case_small_line() -> Case:
    """A tiny 120x24 image with a short word and number."""
    text = "Total 86.5"
    width, height = 120, 24
    img = Image.new("RGB", (width, height), PAPER)
    f = font("dejavu_sans", 16)
    if f.getlength(text) > width - 8:
        raise ValueError("small_line text does not fit")
    ImageDraw.Draw(img).text((width / 2, height / 2), text, font=f, fill=INK, anchor="mm")
    return Case(
        "small_line.png",
        img,
        "line",
        [text],
        "en",
        "Tiny 120x24 input with 16px DejaVu Sans text; checks handling of very small images (no crash, "
        "sensible resize). The one space should survive.",
        ["dejavu_sans"],
        space_sensitive=True,
    )


@dataclass(frozen=True)
class SpacedLine:
    """A line for the space-restoration tests: its text, face, size and letter-spacing (em)."""

    name: str
    text: str
    font: str
    size: int
    note: str
    tracking: float = 0.0


SPACED_LINES = (
    SpacedLine("spacing_date.png", "日期 2024-08-15 12:36", "noto_sans", 28, "receipt date and time"),
    SpacedLine("spacing_amounts.png", "实收 ¥128.50 找零 ¥21.50", "wqy_microhei", 30, "amounts after labels"),
    SpacedLine(
        "spacing_waybill.png", "运单号 SF1428576392 重量 2.5 kg", "wqy_zenhei", 28, "tracking number, unit"
    ),
    SpacedLine("spacing_phone.png", "联系电话 138 0013 8000", "noto_serif", 30, "phone number in groups"),
    SpacedLine("spacing_serial.png", "序号 SERIAL NO. 0032", "uming", 30, "bilingual form label"),
    SpacedLine("spacing_thanks.png", "Thank you! 欢迎再次光临", "noto_sans_bold", 28, "English then Chinese"),
    SpacedLine(
        "spacing_sampled.png", "采样时间 10-08-06 11:23", "wqy_microhei", 26, "date and time after a label"
    ),
    SpacedLine(
        "spacing_solid_code.png", "订单编号A20240815", "wqy_microhei", 30, "code set solid after a label"
    ),
    SpacedLine(
        "spacing_zh_solid.png", "收货地址上海市浦东新区世纪大道", "noto_serif", 30, "Chinese set solid"
    ),
    SpacedLine("spacing_zh_tracked.png", "注意事项", "noto_sans", 32, "Chinese letter-spaced 0.5 em", 0.5),
    SpacedLine(
        "spacing_zh_tracked_serif.png", "发票专用章", "uming", 30, "Chinese letter-spaced 0.3 em", 0.3
    ),
)


def spaced_line_case(line: SpacedLine) -> Case:
    """One space-restoration line: drawn a character at a time when letter-spaced, else as one run."""
    if not line.tracking:
        image = render_line(Span(line.text, line.font, line.size), 18, 8, PAPER)
    else:
        f = font(line.font, line.size)
        advances = [f.getlength(c) + line.tracking * line.size for c in line.text]
        width = round(sum(advances) - line.tracking * line.size) + 36
        image = Image.new("RGB", (width, round(line.size * 1.6) + 16), PAPER)
        draw = ImageDraw.Draw(image)
        x, baseline = 18.0, round(8 + line.size * 0.8 + 0.36 * line.size)
        for char, advance in zip(line.text, advances, strict=True):
            draw.text((x, baseline), char, font=f, fill=INK, anchor="ls")
            x += advance
    lang = "zh" if all(ord(c) > 0x2E80 for c in line.text) else "mixed"
    return Case(
        line.name,
        image,
        "line",
        [line.text],
        lang,
        f"Space restoration: {line.note}, {line.size}px {FONTS[line.font].face}. Spaces must match exactly "
        "(a Chinese-only line must not gain any).",
        [line.font],
        space_sensitive=True,
        extra={"spacing": True},
    )


def case_spacing_page() -> Case:
    """A receipt page whose lines carry the spaces between Chinese and digit or Latin runs."""
    texts = (
        "收银小票",
        "日期 2024-08-15 12:36",
        "单号 20240815-0032 收银员 03",
        "实收 ¥128.50 找零 ¥21.50",
        "Thank you! 欢迎再次光临",
    )
    rows = [row(Span(t, "noto_sans", 28)) for t in texts]
    img = render_page(rows, 560, 40, RECEIPT_PAPER)
    return Case(
        "spacing_page.png",
        img,
        "page",
        list(texts),
        "mixed",
        "Receipt page, 28px Noto Sans CJK SC: each line keeps its spaces through detection, recognition, "
        "words and hOCR.",
        ["noto_sans"],
        space_sensitive=True,
        extra={"spacing": True},
    )


CASES = [
    case_line_en,
    case_line_en_rgba,
    case_line_zh,
    case_line_mixed,
    case_receipt,
    case_two_column,
    case_vertical,
    case_vertical_tilted,
    case_upside_down,
    case_exif_rotated,
    case_tilted,
    case_sign_photo,
    case_screenshot,
    case_small_line,
    *[partial(spaced_line_case, line) for line in SPACED_LINES],
    case_spacing_page,
]


# --------------------------------------------------------------------------------------------------------
# Encoding, verification, main
# --------------------------------------------------------------------------------------------------------


def encode(case: Case) -> bytes:
    """Encode a case's image as PNG or JPEG (with the EXIF orientation tag when the case sets one)."""
    buf = io.BytesIO()
    if case.name.endswith(".png"):
        case.image.save(buf, "PNG", optimize=True)
    else:
        options: dict[str, Any] = {
            "quality": case.jpeg_quality,
            "subsampling": 0 if case.jpeg_quality > 90 else 2,
        }
        if case.exif_orientation:
            exif = Image.Exif()
            exif[EXIF_ORIENTATION_TAG] = case.exif_orientation
            options["exif"] = exif.tobytes()
        case.image.save(buf, "JPEG", **options)
    return buf.getvalue()


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute grey-level difference of two same-sized images."""
    x = np.asarray(a.convert("L"), dtype=np.float32)
    y = np.asarray(b.convert("L"), dtype=np.float32)
    return float(np.abs(x - y).mean())


def verify_exif(data: bytes) -> None:
    """Check that the stored EXIF page decodes, via exif_transpose, to the upright page."""
    upright, _ = exif_page()
    with Image.open(io.BytesIO(data)) as img:
        if img.getexif().get(EXIF_ORIENTATION_TAG) != EXIF_ORIENTATION:
            raise AssertionError("exif_rotated.jpg lost its Orientation tag")
        if img.size != (upright.height, upright.width):
            raise AssertionError(f"exif_rotated.jpg stored size {img.size} is not the sideways page")
        shown = ImageOps.exif_transpose(img)
    if shown.size != upright.size:
        raise AssertionError(f"exif_transpose gives {shown.size}, upright page is {upright.size}")
    diff = mean_abs_diff(shown, upright)
    wrong = mean_abs_diff(shown.transpose(Image.Transpose.ROTATE_180), upright)
    if diff > JPEG_TOLERANCE or wrong < 4 * diff:
        raise AssertionError(f"exif_transpose result is not upright (diff {diff:.2f}, rotated {wrong:.2f})")


def decoded(data: bytes) -> Image.Image:
    """Decode encoded image bytes fully into memory."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return img.copy()


def same_image(name: str, new: bytes, old: bytes) -> bool:
    """Whether freshly rendered ``new`` matches ``old`` on disk (exact pixels for PNG, close for JPEG)."""
    a, b = decoded(new), decoded(old)
    if a.size != b.size or a.mode != b.mode:
        return False
    if name.endswith(".png"):
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    return mean_abs_diff(a, b) <= 1.0


def main(argv: list[str] | None = None) -> int:
    """Render all cases and write them (or, with --check, compare them with the files on disk)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    args = parser.parse_args(argv)
    check_fonts()

    expected: dict[str, Any] = {}
    encoded: dict[str, bytes] = {}
    for make in CASES:
        case = make()
        data = encode(case)
        if case.exif_orientation:
            verify_exif(data)
        expected[case.name] = case.expected(decoded(data))
        encoded[case.name] = data
    text = json.dumps(expected, ensure_ascii=False, indent=2) + "\n"

    if args.check:
        stale = [
            n
            for n, d in encoded.items()
            if not (IMAGE_DIR / n).is_file() or not same_image(n, d, (IMAGE_DIR / n).read_bytes())
        ]
        if not EXPECTED_PATH.is_file() or EXPECTED_PATH.read_text(encoding="utf-8") != text:
            stale.append(EXPECTED_PATH.name)
        for name in stale:
            print(f"out of date: {name}")
        return 1 if stale else 0

    IMAGE_DIR.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, data in encoded.items():
        (IMAGE_DIR / name).write_bytes(data)
        total += len(data)
        print(
            f"{name:24s} {expected[name]['size'][0]:4d}x{expected[name]['size'][1]:<4d} {len(data):8d} bytes"
        )
    EXPECTED_PATH.write_text(text, encoding="utf-8")
    print(f"{len(encoded)} images, {total} bytes; wrote {EXPECTED_PATH.relative_to(HERE.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
