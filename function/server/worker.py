"""A gunicorn thread worker whose request threads are never held by a request that has not arrived.

gunicorn's stock thread worker hands a connection to a request thread as soon as its first byte is
there; that thread then blocks until the request line and headers are complete. Eight clients dripping
their headers held all eight threads, and every readiness probe timed out behind them; 48 idle
connections each held a thread for five seconds. This worker reads request heads on its event loop, so
a connection costs a thread only once its request line and headers are all in memory:

- a head has ``OCRFN_HEADER_TIMEOUT`` seconds to arrive (then 408 and close) and at most
  :data:`MAX_HEAD_BYTES` (then 431 and close); waiting costs a poller entry, not a thread;
- ``GET``/``HEAD`` of ``/ready`` and ``/health`` are answered by threads of their own
  (:data:`PROBE_THREADS`), so probes never queue behind OCR requests, whatever the other threads do;
- a body must keep arriving: each read waits at most ``OCRFN_BODY_TIMEOUT`` seconds (the app also
  bounds the whole body by it and answers 408);
- a body the app did not read is not drained at length: the connection is closed instead;
- SIGTERM tells the app to stop admitting (requests not yet running get 503 with ``Retry-After``), and
  running requests get ``OCRFN_SHUTDOWN_TIMEOUT`` seconds to finish.
"""

from __future__ import annotations

import contextlib
import errno
import json
import selectors
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker

from .. import shutdown
from ..request_log import log_request
from ..settings import load_settings

#: The longest request line and headers accepted (gunicorn's own limits are per line and per field).
MAX_HEAD_BYTES = 64 * 1024
#: Threads that answer readiness and liveness probes only.
PROBE_THREADS = 2
#: Request lines answered by the probe threads.
PROBES = tuple(f"{method} {path}".encode() for method in ("GET", "HEAD") for path in ("/ready", "/health"))
#: A body left unread after the answer is drained only this long before the connection is closed.
DRAIN_SECONDS = 0.05
#: How long a closed connection waits for the client to close its side (gunicorn's own figure).
LINGER_SECONDS = 2.0
_READ = 64 * 1024


class HeadConn(TConn):
    """A connection whose next request head is read by the event loop before a thread takes it."""

    def __init__(
        self,
        cfg: Any,
        sock: socket.socket,
        client: Any,
        server: Any,
        idle_timeout: float,
        linger: Callable[[socket.socket], None],
    ) -> None:
        super().__init__(cfg, sock, client, server)
        self.head = bytearray()
        self.idle_timeout = idle_timeout
        self._linger = linger

    def close(self, graceful: bool = False) -> None:
        """Close; a graceful close lingers on the event loop, never blocking it (gunicorn's waits 2 s)."""
        if not graceful:
            super().close()
            return
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)  # our side is done: FIN after the last answer byte
        self._linger(self.sock)

    def init(self) -> None:
        """Set up the parser (once), then hand it the buffered head and bound every further read."""
        super().init()
        self.sock.settimeout(self.idle_timeout)
        if self.head:
            self.parser.unreader.unread(bytes(self.head))
            self.head = bytearray()


