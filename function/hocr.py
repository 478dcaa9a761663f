"""hOCR output (``format=hocr``): pages, lines and words with their boxes, as XHTML.

Follows the hOCR 1.2 specification (http://kba.github.io/hocr-spec/1.2/): one ``ocr_page`` per page with
its ``bbox`` and ``ppageno`` (and ``scan_res`` when the resolution is known), one ``ocr_carea`` and
``ocr_par`` holding the page's ``ocr_line`` elements in reading order, each with ``ocrx_word`` children
carrying a ``bbox`` and ``x_wconf``. Boxes are axis-aligned bounds of the quads, in the pixels of the page
as given; a line that does not run left to right says so with ``textangle`` (degrees counter-clockwise).
That is the shape OCRmyPDF-style tools read to lay a text layer under the page image.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from html import escape

from .ocr import TextLine
from .ocr.document import PageResult

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
 "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="und" lang="und">
<head>
<title>ocrfn</title>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8"/>
<meta name="ocr-system" content="ocrfn{model}"/>
<meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"/>
<meta name="ocr-number-of-pages" content="{pages}"/>
</head>
<body>
"""
_TAIL = "</body>\n</html>\n"


def render_hocr(pages: Sequence[PageResult], model: str | None = None) -> str:
    """Build one hOCR document for the given pages (a single image is one page)."""
    suffix = f" {model}" if model else ""
    parts = [_HEAD.format(model=escape(suffix), pages=len(pages))]
    for page in pages:
        parts.append(_page(page))
    parts.append(_TAIL)
    return "".join(parts)


def _page(page: PageResult) -> str:
    n = page.number
    props = [f"bbox 0 0 {page.width} {page.height}", f"ppageno {n - 1}"]
    if page.dpi:
        props.append(f"scan_res {round(page.dpi)} {round(page.dpi)}")
    out = [f'<div class="ocr_page" id="page_{n}" title="{"; ".join(props)}">\n']
    if page.lines:
        area = _bbox([p for line in page.lines for p in line.box], page.width, page.height)
        out.append(f' <div class="ocr_carea" id="block_{n}_1" title="bbox {area}">\n')
        out.append(f'  <p class="ocr_par" id="par_{n}_1" title="bbox {area}">\n')
        for index, line in enumerate(page.lines, 1):
            out.append(_line(line, f"{n}_{index}", page.width, page.height))
        out.append("  </p>\n </div>\n")
    out.append("</div>\n")
    return "".join(out)


def _line(line: TextLine, ident: str, width: int, height: int) -> str:
    props = [f"bbox {_bbox(line.box, width, height)}"]
    # Word quads follow the reading direction (a vertical column's line quad keeps the image's order).
    angle = _textangle(line.words[0].box if line.words else line.box)
    if angle:
        props.append(f"textangle {angle}")
    words = line.words or ()
    out = [f'   <span class="ocr_line" id="line_{ident}" title="{"; ".join(props)}">']
    if not words:
        # No alignment (e.g. a text-layer run without character boxes): the line is one word.
        words_html = [_word(line.text, line.box, line.confidence, f"{ident}_1", width, height)]
    else:
        words_html = [
            _word(w.text, w.box, w.confidence, f"{ident}_{k}", width, height) for k, w in enumerate(words, 1)
        ]
    out.append(" ".join(words_html))
    out.append("</span>\n")
    return "".join(out)


def _word(text: str, box: list[list[int]], confidence: float, ident: str, width: int, height: int) -> str:
    title = f"bbox {_bbox(box, width, height)}; x_wconf {round(confidence * 100)}"
    shown = escape(xml_text(text), quote=False)
    return f'<span class="ocrx_word" id="word_{ident}" title="{title}">{shown}</span>'


#: Characters XML 1.0 does not allow in a document (C0 controls but tab, LF and CR; U+FFFE, U+FFFF;
#: lone surrogates). A PDF text layer may carry them; OCRmyPDF's parser refuses the page if they stay.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(text: str) -> str:
    """Return *text* without the characters XML 1.0 forbids (they carry no text)."""
    return _NOT_XML.sub("", text)


def _bbox(points: Sequence[Sequence[int]], width: int, height: int) -> str:
    """``x0 y0 x1 y1`` around the points, inside the page."""
    xs = [min(max(int(p[0]), 0), width) for p in points]
    ys = [min(max(int(p[1]), 0), height) for p in points]
    return f"{min(xs)} {min(ys)} {max(xs)} {max(ys)}"


def _textangle(box: list[list[int]]) -> int:
    """Give the reading direction of a quad (TL→TR) in degrees counter-clockwise, to a quarter turn."""
    (x0, y0), (x1, y1) = box[0], box[1]
    if x0 == x1 and y0 == y1:
        return 0
    degrees = math.degrees(math.atan2(-(y1 - y0), x1 - x0))
    return round(degrees / 90) % 4 * 90
