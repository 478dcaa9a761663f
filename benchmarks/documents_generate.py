"""The documents of ``documents.py``, generated deterministically: a scanned PDF and a text-layer PDF.

* **scanned PDF**: A4 pages that are only images (no text layer), as a scanner writes them: a heading,
  paragraphs of Chinese, English and mixed text (the vocabulary of ``model/synth.py``) and a page footer,
  drawn with the Debian CJK fonts at 10-12 pt, then slightly rotated, blurred, noised, shaded and stored as
  JPEG at :data:`SCAN_DPI`;
* **text-layer PDF**: A4 pages of Helvetica text (real text objects), written object by object.

Every page depends only on the seed, its index and the installed fonts and library versions; each function
also returns the drawn text, which the benchmark scores the engines' output against.
"""

from __future__ import annotations

import hashlib
import io
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFont

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from tests.pdfs import assemble_pdf  # noqa: E402

DEFAULT_SEED = 20261124
#: A4 in PDF points (1/72 inch).
A4_POINTS = (595.28, 841.89)
#: The resolution the "scanner" writes the page images at.
SCAN_DPI = 200


def _synth() -> Any:
    """Import ``model/synth.py`` (a sibling script, not a package) for its vocabulary and font list."""
    model_dir = str(_REPO / "model")
    if model_dir not in sys.path:
        sys.path.insert(0, model_dir)
    import synth

    synth.check_fonts()
    return synth


class _Fonts:
    """Load each (face, size) once."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int, int], ImageFont.FreeTypeFont] = {}

    def get(self, face: Any, size: int) -> ImageFont.FreeTypeFont:
        """Return ``face`` (a ``synth.FontFace``) at ``size`` pixels."""
        key = (face.path, face.index, size)
        if key not in self._cache:
            self._cache[key] = ImageFont.truetype(face.path, size, index=face.index)
        return self._cache[key]


def _fill_line(
    rng: np.random.Generator,
    synth: Any,
    fits: Callable[[str], bool],
    accept: Callable[[str], bool] | None = None,
) -> str:
    """Join random phrases with spaces for as long as ``fits`` accepts the line (one phrase at least).

    ``accept`` filters the phrases (the text-layer PDF takes printable ASCII only). A first phrase that does
    not fit on its own is cut to fit.
    """
    text = ""
    for _ in range(200):
        piece, _ = synth.random_text(rng)
        if accept is not None and not accept(piece):
            continue
        candidate = f"{text} {piece}" if text else piece
        if fits(candidate):
            text = candidate
            continue
        if not text:
            while piece and not fits(piece):
                piece = piece[:-1]
            text = piece.strip()
        break
    return text


def scan_page(seed: int, index: int, total: int) -> tuple[Image.Image, list[str]]:
    """Render page ``index`` of a scanned A4 document at :data:`SCAN_DPI`; return it and its text lines.

    The page depends only on ``(seed, index)`` and the installed fonts and library versions.
    """
    synth = _synth()
    rng = np.random.default_rng([seed, index])
    fonts = _Fonts()
    width = round(A4_POINTS[0] / 72 * SCAN_DPI)
    height = round(A4_POINTS[1] / 72 * SCAN_DPI)
    regular = [f for f in synth.FONTS if f.cjk and "Bold" not in f.path]
    bold = [f for f in synth.FONTS if f.cjk and "Bold" in f.path]
    body_px = round(float(rng.uniform(10.0, 12.0)) * SCAN_DPI / 72)
    body = fonts.get(regular[int(rng.integers(len(regular)))], body_px)
    heading = fonts.get(bold[int(rng.integers(len(bold)))], round(body_px * float(rng.uniform(1.4, 1.8))))
    footer = fonts.get(regular[0], round(body_px * 0.85))
    left = round(float(rng.uniform(0.75, 1.0)) * SCAN_DPI)
    top = round(float(rng.uniform(0.7, 1.0)) * SCAN_DPI)
    bottom = height - round(float(rng.uniform(0.8, 1.0)) * SCAN_DPI)
    column = width - 2 * left
    leading = round(body_px * float(rng.uniform(1.35, 1.65)))

    canvas = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(canvas)
    lines: list[str] = []
    title_width = column * float(rng.uniform(0.4, 0.8))
    title = _fill_line(rng, synth, lambda t: heading.getlength(t) <= title_width)
    draw.text((left, top), title, fill=0, font=heading)
    lines.append(title)
    y = top + round(heading.size * 2.2)
    while y + leading <= bottom:
        count = int(rng.integers(2, 9))
        for k in range(count):
            if y + leading > bottom:
                break
            indent = 2 * body_px if k == 0 else 0
            limit = (column - indent) * (float(rng.uniform(0.25, 0.9)) if k == count - 1 else 1.0)
            text = _fill_line(rng, synth, lambda t, limit=limit: body.getlength(t) <= limit)
            draw.text((left + indent, y), text, fill=0, font=body)
            lines.append(text)
            y += leading
        y += round(leading * float(rng.uniform(0.4, 1.0)))
    number = f"第 {index + 1} 页 / 共 {total} 页" if rng.random() < 0.5 else f"Page {index + 1} of {total}"
    draw.text(((width - footer.getlength(number)) / 2, bottom + 0.35 * SCAN_DPI), number, 0, font=footer)
    lines.append(number)

    # The scan: a slight skew, optics blur, uneven lighting, paper tint, ink that is not black, noise.
    canvas = canvas.rotate(
        float(rng.normal(0.0, 0.35)), resample=Image.Resampling.BICUBIC, fillcolor=255, expand=False
    )
    optics = float(rng.uniform(0.7, 0.9))  # the scanner's optics resolve less than its pixel pitch
    canvas = canvas.resize((round(width * optics), round(height * optics)), Image.Resampling.BOX)
    gray = np.asarray(canvas.resize((width, height), Image.Resampling.BILINEAR), np.float32) / 255.0
    ink = float(rng.uniform(15, 60))
    paper = np.float32(rng.uniform(228, 248)) + rng.normal(0, 3, 3).astype(np.float32)
    shade = np.linspace(1.0 - float(rng.uniform(0.0, 0.06)), 1.0, width, dtype=np.float32)[None, :, None]
    rgb = ink + (paper[None, None, :] - ink) * gray[:, :, None] * shade
    rgb += rng.standard_normal((height, width, 1), dtype=np.float32) * float(rng.uniform(2.0, 6.0))
    page = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    return page, lines


def scanned_pdf(path: Path, seed: int, first: int, count: int, total: int) -> tuple[list[list[str]], str]:
    """Write pages ``first .. first+count-1`` as an image-only PDF at ``path``.

    Each page image is encoded as JPEG once and embedded as it is (no re-encoding), at :data:`SCAN_DPI`, so
    the page is exactly A4. Pages are generated one at a time. Returns the pages' text lines and the
    SHA-256 of the page images (the PDF's own bytes differ between runs: pdfium writes a fresh file ID).
    """
    pdf = pdfium.PdfDocument.new()
    truth: list[list[str]] = []
    digest = hashlib.sha256()
    try:
        for index in range(first, first + count):
            image, lines = scan_page(seed, index, total)
            quality = 70 + (index * 7) % 21  # 70..90, varies by page like scanner settings
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=quality)
            digest.update(buffer.getvalue())
            buffer.seek(0)
            page = pdf.new_page(*A4_POINTS)
            picture = pdfium.PdfImage.new(pdf)
            picture.load_jpeg(buffer, inline=True)
            picture.set_matrix(pdfium.PdfMatrix().scale(*A4_POINTS))
            page.insert_obj(picture)
            page.gen_content()
            page.close()
            truth.append(lines)
        with path.open("wb") as out:
            pdf.save(out)
    finally:
        pdf.close()
    return truth, digest.hexdigest()


def _pdf_string(text: str) -> bytes:
    """Encode ``text`` as a PDF literal string (Latin-1, with ``\\``, ``(`` and ``)`` escaped)."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("latin-1") + b")"


