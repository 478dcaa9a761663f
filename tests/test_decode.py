"""Tests for function.ocr.decode: formats, colour modes, orientation, limits and typed errors."""

from __future__ import annotations

import io
import re
import struct
import time
import tracemalloc
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from function.ocr import decode
from function.ocr.decode import DEFAULT_MAX_PIXELS, decode_image
from function.ocr.errors import (
    EmptyImageError,
    ImageError,
    ImageTooLargeError,
    NotAnImageError,
    UnsupportedImageError,
)

RED_BGR = [0, 0, 255]
WHITE = [255, 255, 255]


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_claiming(width: int, height: int) -> bytes:
    """A syntactically valid PNG whose IHDR announces ``width x height`` RGB but carries almost no data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + png_chunk(b"IEND", b"")
    )


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real small JPEG whose SOF0 frame header is patched to announce ``width x height``."""
    data = bytearray(encode(Image.new("RGB", (16, 16), (10, 200, 30)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def assert_bgr_array(result: np.ndarray, width: int, height: int) -> None:
    assert result.shape == (height, width, 3)
    assert result.dtype == np.uint8
    assert result.flags.c_contiguous
    assert result.flags.writeable


# --- formats -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "params", "tolerance"),
    [
        ("PNG", {}, 0),
        ("JPEG", {"quality": 95}, 3),
        ("WEBP", {"quality": 95}, 6),
        ("WEBP", {"lossless": True}, 0),
        ("BMP", {}, 0),
        ("TIFF", {}, 0),
        ("TIFF", {"compression": "tiff_lzw"}, 0),
        ("GIF", {}, 0),
    ],
)
def test_every_format_decodes_pure_red_as_bgr(fmt: str, params: dict[str, object], tolerance: int) -> None:
    data = encode(Image.new("RGB", (40, 30), (255, 0, 0)), fmt, **params)
    result = decode_image(data)
    assert_bgr_array(result, 40, 30)
    assert np.abs(result.astype(int) - RED_BGR).max() <= tolerance


def test_channel_order_is_bgr_for_distinct_bands() -> None:
    rgb = np.zeros((6, 9, 3), dtype=np.uint8)
    rgb[:, 0:3] = (255, 0, 0)
    rgb[:, 3:6] = (0, 255, 0)
    rgb[:, 6:9] = (0, 0, 255)
    result = decode_image(encode(Image.fromarray(rgb), "PNG"))
    np.testing.assert_array_equal(result, rgb[:, :, ::-1])


def _frames(size: tuple[int, int]) -> list[Image.Image]:
    return [Image.new("RGB", size, color) for color in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "TIFF"])
def test_multi_frame_files_give_the_first_frame(fmt: str) -> None:
    first, *rest = _frames((12, 10))
    params: dict[str, object] = {"save_all": True, "append_images": rest}
    if fmt == "GIF":
        params["duration"] = 100
    if fmt == "WEBP":
        params["lossless"] = True
    data = encode(first, fmt, **params)
    with Image.open(io.BytesIO(data)) as check:
        assert getattr(check, "n_frames", 1) == 3
    result = decode_image(data)
    assert_bgr_array(result, 12, 10)
    assert (result == RED_BGR).all()


def test_strips_cover_a_tall_and_a_wide_image(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decode, "_STRIP_PIXELS", 64)  # force many strips, including a partial last one
    rng = np.random.default_rng(1)
    for shape in ((101, 7, 3), (3, 211, 3)):
        rgb = rng.integers(0, 256, size=shape, dtype=np.uint8)
        result = decode_image(encode(Image.fromarray(rgb), "PNG"))
        np.testing.assert_array_equal(result, rgb[:, :, ::-1])


# --- colour modes --------------------------------------------------------------------------------------


def test_mode_1_gives_black_and_white() -> None:
    image = Image.new("1", (8, 4), 0)
    image.paste(1, (4, 0, 8, 4))
    for fmt in ("PNG", "TIFF", "BMP"):
        data = encode(image, fmt)
        with Image.open(io.BytesIO(data)) as check:
            assert check.mode == "1"
        result = decode_image(data)
        assert (result[:, :4] == 0).all()
        assert (result[:, 4:] == 255).all()


def test_mode_l_repeats_gray_in_all_channels() -> None:
    gray = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    result = decode_image(encode(Image.fromarray(gray, "L"), "PNG"))
    for channel in range(3):
        np.testing.assert_array_equal(result[:, :, channel], gray)


def test_rgba_is_composited_on_white() -> None:
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)  # fully transparent black: a "transparent screenshot"
    rgba[0, 0] = (0, 0, 0, 255)  # opaque black text pixel
    rgba[0, 1] = (255, 0, 0, 255)  # opaque red
    rgba[0, 2] = (0, 0, 0, 128)  # half-transparent black
    result = decode_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert result[0, 0].tolist() == [0, 0, 0]
    assert result[0, 1].tolist() == RED_BGR
    assert all(abs(int(v) - 127) <= 2 for v in result[0, 2])
    assert (result[1:] == 255).all()


