"""Where encoded bytes become pixels: the engine's decoder.

A decoder turns an image into a BGR array and a document into pages. :class:`InProcessDecoder`, the
library's default, does both in the calling process, as the command line needs. The server uses
:class:`~.sandbox.SandboxDecoder`, which does the same in child processes with a memory limit and a
deadline per call, because native decoders cannot be interrupted in-process.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np

from .decode import decode_image
from .pages import DocumentLimits, Page, PageSelection, iter_pages


class Decoder(Protocol):
    """Decodes images and splits documents; raises the library's image errors, ``TimeoutError`` late."""

    def decode(self, data: bytes, max_pixels: int, timeout: float | None) -> np.ndarray:
        """Decode one image (see :func:`~.decode.decode_image`) within *timeout* seconds."""
        ...

    def pages(
        self,
        data: bytes,
        limits: DocumentLimits,
        words: bool,
        selection: PageSelection | None,
        deadline: float | None,
    ) -> Iterator[Page]:
        """Yield a document's pages (see :func:`~.pages.iter_pages`) until *deadline* (monotonic)."""
        ...


class InProcessDecoder:
    """Decodes in the calling process; the timeout is not enforced inside a decoder (it cannot be)."""

    def decode(self, data: bytes, max_pixels: int, timeout: float | None) -> np.ndarray:
        """Decode one image here."""
        return decode_image(data, max_pixels=max_pixels)

    def pages(
        self,
        data: bytes,
        limits: DocumentLimits,
        words: bool,
        selection: PageSelection | None,
        deadline: float | None,
    ) -> Iterator[Page]:
        """Yield a document's pages, read here."""
        return iter_pages(data, limits, words, selection)
