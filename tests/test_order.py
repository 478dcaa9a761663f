"""Reading order on hand-made layouts (boxes only, no model)."""

import numpy as np

from function.ocr.geometry import rect_to_quad
from function.ocr.order import reading_order


def box(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)


def ordered(boxes):
    return reading_order([box(*b) for b in boxes])


def test_lines_top_to_bottom_left_to_right_within_a_line():
    # Given out of order on purpose: two words on line 1, one on line 2.
    boxes = [(10, 60, 200, 80), (220, 10, 300, 30), (10, 12, 200, 28)]
    assert ordered(boxes) == [2, 1, 0]


def test_two_columns_with_a_title_are_not_interleaved():
    title = (100, 0, 700, 40)
    left = [(20, 60 + 40 * i, 330, 90 + 40 * i) for i in range(4)]
    right = [(420, 60 + 40 * i, 760, 90 + 40 * i) for i in range(4)]
    # Interleave the input: L0, R0, L1, R1, ...
    boxes = [title] + [b for pair in zip(left, right, strict=True) for b in pair]
    order = ordered(boxes)
    assert order == [0, 1, 3, 5, 7, 2, 4, 6, 8]


def test_receipt_rows_with_right_aligned_prices_stay_rows():
    # Item names at the left, prices of varied width right-aligned at x=480: read item, price, item, ...
    price_widths = [50, 90, 60, 110, 70]
    rows = [
        ((20, 20 + 40 * i, 160 + 20 * i, 50 + 40 * i), (480 - w, 20 + 40 * i, 480, 50 + 40 * i))
        for i, w in enumerate(price_widths)
    ]
    boxes = [b for row in rows for b in row]
    assert ordered(boxes) == list(range(10))


def test_narrow_value_column_is_not_a_text_column():
    # Left-aligned but narrow values (e.g. quantities) are read row by row.
    rows = [((20, 20 + 40 * i, 400, 50 + 40 * i), (440, 20 + 40 * i, 480, 50 + 40 * i)) for i in range(4)]
    boxes = [b for row in rows for b in row]
    assert ordered(boxes) == list(range(8))


def test_tilted_page_keeps_line_order():
    # Four long lines tilted by 7°: their axis-aligned extents overlap, the de-skew separates them.
    quads = [
        rect_to_quad((300 + 40 * np.sin(np.deg2rad(7)) * i, 100 + 40 * i), (500, 24), 7) for i in range(4)
    ]
    shuffled = [quads[i] for i in (2, 0, 3, 1)]
    order = reading_order(shuffled)
    assert [(2, 0, 3, 1)[k] for k in order] == [0, 1, 2, 3]


def test_vertical_columns_right_to_left():
    cols = [box(300 - 60 * i, 20, 340 - 60 * i, 300) for i in range(3)]  # rightmost first
    assert reading_order([cols[2], cols[0], cols[1]]) == [1, 2, 0]


def test_empty():
    assert reading_order([]) == []
