"""Turn the bytes of an uploaded image into the pixel array the ONNX models expect.

The only public entry point is :func:`decode_image`. It accepts PNG, JPEG, WebP, BMP, TIFF and GIF, applies
the EXIF orientation, flattens transparency onto white and returns a C-contiguous ``H x W x 3`` ``uint8``
array in BGR channel order. Every failure is raised as a subclass of :class:`~function.ocr.errors.ImageError`
whose message can be shown to the person who sent the image.

Memory: the decoded image is converted to BGR in horizontal strips written straight into the result array,
so apart from the decoder's own buffer (and one temporary copy when an EXIF rotation is applied) there is a
single full-size allocation, the returned array.

Security: the pixel cap is checked from the image header, before the decoder allocates pixel memory. Pillow's
own decompression-bomb guard (``Image.MAX_IMAGE_PIXELS``) is left untouched; if it triggers first (images
above twice its limit, or above its limit when warnings are turned into errors) the result is the same
:class:`~function.ocr.errors.ImageTooLargeError`. Callers who raise ``max_pixels`` above Pillow's limit
(about 89 million pixels) will see Pillow's ``DecompressionBombWarning`` logged for such images and cannot go
beyond twice that limit.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import Final

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import EmptyImageError, ImageError, ImageTooLargeError, NotAnImageError, UnsupportedImageError

__all__ = ["DEFAULT_MAX_PIXELS", "FORMATS_TEXT", "decode_image"]

DEFAULT_MAX_PIXELS: Final[int] = 40_000_000
"""Largest ``width * height`` accepted by default (about 7300 x 5500)."""

_FORMATS: Final[tuple[str, ...]] = ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF")
#: The formats decoded, as messages name them (an adapter that also reads PDFs words its own list).
FORMATS_TEXT: Final[str] = "PNG, JPEG, WebP, BMP, TIFF or GIF"

# Pixels converted per strip: bounds the temporary memory of the conversion to about 2 MB.
_STRIP_PIXELS: Final[int] = 1 << 18
_WHITE: Final[tuple[int, int, int]] = (255, 255, 255)

# Modes that carry an alpha channel of their own. Other modes may carry a transparent colour in
# ``info["transparency"]`` (PNG tRNS, GIF transparent index); both are composited on white.
_ALPHA_MODES: Final[frozenset[str]] = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_UINT16_MODES: Final[frozenset[str]] = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})

# Leading bytes of the formats we accept, to tell "corrupt PNG" from "not an image at all".
_ACCEPTED_SIGNATURES: Final[tuple[bytes, ...]] = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"II+\x00",
    b"MM\x00+",
)

# Leading bytes of well-known image or document formats that we deliberately do not decode.
_OTHER_SIGNATURES: Final[tuple[tuple[bytes, str], ...]] = (
    (b"8BPS", "Photoshop (PSD)"),
    (b"%!PS", "PostScript (EPS)"),
    (b"\xc5\xd0\xd3\xc6", "EPS"),
    (b"%PDF", "PDF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"icns", "ICNS"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"),
    (b"\xff\x0a", "JPEG XL"),
    (b"qoif", "QOI"),
    (b"DDS ", "DDS"),
    (b"#?RADIANCE", "Radiance HDR"),
    (b"v/1\x01", "OpenEXR"),
    (b"SIMPLE  =", "FITS"),
    (b"\x0a\x05\x01", "PCX"),
    (b"\x01\xda\x00", "SGI"),
)
_HEIF_BRANDS: Final[frozenset[bytes]] = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"hevc"}
)
_AVIF_BRANDS: Final[frozenset[bytes]] = frozenset({b"avif", b"avis"})

_Converter = Callable[[Image.Image], np.ndarray]


def decode_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode an uploaded image into a BGR ``uint8`` array of shape ``(height, width, 3)``.

    Accepted formats are PNG, JPEG, WebP, BMP, TIFF and GIF; for animated or multi-page files the first
    frame is used. The EXIF orientation is applied, so the result is upright as a viewer would show it.
    Transparent pixels are composited on white. 16-bit images (``I;16`` modes) are scaled by 65535 to 8 bits,
    so a 16-bit image using the full range keeps full contrast; 32-bit integer and float images (``I``, ``F``)
    have no nominal range and are stretched from their own minimum and maximum to 0-255.

    Args:
        data: The raw bytes of the image file.
        max_pixels: Largest accepted ``width * height``. Checked against the header before any pixel
            memory is allocated.

    Returns:
        A C-contiguous, writable array of shape ``(height, width, 3)``, dtype ``uint8``, BGR order.

    Raises:
        EmptyImageError: ``data`` is empty or the image has zero width or height.
        ImageTooLargeError: The image has more than ``max_pixels`` pixels.
        UnsupportedImageError: A recognised but unsupported format, or a colour mode we cannot convert.
        NotAnImageError: The bytes are not an image, or the image data is truncated or corrupt.
        ValueError: ``max_pixels`` is not a positive integer (a programming error, not an image error).

    """
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
        raise ValueError(f"max_pixels must be a positive integer, got {max_pixels!r}")
    if not data:
        raise EmptyImageError("The request contained no image data.")
    try:
        image = _open(data)
        with image:
            _check_size(image.size, max_pixels)
            image.load()
            _apply_exif_orientation(image)
            return pil_to_bgr(image)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_large(_declared_size(data), max_pixels) from exc
    except MemoryError as exc:
        raise ImageTooLargeError("There is not enough memory to decode this image.") from exc
    except Exception as exc:
        # Pillow and its codecs report damaged data through many exception types (OSError, SyntaxError,
        # ValueError, EOFError, struct.error, ...); all of them mean the same thing to the sender.
        raise NotAnImageError("The image data is truncated or corrupt.") from exc