class OcrWorker(ThreadWorker):
    """gunicorn's thread worker with request heads read on the event loop (see the module docstring)."""

    def init_process(self) -> None:
        """Read the timeouts, make the probe threads, then run (the base class runs the loop)."""
        settings = load_settings()
        self.header_timeout = settings.header_timeout
        self.body_timeout = settings.body_timeout
        self.probe_pool = ThreadPoolExecutor(max_workers=PROBE_THREADS, thread_name_prefix="ocrfn-probe")
        self.heads: deque[HeadConn] = deque()
        self.lingering: deque[tuple[float, socket.socket]] = deque()
        super().init_process()

    # --- connections in, heads read on the loop ----------------------------------------------------------

    def accept(self, listener: socket.socket) -> None:
        """Accept a connection and start reading its head (no thread yet)."""
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = HeadConn(
            self.cfg, client_sock, client_addr, listener.getsockname(), self.body_timeout, self._linger
        )
        self._read_head(conn, b"")

    def enqueue_req(self, conn: HeadConn) -> None:
        """Read the next head of a kept-alive connection on the loop as well (no thread meanwhile)."""
        buffered = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        self._read_head(conn, buffered)

    def _read_head(self, conn: HeadConn, buffered: bytes) -> None:
        conn.head = bytearray(buffered.lstrip(b"\r\n"))
        conn.timeout = time.monotonic() + self.header_timeout
        if _head_end(conn.head, 0) >= 0:
            self._dispatch(conn)
            return
        conn.sock.setblocking(False)
        self.heads.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_head_readable, conn))

    def _on_head_readable(self, conn: HeadConn, _sock: socket.socket) -> None:
        try:
            data = conn.sock.recv(_READ)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away before finishing its request
            self._forget(conn)
            self._close(conn)
            return
        if not conn.head:
            data = data.lstrip(b"\r\n")  # empty lines before a request line are ignored (RFC 9112 2.2)
        searched_from = max(0, len(conn.head) - 3)
        conn.head += data
        if _head_end(conn.head, searched_from) >= 0:
            self._forget(conn)
            self._dispatch(conn)
        elif len(conn.head) > MAX_HEAD_BYTES:
            self._forget(conn)
            self._refuse(
                conn, 431, "head_too_large", f"The request line and headers exceed {MAX_HEAD_BYTES} bytes."
            )

    def _forget(self, conn: HeadConn) -> None:
        self.poller.unregister(conn.sock)
        self.heads.remove(conn)

    def _dispatch(self, conn: HeadConn) -> None:
        """Give a connection whose head is complete to a thread: a probe thread for probes."""
        conn.sock.setblocking(True)
        conn.data_ready = True  # the stock worker would otherwise wait for data in the thread
        line = bytes(conn.head[:64])
        probe = any(line.startswith(p) and line[len(p) : len(p) + 1] in (b" ", b"?") for p in PROBES)
        pool = self.probe_pool if probe else self.tpool
        future = pool.submit(self.handle, conn)
        future.add_done_callback(lambda done: self.method_queue.defer(self.finish_request, conn, done))

    def _linger(self, sock: socket.socket) -> None:
        """Read (and drop) what the client still sends after our answer until it closes, at most briefly.

        Closing at once with unread data would make the kernel send a reset, which can destroy the
        answer before the client reads it (RFC 9112 section 9.6).
        """
        sock.setblocking(False)
        self.lingering.append((time.monotonic() + LINGER_SECONDS, sock))
        self.poller.register(sock, selectors.EVENT_READ, self._drain_lingering)

    def _drain_lingering(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(_READ)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._end_lingering(sock)

    def _end_lingering(self, sock: socket.socket) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(sock)
        self.lingering = deque((d, s) for d, s in self.lingering if s is not sock)
        with contextlib.suppress(OSError):
            sock.close()

    def murder_pending(self) -> None:
        """Also close connections whose head did not arrive in time (408), and lingering ones."""
        super().murder_pending()
        now = time.monotonic()
        while self.lingering and self.lingering[0][0] <= now:
            self._end_lingering(self.lingering[0][1])
        while self.heads and self.heads[0].timeout <= now:
            conn = self.heads.popleft()
            self.poller.unregister(conn.sock)
            if conn.head:
                message = f"The request line and headers did not arrive within {self.header_timeout:g} s."
                self._refuse(conn, 408, "header_timeout", message)
            else:
                self._close(conn)

    def _refuse(self, conn: HeadConn, status: int, error: str, message: str) -> None:
        """Answer a request that never reached the app (best effort, never blocking) and close."""
        request_id = uuid.uuid4().hex
        body = json.dumps(
            {"code": status, "error": error, "message": message, "request_id": request_id}
        ).encode()
        reason = {408: "Request Timeout", 431: "Request Header Fields Too Large"}[status]
        answer = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"X-Request-Id: {request_id}\r\nConnection: close\r\n\r\n"
        ).encode() + body
        with contextlib.suppress(OSError):
            conn.sock.send(answer)
        log_request(
            {
                "request_id": request_id,
                "route": "unmatched",
                "status": status,
                "error": error,
                "bytes_in": len(conn.head),
            }
        )
        self.nr_conns -= 1
        conn.close(graceful=True)

    def _close(self, conn: HeadConn) -> None:
        self.nr_conns -= 1
        conn.close()

    # --- after the answer ----------------------------------------------------------------------------

    def _keepalive_after(self, conn: TConn, keepalive: bool) -> bool:
        """Keep the connection only if the body was read: leftovers are drained briefly, else closed."""
        if not keepalive:
            return False
        return bool(conn.parser.finish_body(deadline=time.monotonic() + DRAIN_SECONDS, max_bytes=_READ))

    # --- stopping ------------------------------------------------------------------------------------

    def handle_exit(self, sig: int, frame: Any) -> None:
        """On SIGTERM stop accepting, and let the app refuse what it has not started (from the loop)."""
        if self.alive:
            self.method_queue.defer(shutdown.begin)
        super().handle_exit(sig, frame)

    def run(self) -> None:
        """Serve; once stopped, tell the app how many connections the shutdown timeout cut off."""
        super().run()
        shutdown.end(max(0, self.nr_conns - len(self.heads)))
        self.probe_pool.shutdown(wait=False)


def _head_end(head: bytearray, start: int) -> int:
    """Index just past the blank line ending the request head, or -1 while it has not arrived."""
    for marker in (b"\r\n\r\n", b"\n\n"):
        found = head.find(marker, start)
        if found >= 0:
            return found + len(marker)
    return -1