@pytest.mark.parametrize("fmt", ["TIFF", "WEBP"])
def test_rgba_in_other_formats_is_composited_on_white(fmt: str) -> None:
    image = Image.new("RGBA", (6, 6), (0, 0, 0, 0))
    image.paste((0, 0, 255, 255), (0, 0, 3, 6))
    params = {"lossless": True} if fmt == "WEBP" else {}
    result = decode_image(encode(image, fmt, **params))
    assert (result[:, :3] == [255, 0, 0]).all()
    assert (result[:, 3:] == 255).all()


def test_la_is_composited_on_white() -> None:
    image = Image.new("LA", (4, 2), (0, 0))
    image.putpixel((0, 0), (30, 255))
    data = encode(image, "PNG")
    with Image.open(io.BytesIO(data)) as check:
        assert check.mode == "LA"
    result = decode_image(data)
    assert result[0, 0].tolist() == [30, 30, 30]
    assert result[1, 3].tolist() == WHITE


def _palette_image() -> Image.Image:
    image = Image.new("P", (3, 1))
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 20, 40, 60] + [0] * (256 * 3 - 12))
    image.putdata([0, 1, 3])
    return image


def test_palette_png_colours() -> None:
    result = decode_image(encode(_palette_image(), "PNG"))
    assert result[0].tolist() == [[0, 0, 255], [0, 255, 0], [60, 40, 20]]


def test_palette_with_transparent_index_is_white() -> None:
    for fmt in ("PNG", "GIF"):
        data = encode(_palette_image(), fmt, transparency=1)
        result = decode_image(data)
        assert result[0].tolist() == [[0, 0, 255], WHITE, [60, 40, 20]], fmt


def test_palette_with_per_entry_alpha_is_composited() -> None:
    data = encode(_palette_image(), "PNG", transparency=bytes([255, 0, 255, 128]))
    result = decode_image(data)
    assert result[0, 0].tolist() == [0, 0, 255]
    assert result[0, 1].tolist() == WHITE
    # 50 % of (20, 40, 60) over white, in BGR
    assert np.abs(result[0, 2].astype(int) - [157, 147, 137]).max() <= 2


def test_rgb_and_gray_with_transparent_colour_are_white() -> None:
    rgb = Image.new("RGB", (2, 1), (1, 2, 3))
    rgb.putpixel((1, 0), (200, 0, 0))
    assert decode_image(encode(rgb, "PNG", transparency=(1, 2, 3)))[0].tolist() == [WHITE, [0, 0, 200]]
    gray = Image.new("L", (2, 1), 5)
    gray.putpixel((1, 0), 9)
    assert decode_image(encode(gray, "PNG", transparency=5))[0].tolist() == [WHITE, [9, 9, 9]]


