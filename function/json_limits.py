"""JSON from untrusted senders, parsed within bounds.

``json.loads`` allocates a Python object per value: 48 MB of ``[{},{},...]`` becomes about 1.6 GB of
dictionaries, and deep nesting ends in ``RecursionError``. :func:`loads` measures the text first (the
nesting depth and the number of values, counted on the structural characters outside strings, linear in
the size and stopping as soon as a bound is passed) and parses only text within the bounds. It also
refuses what is not JSON although Python's parser takes it (``NaN``, ``Infinity``, numbers too large for
a float) and numbers with more digits than Python converts. Every refusal is a :class:`JsonError` whose
message the sender can act on.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

#: A JSON string (escapes included) or one of the structural characters that open, close or separate.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]')


class JsonError(ValueError):
    """The text is not JSON, or more deeply nested or with more values than allowed."""


def loads(data: bytes, max_depth: int, max_values: int) -> Any:
    """Parse *data* (UTF-8 JSON) if it nests at most *max_depth* deep and has at most *max_values* values."""
    check_shape(data, max_depth, max_values)
    try:
        return json.loads(data, parse_constant=_not_json, parse_float=_finite)
    except UnicodeDecodeError:
        raise JsonError("the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise JsonError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:  # not reached within the depth bound; kept so a parser change cannot crash
        raise JsonError("it is nested too deeply") from None
    except ValueError as exc:  # NaN, Infinity, or an integer with more digits than Python converts
        if "integer string conversion" in str(exc):
            raise JsonError("an integer has more digits than allowed") from None
        raise JsonError(str(exc)) from None


def check_shape(data: bytes, max_depth: int, max_values: int) -> None:
    """Refuse *data* nested deeper than *max_depth* or holding more than *max_values* values.

    Counting is exact for valid JSON (brackets and commas inside strings are skipped) and never worse
    than linear for anything else. Text with few structural characters is accepted from byte counts
    alone.
    """
    opens = data.count(b"[") + data.count(b"{")
    if opens <= max_depth and opens + data.count(b",") < max_values:
        return
    depth = values = 0
    for match in _TOKENS.finditer(data):
        token = match.group()
        if token[0] == 0x22:  # a string: skipped whole
            continue
        if token in (b"[", b"{"):
            depth += 1
            values += 1
            if depth > max_depth:
                raise JsonError(f"it is nested more than {max_depth} levels deep")
        elif token == b",":
            values += 1
        else:
            depth -= 1
        if values >= max_values:
            raise JsonError(f"it has more than {max_values} values")


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is too large")
    return value
