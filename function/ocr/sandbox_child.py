"""The decoder process: untrusted bytes become pixels and text layers for its parent (see :mod:`.sandbox`).

Run as ``python -m function.ocr.sandbox_child MEMORY_LIMIT``. It imports only the decoding side of the
library (Pillow, pypdfium2, NumPy; no ONNX Runtime), limits its own address space to *MEMORY_LIMIT*
bytes before it reads any input, and then answers requests on stdin/stdout until stdin closes. Every
library error is sent back by name; a ``MemoryError`` is reported as an image too large to decode. A
decoder bug that crashes or hangs this process costs the parent one killed child, never itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from .decode import decode_image
from .errors import ImageError, ImageTooLargeError
from .pages import DocumentLimits, Page, PageSelection, iter_pages
from .sandbox_wire import read_message, write_message


def _trimmer() -> Callable[[int], int] | None:
    """Return glibc's ``malloc_trim`` (hands freed heap back to the system), or ``None`` without glibc."""
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


def _limit_memory(limit: int) -> None:
    """Cap this process's address space, and make it the first the kernel's OOM killer picks.

    Under a container's memory limit a decoder near its cap can push the whole pod over: the kernel then
    kills this child (which the parent replaces), not the server.
    """
    if limit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    with contextlib.suppress(OSError):
        Path("/proc/self/oom_score_adj").write_text("1000", encoding="ascii")


def _page_header(page: Page) -> dict[str, Any]:
    header: dict[str, Any] = {
        "number": page.number,
        "count": page.count,
        "width": page.width,
        "height": page.height,
        "dpi": page.dpi,
        "rotation": page.rotation,
        "reading": page.reading,
        "shape": list(page.pixels.shape) if page.pixels is not None else None,
    }
    if page.text is not None:
        header["text"] = [
            {
                "text": run.text,
                "box": run.box,
                "words": [{"text": w.text, "confidence": w.confidence, "box": w.box} for w in run.words],
            }
            for run in page.text
        ]
    return header


def serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """Answer requests until *requests* ends."""
    pages: Iterator[Page] | None = None
    trim = _trimmer()
    while True:
        if trim is not None:
            trim(0)  # the last request's pixels and input are gone: give their memory back
        message = read_message(requests)
        if message is None:
            return
        header, payload = message
        del message
        op = header.get("op")
        try:
            if op == "decode":
                pixels = decode_image(payload, max_pixels=int(header["max_pixels"]))
                write_message(replies, {"ok": True, "shape": list(pixels.shape)}, pixels)
                del pixels
            elif op == "open":
                limits = DocumentLimits(**header["limits"])
                selection = PageSelection.parse(header["pages"]) if header.get("pages") else None
                pages = iter_pages(payload, limits, bool(header["words"]), selection)
                write_message(replies, {"ok": True})
            elif op == "next":
                page = next(pages, None) if pages is not None else None
                if page is None:
                    pages = None
                    write_message(replies, {"ok": True, "done": True})
                else:
                    write_message(replies, {"ok": True, "page": _page_header(page)}, page.pixels)
                    del page
            else:
                write_message(replies, {"ok": False, "error": "internal", "message": f"unknown op {op!r}"})
        except ImageError as exc:
            pages = None
            write_message(replies, {"ok": False, "error": type(exc).__name__, "message": str(exc)})
        except MemoryError:
            pages = None
            message = "The image needs more memory to decode than this server allows."
            write_message(replies, {"ok": False, "error": ImageTooLargeError.__name__, "message": message})
        except Exception as exc:
            pages = None
            write_message(
                replies, {"ok": False, "error": "internal", "message": f"{type(exc).__name__}: {exc}"}
            )


def main(argv: list[str]) -> int:
    """Limit memory, keep the protocol pipe to ourselves, serve."""
    _limit_memory(int(argv[1]) if len(argv) > 1 else 0)
    replies = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the protocol
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    serve(requests, replies)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