def test_cmyk_jpeg_colour_is_approximately_right() -> None:
    image = Image.new("CMYK", (16, 8), (0, 255, 255, 0))  # red
    image.paste((255, 0, 255, 0), (8, 0, 16, 8))  # green
    data = encode(image, "JPEG", quality=95)
    assert b"Adobe" in data  # libjpeg stores CMYK inverted and flags it with an Adobe APP14 segment
    with Image.open(io.BytesIO(data)) as check:
        assert check.mode == "CMYK"
    result = decode_image(data).astype(int)
    assert np.abs(result[4, 2] - [0, 0, 255]).max() <= 12
    assert np.abs(result[4, 13] - [0, 255, 0]).max() <= 12


def test_cmyk_tiff_exact() -> None:
    image = Image.new("CMYK", (2, 1), (0, 0, 0, 0))
    image.putpixel((1, 0), (0, 0, 0, 255))
    assert decode_image(encode(image, "TIFF"))[0].tolist() == [WHITE, [0, 0, 0]]


def _ramp16(width: int = 256) -> np.ndarray:
    return np.linspace(0, 65535, width).round().astype(np.uint16).reshape(1, width).repeat(3, axis=0)


@pytest.mark.parametrize(("mode", "fmt"), [("I;16", "PNG"), ("I;16", "TIFF"), ("I;16B", "TIFF")])
def test_16_bit_full_range_keeps_full_contrast(mode: str, fmt: str) -> None:
    ramp = _ramp16()
    raw = ramp.astype(">u2" if mode.endswith("B") else "<u2").tobytes()
    image = Image.frombytes(mode, (ramp.shape[1], ramp.shape[0]), raw)
    data = encode(image, fmt)
    with Image.open(io.BytesIO(data)) as check:
        assert check.mode == mode
    result = decode_image(data)
    assert_bgr_array(result, 256, 3)
    gray = result[:, :, 0]
    assert gray.min() == 0
    assert gray.max() == 255
    np.testing.assert_array_equal(gray, (ramp.astype(np.uint32) + 128) // 257)
    assert (result[:, :, 1] == gray).all()
    assert (result[:, :, 2] == gray).all()


def test_16_bit_uses_absolute_scale_not_stretch() -> None:
    values = np.array([[0, 257 * 10, 65535]], dtype="<u2")
    result = decode_image(encode(Image.frombytes("I;16", (3, 1), values.tobytes()), "PNG"))
    assert result[0, :, 0].tolist() == [0, 10, 255]


def test_32_bit_integer_is_stretched_to_its_range() -> None:
    values = np.array([[-5, 70000, 13996]], dtype=np.int32)  # 13996 is 20 % of the way
    data = encode(Image.fromarray(values), "TIFF")
    with Image.open(io.BytesIO(data)) as check:
        assert check.mode == "I"
    assert decode_image(data)[0, :, 0].tolist() == [0, 255, 51]


def test_float_image_is_stretched_to_its_range() -> None:
    values = np.array([[0.0, 0.5, 1.0, 0.25]], dtype=np.float32)
    data = encode(Image.fromarray(values), "TIFF")
    with Image.open(io.BytesIO(data)) as check:
        assert check.mode == "F"
    assert decode_image(data)[0, :, 2].tolist() == [0, 128, 255, 64]


def test_constant_32_bit_image_does_not_divide_by_zero() -> None:
    data = encode(Image.fromarray(np.full((2, 2), 300, dtype=np.int32)), "TIFF")
    assert (decode_image(data) == 255).all()


def test_ycbcr_tiff_is_converted() -> None:
    data = encode(Image.new("RGB", (4, 4), (255, 0, 0)).convert("YCbCr"), "TIFF")
    with Image.open(io.BytesIO(data)) as check:
        assert check.mode == "YCbCr"
    assert np.abs(decode_image(data).astype(int) - RED_BGR).max() <= 3


def test_lab_tiff_is_converted() -> None:
    image = Image.new("LAB", (3, 1))
    image.putdata([(255, 128, 128), (0, 128, 128), (136, 208, 195)])  # white, black, a saturated red
    data = encode(image, "TIFF")
    with Image.open(io.BytesIO(data)) as check:
        assert check.mode == "LAB"
    white, black, red = decode_image(data)[0].astype(int)
    assert white.min() >= 245
    assert black.max() <= 10
    assert red[2] >= 220 and red[0] <= 40 and red[1] <= 40


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (Image.new("HSV", (2, 2), (0, 255, 255)), RED_BGR),
        (Image.new("RGBX", (2, 2), (255, 0, 0, 0)), RED_BGR),
        (Image.new("RGBA", (2, 2), (255, 0, 0, 255)).convert("RGBa"), RED_BGR),
        (Image.new("LA", (2, 2), (0, 0)).convert("La"), WHITE),
        (Image.new("PA", (2, 2), (0, 0)), WHITE),
    ],
    ids=["HSV", "RGBX", "RGBa", "La", "PA"],
)
def test_in_memory_only_modes(image: Image.Image, expected: list[int]) -> None:
    # These modes cannot be written by Pillow to the accepted formats; exercise the converter directly.
    assert image.mode in {"HSV", "RGBX", "RGBa", "La", "PA"}
    result = decode.pil_to_bgr(image)
    assert_bgr_array(result, 2, 2)
    assert (result == expected).all()