def text_pages(seed: int, pages: int) -> list[list[str]]:
    """The lines of a text-layer document: a heading, ASCII lines of at most 72 characters, a footer."""
    synth = _synth()
    out: list[list[str]] = []

    def ascii_only(text: str) -> bool:
        return text.isascii() and text.isprintable()

    for index in range(pages):
        rng = np.random.default_rng([seed, 2_000_000 + index])
        heading = _fill_line(rng, synth, lambda t: len(t) <= 40, ascii_only)
        body = [_fill_line(rng, synth, lambda t: len(t) <= 72, ascii_only) for _ in range(44)]
        out.append([heading, *body, f"Page {index + 1} of {pages}"])
    return out


def text_pdf(pages: Sequence[Sequence[str]]) -> bytes:
    """A PDF with one A4 page per entry of ``pages``: real Helvetica text objects, 16 pt heading, 11 pt body.

    The first line of each page is the heading, the last the footer; written object by object with a
    cross-reference table, since pypdfium2 cannot add text in a standard font portably.
    """
    width, height = (round(v) for v in A4_POINTS)
    count = len(pages)
    # Objects: 1 catalog, 2 page tree, 3 font, then per page a page object and its content stream.
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, lines in enumerate(pages):
        head, *body, foot = lines
        ops = [b"BT /F1 16 Tf 64 %d Td " % (height - 80) + _pdf_string(head) + b" Tj ET"]
        ops.append(b"BT /F1 11 Tf 15 TL 64 %d Td" % (height - 120))
        ops += [_pdf_string(line) + b" '" for line in body]
        ops.append(b"ET")
        ops.append(b"BT /F1 9 Tf %d 40 Td " % (width // 2 - 30) + _pdf_string(foot) + b" Tj ET")
        content = b"\n".join(ops)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R >> >> >>" % (width, height, 5 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    return assemble_pdf(objects)
