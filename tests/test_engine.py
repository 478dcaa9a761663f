"""The whole pipeline on the project's rendered images, with the shipped default model set."""

import threading
import time

import numpy as np
import pytest
from conftest import image_bytes, tiled_receipt

from function.ocr import ImageTooLargeError, OcrEngine, OcrOptions, UnsupportedImageError, load_model_set


def squash(text: str) -> str:
    return "".join(text.split())


def texts(result) -> list[str]:
    return [line.text for line in result.lines]


PAGES = [
    "receipt.png",
    "two_column.png",
    "vertical.png",
    "upside_down.png",
    "exif_rotated.jpg",
    "tilted.png",
    "sign_photo.jpg",
    "screenshot.png",
]
LINES = ["line_en.png", "line_en_rgba.png", "line_zh.png", "line_mixed.png", "small_line.png"]


@pytest.mark.parametrize("name", PAGES)
def test_page_lines_in_reading_order(engine, expected, name):
    case = expected[name]
    result = engine.run(image_bytes(name))
    assert [squash(t) for t in texts(result)] == [squash(t) for t in case["lines"]]
    assert all(0.5 <= line.confidence <= 1.0 for line in result.lines)


@pytest.mark.parametrize("name", LINES)
def test_single_line_mode(engine, expected, name):
    case = expected[name]
    result = engine.run(image_bytes(name), OcrOptions(detect=False))
    got = texts(result)
    if case["space_sensitive"]:
        assert got == case["lines"]  # English spaces preserved exactly
    else:
        assert [squash(t) for t in got] == [squash(t) for t in case["lines"]]
    # The whole image is the line's box.
    w, h = result.width, result.height
    assert result.lines[0].box == [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]]


def test_english_spaces_preserved_in_page_mode(engine):
    result = engine.run(image_bytes("receipt.png"))
    assert "Iced Latte" in texts(result)


def test_vertical_columns_read_top_to_bottom_right_to_left(engine, expected):
    result = engine.run(image_bytes("vertical.png"))
    assert texts(result) == expected["vertical.png"]["lines"]
    for line in result.lines:
        (tlx, tly), (trx, try_), (_, bry), (_, bly) = line.box
        # A vertical column's box is tall: its top edge (TL→TR) is the short one, and top is above bottom.
        assert abs(trx - tlx) < abs(bly - tly)
        assert tly < bly and try_ < bry


def test_tilted_vertical_column_point_order(engine, expected):
    result = engine.run(image_bytes("vertical_tilted.png"))
    assert [squash(t) for t in texts(result)] == [squash(t) for t in expected["vertical_tilted.png"]["lines"]]
    tl, tr, br, bl = (np.array(p, dtype=float) for p in result.lines[0].box)
    assert tl[1] < bl[1] and tr[1] < br[1]  # top edge above bottom edge
    assert tl[0] < tr[0]  # left before right
    assert np.linalg.norm(bl - tl) > 3 * np.linalg.norm(tr - tl)  # tall column


def test_upside_down_page_boxes_follow_the_text(engine, expected):
    result = engine.run(image_bytes("upside_down.png"))
    assert [squash(t) for t in texts(result)] == [squash(t) for t in expected["upside_down.png"]["lines"]]
    # The text's own top-left corner is at the image's bottom-right side for a page turned 180°.
    for line in result.lines:
        tl, tr = line.box[0], line.box[1]
        assert tl[0] > tr[0]
    # First line in reading order is the lowest in image coordinates.
    assert result.lines[0].box[0][1] > result.lines[-1].box[0][1]


def test_exif_orientation_applied(engine):
    result = engine.run(image_bytes("exif_rotated.jpg"))
    assert (result.width, result.height) == (560, 227)


def test_two_column_not_interleaved(engine, expected):
    case = expected["two_column.png"]
    got = [squash(t) for t in texts(engine.run(image_bytes("two_column.png")))]
    left = [squash(t) for t in case["columns"][0]]
    right = [squash(t) for t in case["columns"][1]]
    assert got[1 : 1 + len(left)] == left
    assert got[1 + len(left) :] == right


def test_min_confidence_is_per_call(engine):
    strict = engine.run(image_bytes("sign_photo.jpg"), OcrOptions(min_confidence=1.01))
    assert strict.lines == []
    normal = engine.run(image_bytes("sign_photo.jpg"))
    assert len(normal.lines) == 2


def test_concurrent_callers_get_serial_results(engine):
    """8 threads share one engine; every other call uses a per-call option that must not leak."""
    names = ["receipt.png", "two_column.png", "upside_down.png", "screenshot.png"]
    serial = {n: texts(engine.run(image_bytes(n))) for n in names}
    results: dict[int, list[str]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(k: int) -> None:
        try:
            start.wait()
            for _ in range(2):
                options = OcrOptions(min_confidence=1.01 if k % 2 else 0.5)
                got = engine.run(image_bytes(names[k % 4]), options)
                results[k] = texts(got)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for k, got in results.items():
        assert got == ([] if k % 2 else serial[names[k % 4]])


def test_pixel_cap_applies_through_engine():
    small_cap = OcrEngine(load_model_set(), threads=1, max_pixels=10_000)
    with pytest.raises(ImageTooLargeError):
        small_cap.run(image_bytes("receipt.png"))


def test_array_input_matches_bytes_input(engine):
    import cv2

    pixels = cv2.imdecode(np.frombuffer(image_bytes("receipt.png"), np.uint8), cv2.IMREAD_COLOR)
    assert texts(engine.run(pixels)) == texts(engine.run(image_bytes("receipt.png")))


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((10, 10), np.uint8),
        np.zeros((10, 10, 4), np.uint8),
        np.zeros((10, 10, 3), np.float32),
        np.zeros((0, 5, 3), np.uint8),
    ],
)
def test_array_input_must_be_bgr_uint8(engine, array):
    with pytest.raises(UnsupportedImageError):
        engine.run(array)


def test_time_budget_cuts_a_call_off_and_the_engine_stays_usable(engine):
    from function.ocr import TimeBudgetError

    big = tiled_receipt()
    before = engine.run(image_bytes("receipt.png"))
    full = engine.run(big).timings["total"]
    started = time.perf_counter()
    with pytest.raises(TimeBudgetError, match=r"time budget of 0\.05 s"):
        engine.run(big, OcrOptions(time_budget=0.05))
    assert time.perf_counter() - started < full / 2  # stopped, not run to the end
    after = engine.run(image_bytes("receipt.png"), OcrOptions(time_budget=30))
    assert texts(after) == texts(before)