# --- EXIF orientation ----------------------------------------------------------------------------------


def _upright() -> np.ndarray:
    """A 48x32 white image with a red block top-left, a blue block top-right and a green block bottom-left."""
    rgb = np.full((32, 48, 3), 255, dtype=np.uint8)
    rgb[:12, :12] = (255, 0, 0)
    rgb[:12, -12:] = (0, 0, 255)
    rgb[-12:, :12] = (0, 255, 0)
    return rgb


def _stored_for(orientation: int, upright: np.ndarray) -> np.ndarray:
    """The pixels a camera stores when the EXIF orientation tag says ``orientation`` (EXIF 2.3, table 6)."""
    return {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],  # 0th row top, 0th column right
        3: lambda a: a[::-1, ::-1],  # bottom, right
        4: lambda a: a[::-1, :],  # bottom, left
        5: lambda a: a.transpose(1, 0, 2),  # 0th row is the left side, 0th column the top
        6: lambda a: a[:, ::-1].transpose(1, 0, 2),  # 0th row is the right side, 0th column the top
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),  # right side, bottom
        8: lambda a: a[::-1, :].transpose(1, 0, 2),  # left side, bottom
    }[orientation](upright)


def _with_orientation(orientation: int, fmt: str) -> bytes:
    stored = np.ascontiguousarray(_stored_for(orientation, _upright()))
    exif = Image.Exif()
    exif[0x0112] = orientation
    params: dict[str, object] = {"exif": exif.tobytes()}
    if fmt == "JPEG":
        params["quality"] = 95
    return encode(Image.fromarray(stored), fmt, **params)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_png_all_eight(orientation: int) -> None:
    result = decode_image(_with_orientation(orientation, "PNG"))
    np.testing.assert_array_equal(result, _upright()[:, :, ::-1])


@pytest.mark.parametrize("orientation", [3, 6, 8])
@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "TIFF"])
def test_exif_orientation_other_formats(fmt: str, orientation: int) -> None:
    data = _with_orientation(orientation, fmt)
    if orientation != 3:
        with Image.open(io.BytesIO(data)) as check:
            if fmt != "TIFF":  # Pillow's TIFF plugin already reports the displayed size
                assert check.size == (32, 48)
    result = decode_image(data).astype(int)
    assert result.shape == (32, 48, 3)
    assert np.abs(result[5, 5] - [0, 0, 255]).max() <= 30  # red, top-left
    assert np.abs(result[5, 42] - [255, 0, 0]).max() <= 30  # blue, top-right
    assert np.abs(result[26, 5] - [0, 255, 0]).max() <= 30  # green, bottom-left
    assert np.abs(result[26, 42] - WHITE).max() <= 30


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow reports the corrupt EXIF block
def test_malformed_exif_does_not_reject_the_image() -> None:
    data = encode(Image.new("RGB", (8, 8), (255, 0, 0)), "JPEG", exif=b"Exif\x00\x00MM\x00*\xff\xff\xff\xff")
    assert np.abs(decode_image(data).astype(int) - RED_BGR).max() <= 3


