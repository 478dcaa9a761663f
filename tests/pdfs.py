"""Hand-made PDFs for tests and benchmarks: numbered objects in, a valid file (with its xref table) out."""

from __future__ import annotations

from collections.abc import Sequence


def assemble_pdf(objects: Sequence[bytes]) -> bytes:
    """Write *objects* as ``1 0 obj`` … in order (object 1 must be the catalog) with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
