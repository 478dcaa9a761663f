"""Hostile inputs, generated (nothing is downloaded): for the hostile-input tests and the benchmark.

Each is small on the wire and expensive for a naive server: nested PDF forms, text layers with very many
characters, TIFFs with thousands of pages, progressive JPEGs with thousands of scans, JSON that explodes
into objects.
"""

from __future__ import annotations

import io
import struct
import zlib

from pdfs import assemble_pdf
from PIL import Image

PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources %s >>"
CATALOG = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"]


def stream(body: bytes, extra: bytes = b"", compress: bool = False) -> bytes:
    """A PDF stream object's body (optionally Flate-compressed)."""
    if compress:
        body = zlib.compress(body, 9)
        extra += b" /Filter /FlateDecode"
    return b"<< /Length %d%s >>\nstream\n" % (len(body), extra) + body + b"\nendstream"


def nested_forms_pdf(depth: int, fanout: int = 2) -> bytes:
    """One page drawing a form that draws the next form *fanout* times, *depth* deep (fanout**depth paths).

    About 3 KB; at depth 18 pdfium renders it for a minute and takes about half a gigabyte.
    """
    objects = [*CATALOG, PAGE % b"<< /XObject << /F 5 0 R >> >>", stream(b"/F Do")]
    for level in range(depth):
        number = 5 + level
        if level < depth - 1:
            body = b" ".join(b"q /F Do Q" for _ in range(fanout))
            resources = b" /Resources << /XObject << /F %d 0 R >> >>" % (number + 1)
        else:
            body, resources = b"0 0 m 612 792 l S 10 10 100 100 re f", b""
        objects.append(stream(body, b" /Type /XObject /Subtype /Form /BBox [0 0 612 792]" + resources))
    return assemble_pdf(objects)


def text_layer_pdf(chars: int, compress: bool = False, text: bytes = b"x") -> bytes:
    """One page of *chars* characters, each placed on its own (a text run each): a text-layer stress.

    Uncompressed, 20 000 characters are about 72 KB; compressed, a million fit in a few hundred KB.
    """
    ops = [b"BT /F1 4 Tf"]
    per_row = 150
    for i in range(chars):
        x, y = 10 + (i % per_row) * 4, 780 - (i // per_row) * 5 % 770
        ops.append(b"1 0 0 1 %d %d Tm (%s) Tj" % (x, y, text))
    ops.append(b"ET")
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    objects = [
        *CATALOG,
        PAGE % b"<< /Font << /F1 5 0 R >> >>",
        stream(b"\n".join(ops), compress=compress),
        font,
    ]
    return assemble_pdf(objects)


def control_text_pdf() -> bytes:
    """A text-layer page whose strings hold control characters (which XML 1.0 forbids)."""
    ops = b"BT /F1 24 Tf 72 700 Td (Total\x01 due\x07: 42\x1b) Tj 0 -40 Td (line\x0b two\x0c) Tj ET"
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    return assemble_pdf([*CATALOG, PAGE % b"<< /Font << /F1 5 0 R >> >>", stream(ops), font])


def many_page_tiff(pages: int) -> bytes:
    """A TIFF of *pages* 1x1 grey pages (about 110 bytes each), written directly (Pillow's writer is slow)."""
    pixel_at = 8
    first_ifd = 10  # after the header and one byte of pixel data (and a pad byte)
    entry_count = 8
    ifd_size = 2 + entry_count * 12 + 4
    out = bytearray(struct.pack("<2sHI", b"II", 42, first_ifd) + b"\x80\x00")
    for page in range(pages):
        following = 0 if page == pages - 1 else first_ifd + (page + 1) * ifd_size
        entries = [  # tag, type (3 SHORT, 4 LONG), value
            (256, 3, 1),  # ImageWidth
            (257, 3, 1),  # ImageLength
            (258, 3, 8),  # BitsPerSample
            (259, 3, 1),  # Compression: none
            (262, 3, 1),  # PhotometricInterpretation: black is zero
            (273, 4, pixel_at),  # StripOffsets
            (278, 3, 1),  # RowsPerStrip
            (279, 4, 1),  # StripByteCounts
        ]
        out += struct.pack("<H", entry_count)
        for tag, kind, value in entries:
            out += struct.pack("<HHI", tag, kind, 1) + struct.pack("<I", value)
        out += struct.pack("<I", following)
    return bytes(out)


def progressive_jpeg_bomb(side: int, scans: int) -> bytes:
    """A flat *side* x *side* progressive JPEG whose smallest scan is repeated *scans* more times.

    Every scan makes the decoder pass over the whole image: 6000 x 6000 with 10 000 scans is about
    230 KB and decodes for minutes.
    """
    buf = io.BytesIO()
    Image.new("RGB", (side, side), (200, 180, 160)).save(buf, "JPEG", progressive=True, quality=90)
    data = buf.getvalue()
    segments: list[tuple[int, bytes]] = []
    pos = 2
    while pos < len(data):
        marker = data[pos + 1]
        if marker == 0xD9:
            segments.append((marker, data[pos : pos + 2]))
            break
        end = pos + 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if marker == 0xDA:  # a scan: its entropy-coded data runs to the next marker
            while not (data[end] == 0xFF and data[end + 1] != 0 and not 0xD0 <= data[end + 1] <= 0xD7):
                end += 1
        segments.append((marker, data[pos:end]))
        pos = end
    smallest = min((s for m, s in segments if m == 0xDA), key=len)
    out = bytearray(b"\xff\xd8")
    for marker, segment in segments:
        if marker == 0xD9:
            out += smallest * scans
        out += segment
    return bytes(out)


def json_objects(count: int) -> bytes:
    """``[{},{},...]`` with *count* objects: a few bytes each on the wire, about 130 bytes each parsed."""
    return b"[" + b"{}," * (count - 1) + b"{}]"