# --- size limits and decompression bombs ---------------------------------------------------------------


def _assert_rejected_cheaply(data: bytes, **kwargs: int) -> ImageTooLargeError:
    tracemalloc.start()
    try:
        started = time.perf_counter()
        with pytest.raises(ImageTooLargeError) as info:
            decode_image(data, **kwargs)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 5.0  # decoding the pixels would take minutes; a header check takes milliseconds
    assert peak < 1_000_000  # the full RGB buffer would be gigabytes
    return info.value


@pytest.mark.parametrize("pillow_limit", ["default", "disabled"])
def test_png_bomb_is_rejected_from_the_header(monkeypatch: pytest.MonkeyPatch, pillow_limit: str) -> None:
    if pillow_limit == "disabled":  # our check must not depend on Pillow's global guard
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    error = _assert_rejected_cheaply(png_claiming(100_000, 100_000))
    assert "100000x100000" in str(error)
    assert f"{DEFAULT_MAX_PIXELS:,}" in str(error)
    assert error.code == "image_too_large"


@pytest.mark.parametrize("pillow_limit", ["default", "disabled"])
def test_jpeg_bomb_is_rejected_from_the_header(monkeypatch: pytest.MonkeyPatch, pillow_limit: str) -> None:
    if pillow_limit == "disabled":
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    error = _assert_rejected_cheaply(jpeg_claiming(65_000, 65_000))
    assert "65000x65000" in str(error)


def test_bomb_below_pillow_limit_but_above_ours() -> None:
    data = png_claiming(8_000, 6_000)  # 48 Mpx: Pillow says nothing, our default cap of 40 Mpx applies
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        error = _assert_rejected_cheaply(data)
    assert "8000x6000" in str(error)


def test_pillow_bomb_warning_as_error_is_converted() -> None:
    data = png_claiming(10_000, 10_000)  # above Pillow's warning threshold (~89 Mpx)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _assert_rejected_cheaply(data, max_pixels=150_000_000)


def test_pillow_bomb_error_is_converted_even_with_a_higher_cap() -> None:
    error = _assert_rejected_cheaply(png_claiming(100_000, 100_000), max_pixels=10**11)
    assert "100000x100000" in str(error)


def test_pillow_global_limit_is_left_untouched() -> None:
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageTooLargeError):
        decode_image(png_claiming(100_000, 100_000))
    decode_image(encode(Image.new("RGB", (4, 4)), "PNG"))
    assert before == Image.MAX_IMAGE_PIXELS


def test_cap_is_configurable() -> None:
    data = encode(Image.new("RGB", (20, 20), (255, 0, 0)), "PNG")
    assert decode_image(data, max_pixels=400).shape == (20, 20, 3)
    with pytest.raises(ImageTooLargeError, match="20x20"):
        decode_image(data, max_pixels=399)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "100"])
def test_invalid_cap_is_a_programming_error(bad: object) -> None:
    with pytest.raises(ValueError, match="max_pixels"):
        decode_image(b"anything", max_pixels=bad)  # type: ignore[arg-type]