def _open(data: bytes) -> Image.Image:
    """Identify ``data`` with the whitelisted Pillow plugins only; no pixels are decoded yet."""
    try:
        return Image.open(io.BytesIO(data), formats=list(_FORMATS))
    except UnidentifiedImageError as exc:
        raise _unidentified(data) from exc


def _check_size(size: tuple[int, int], max_pixels: int) -> None:
    """Reject empty images and images above the pixel cap, using the size from the header."""
    width, height = size
    if width <= 0 or height <= 0:
        raise EmptyImageError("The image has zero width or height.")
    if width * height > max_pixels:
        raise _too_large(size, max_pixels)


def _too_large(size: tuple[int, int] | None, max_pixels: int) -> ImageTooLargeError:
    """Build the error for an image above the cap, naming its dimensions when they are known."""
    if size is None:
        return ImageTooLargeError(
            f"The image is too large to decode; the limit is {max_pixels:,} pixels (width x height)."
        )
    width, height = size
    return ImageTooLargeError(
        f"The image is {width}x{height} pixels ({width * height:,} pixels), more than the limit of "
        f"{max_pixels:,} pixels (width x height)."
    )


def _unidentified(data: bytes) -> ImageError:
    """Explain why no whitelisted plugin accepted ``data``."""
    size = _declared_size(data)
    if size is not None and (size[0] == 0 or size[1] == 0):
        return EmptyImageError("The image has zero width or height.")
    if data.startswith(_ACCEPTED_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return NotAnImageError("The image data is truncated or corrupt.")
    other = _other_format(data)
    if other is not None:
        return UnsupportedImageError(f"{other} files are not supported; please send {FORMATS_TEXT}.")
    return NotAnImageError(f"The data is not an image in a supported format ({FORMATS_TEXT}).")


def _other_format(data: bytes) -> str | None:
    """Name a recognised format outside the whitelist, or ``None``."""
    for signature, name in _OTHER_SIGNATURES:
        if data.startswith(signature):
            return name
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _HEIF_BRANDS:
            return "HEIC or HEIF"
        if brand in _AVIF_BRANDS:
            return "AVIF"
    if len(data) >= 3 and data[0:1] == b"P" and data[1:2] in b"1234567" and data[2:3].isspace():
        return "Netpbm (PBM, PGM, PPM)"
    head = data[:1024].lstrip()
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in head:
        return "SVG"
    return None


def _declared_size(data: bytes) -> tuple[int, int] | None:
    """Read width and height from a PNG, GIF, BMP or JPEG header without decoding, if possible."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data.startswith((b"GIF87a", b"GIF89a")) and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data.startswith(b"BM") and len(data) >= 26:
        if int.from_bytes(data[14:18], "little") == 12:  # OS/2 BITMAPCOREHEADER: unsigned 16-bit sides
            return int.from_bytes(data[18:20], "little"), int.from_bytes(data[20:22], "little")
        width = int.from_bytes(data[18:22], "little", signed=True)
        height = int.from_bytes(data[22:26], "little", signed=True)  # negative means top-down rows
        return abs(width), abs(height)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_declared_size(data)
    return None


def _jpeg_declared_size(data: bytes) -> tuple[int, int] | None:
    """Walk the JPEG marker segments up to the first start-of-frame and return its size."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        if marker == 0xDA:  # start of scan: no frame header before the data
            return None
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if pos + 9 > len(data):
                return None
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            return width, height
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return None


def _apply_exif_orientation(image: Image.Image) -> None:
    """Rotate or flip ``image`` in place as its EXIF orientation says (all eight values).

    A malformed EXIF block is treated as "no orientation": it should not make an otherwise good picture
    unreadable. ``exif_transpose`` either fails while reading the tag (nothing changed) or after the pixels
    were transposed (only metadata clean-up failed), so the pixels are consistent either way.
    """
    try:
        ImageOps.exif_transpose(image, in_place=True)
    except MemoryError:
        raise
    except Exception:
        return


def pil_to_bgr(image: Image.Image) -> np.ndarray:
    """Convert a loaded Pillow image of any supported mode to a BGR ``uint8`` array, strip by strip."""
    width, height = image.size
    convert = _strip_converter(image)
    out = np.empty((height, width, 3), dtype=np.uint8)
    rows = max(1, _STRIP_PIXELS // width)
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        out[top:bottom] = convert(image.crop((0, top, width, bottom)))
    return out


def _strip_converter(image: Image.Image) -> _Converter:
    """Choose how strips of ``image`` become BGR (or single-channel gray, broadcast to three channels)."""
    mode = image.mode
    # High-bit-depth gray first: Pillow's own conversions of these clip at 255. A transparent colour
    # declared for them (16-bit PNG tRNS) is ignored.
    if mode in _UINT16_MODES:
        return _uint16_to_gray
    if mode in ("I", "F"):
        return _stretch_converter(image)
    if mode in _ALPHA_MODES or "transparency" in image.info:
        if mode == "La":
            return lambda strip: _on_white(strip.convert("LA").convert("RGBA"))
        return lambda strip: _on_white(strip.convert("RGBA"))
    if mode == "RGB":
        return _rgb_to_bgr
    if mode == "L":
        return _gray
    if mode == "1":
        return lambda strip: _gray(strip.convert("L"))
    try:
        image.crop((0, 0, 1, 1)).convert("RGB")
    except (ValueError, OSError) as exc:
        raise UnsupportedImageError(f"Images with colour mode {mode} are not supported.") from exc
    return lambda strip: _rgb_to_bgr(strip.convert("RGB"))


def _rgb_to_bgr(strip: Image.Image) -> np.ndarray:
    """Pack an RGB strip as BGR bytes and view them as an array (no extra copy)."""
    width, height = strip.size
    return np.frombuffer(strip.tobytes("raw", "BGR"), dtype=np.uint8).reshape(height, width, 3)


def _gray(strip: Image.Image) -> np.ndarray:
    """View an ``L`` strip as ``(h, w, 1)``; assigning it into the BGR result repeats it in all channels."""
    return np.asarray(strip)[:, :, np.newaxis]


def _on_white(rgba: Image.Image) -> np.ndarray:
    """Composite an RGBA strip over an opaque white background and return it as BGR."""
    background = Image.new("RGB", rgba.size, _WHITE)
    background.paste(rgba, mask=rgba)
    return _rgb_to_bgr(background)


def _uint16_to_gray(strip: Image.Image) -> np.ndarray:
    """Scale 16-bit samples to 8 bits by 65535 -> 255 (rounded), keeping absolute brightness."""
    values = np.asarray(strip).astype(np.uint32)
    return ((values + 128) // 257).astype(np.uint8)[:, :, np.newaxis]


def _stretch_converter(image: Image.Image) -> _Converter:
    """Map 32-bit integer or float samples linearly from the image's own [min, max] onto [0, 255]."""
    low, high = image.getextrema()
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high)):
        raise UnsupportedImageError("Images with non-finite sample values are not supported.")
    if high == low:
        level = np.uint8(min(255.0, max(0.0, round(low))))
        return lambda strip: np.full((strip.height, strip.width, 1), level, dtype=np.uint8)
    scale = 255.0 / (high - low)

    def convert(strip: Image.Image) -> np.ndarray:
        values = (np.asarray(strip, dtype=np.float64) - low) * scale
        return np.clip(np.rint(values), 0, 255).astype(np.uint8)[:, :, np.newaxis]

    return convert
