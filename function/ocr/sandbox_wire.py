"""The message format between the parent and its decoder process (:mod:`.sandbox`, :mod:`.sandbox_child`).

A message is a JSON header and an optional binary payload: 4 bytes of header length (big-endian), the
header as UTF-8 JSON, 8 bytes of payload length, the payload. Pixels travel as raw C-ordered bytes with
their shape in the header. No pickle: the parent treats what the child sends as untrusted (the child
parses hostile input), so nothing it sends can run code in the parent.
"""

from __future__ import annotations

import json
import struct
from typing import Any, BinaryIO

import numpy as np

#: Largest header either side accepts (a text-layer page with its words fits in a few MB).
MAX_HEADER_BYTES = 256 * 1024 * 1024
_HEADER = struct.Struct(">I")
_PAYLOAD = struct.Struct(">Q")


def pack_header(header: dict[str, Any], payload_length: int) -> bytes:
    """Encode a message up to its payload: the lengths and the JSON header."""
    text = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _HEADER.pack(len(text)) + text + _PAYLOAD.pack(payload_length)


def payload_view(payload: bytes | np.ndarray | None) -> memoryview:
    """View *payload* as flat bytes (an array must be C-contiguous; it is not copied)."""
    if payload is None:
        return memoryview(b"")
    if isinstance(payload, np.ndarray):
        return memoryview(np.ascontiguousarray(payload)).cast("B")
    return memoryview(payload).cast("B")


def write_message(
    stream: BinaryIO, header: dict[str, Any], payload: bytes | np.ndarray | None = None
) -> None:
    """Write one message to a blocking *stream*."""
    view = payload_view(payload)
    stream.write(pack_header(header, len(view)))
    while view:
        written = stream.write(view)
        view = view[written:]
    stream.flush()


def read_message(stream: BinaryIO) -> tuple[dict[str, Any], bytes] | None:
    """Read one message from a blocking *stream*; ``None`` at a clean end of stream."""
    first = _read_exactly(stream, _HEADER.size, allow_eof=True)
    if first is None:
        return None
    (length,) = _HEADER.unpack(first)
    if length > MAX_HEADER_BYTES:
        raise ValueError(f"message header of {length} bytes")
    header = json.loads(_read_exactly(stream, length))
    (size,) = _PAYLOAD.unpack(_read_exactly(stream, _PAYLOAD.size))
    return header, _read_exactly(stream, size) if size else b""


def _read_exactly(stream: BinaryIO, size: int, allow_eof: bool = False) -> Any:
    chunks = []
    remaining = size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            if allow_eof and remaining == size:
                return None
            raise EOFError("the stream ended inside a message")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