def test_decoding_allocates_one_full_size_array() -> None:
    width, height = 2000, 1500
    data = encode(Image.new("RGB", (width, height), (255, 0, 0)), "PNG")
    tracemalloc.start()
    try:
        result = decode_image(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The result itself plus strip-sized temporaries; a second full-size copy would add 9 MB.
    assert peak < result.nbytes + 3_000_000
    assert (result == RED_BGR).all()


# --- typed errors --------------------------------------------------------------------------------------


def _assert_user_message(error: ImageError) -> None:
    message = str(error)
    assert message
    assert re.search(r"0x[0-9a-f]{6,}", message) is None  # no object addresses
    for leak in ("BytesIO", "Traceback", "/", "\\", "PIL"):
        assert leak not in message


def test_empty_bytes() -> None:
    with pytest.raises(EmptyImageError) as info:
        decode_image(b"")
    _assert_user_message(info.value)


@pytest.mark.parametrize(
    "data",
    [
        png_claiming(0, 10),
        png_claiming(10, 0),
        b"GIF89a\x00\x00\x0a\x00\x00\x00\x00;",
        jpeg_claiming(0, 16),
    ],
    ids=["png-width", "png-height", "gif", "jpeg"],
)
def test_zero_width_or_height(data: bytes) -> None:
    with pytest.raises(EmptyImageError) as info:
        decode_image(data)
    _assert_user_message(info.value)


@pytest.mark.parametrize("data", [b"hello world, not an image", bytes(range(256)) * 4, b"\x00"])
def test_garbage(data: bytes) -> None:
    with pytest.raises(NotAnImageError, match="not an image") as info:
        decode_image(data)
    _assert_user_message(info.value)


def _noise(fmt: str) -> bytes:
    rgb = np.random.default_rng(7).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    return encode(Image.fromarray(rgb), fmt)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"])
def test_truncated_files(fmt: str) -> None:
    data = _noise(fmt)
    with pytest.raises(NotAnImageError, match="truncated or corrupt") as info:
        decode_image(data[: len(data) // 2])
    _assert_user_message(info.value)


def test_truncated_inside_the_header() -> None:
    with pytest.raises(NotAnImageError, match="truncated or corrupt"):
        decode_image(_noise("PNG")[:20])


@pytest.mark.parametrize(("fmt", "name"), [("ICO", "ICO"), ("PPM", "Netpbm"), ("EPS", "EPS"), ("PCX", "PCX")])
def test_real_but_unsupported_formats(fmt: str, name: str) -> None:
    image = Image.new("RGB", (16, 16), (255, 0, 0))
    data = encode(image, fmt)
    if fmt != "EPS":  # opening EPS for real would need Ghostscript
        with Image.open(io.BytesIO(data)) as check:
            assert check.size == (16, 16)  # a genuine image file...
    with pytest.raises(UnsupportedImageError, match=name) as info:  # ...that we refuse by policy
        decode_image(data)
    _assert_user_message(info.value)


def test_unsupported_format_without_signature_is_not_an_image() -> None:
    data = encode(Image.new("RGB", (16, 16)), "TGA")
    with pytest.raises(NotAnImageError):
        decode_image(data)


def test_psd_header_is_unsupported() -> None:
    with pytest.raises(UnsupportedImageError, match="PSD"):
        decode_image(b"8BPS\x00\x01" + bytes(40))


_SAMPLES = {fmt: _noise(fmt) for fmt in ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")}


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about corrupt EXIF in damaged files
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(sorted(_SAMPLES)),
    cut=st.integers(min_value=1, max_value=20_000),
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=8),
)
def test_damaged_files_only_raise_typed_errors(fmt: str, cut: int, flips: list[tuple[int, int]]) -> None:
    data = bytearray(_SAMPLES[fmt][:cut])
    for position, value in flips:
        data[position % len(data)] = value
    try:
        result = decode_image(bytes(data), max_pixels=1_000_000)
    except ImageError as error:
        _assert_user_message(error)
    else:
        assert result.ndim == 3 and result.shape[2] == 3 and result.dtype == np.uint8
        assert result.shape[0] * result.shape[1] <= 1_000_000
