"""Routing and request handling of the ``ocr`` HTTP function.

| route | methods | answer |
|---|---|---|
| ``/api/ocr``, ``/`` | POST | OCR of the image in the body (see :mod:`function.api.inputs`) |
| ``/``, ``/api/ocr``, ``/api/events`` | POST | storage events: CloudEvents (binary or structured) and MinIO's
  webhook JSON (see :mod:`function.api.events` and :mod:`function.ingest`) |
| ``/`` | GET, HEAD | the web page for browsers (``Accept: text/html``), else a short JSON description
  of the service (HEAD: MinIO's endpoint check) |
| ``/webui`` | GET | the web page (upload an image, see boxes and lines) |
| ``/openapi.json`` | GET | the OpenAPI 3.1 description of every route |
| ``/health`` | GET, HEAD | liveness: 200 unless model loading failed |
| ``/ready`` | GET, HEAD | readiness: 200 once this process has loaded and warmed up its models, else 503 |
| ``/metrics`` | GET | Prometheus text exposition |

The order of work is what keeps a hostile request cheap: the route, the method and the declared body
size are checked from the request line and headers; then the bearer token the request's kind needs
(``OCRFN_API_TOKEN`` for OCR, ``OCRFN_WEBHOOK_TOKEN`` for every event delivery); then the request is
admitted (a bounded number at once, 429 beyond); only then is its body read (up to the limit), parsed
(within JSON bounds), fetched and decoded. A body that was not read is never read afterwards.

Every error is JSON ``{"code", "error", "message", "request_id"}`` with its HTTP status; an unexpected
failure (a native panic included) is a 500 carrying the request id, never a traceback (that goes to the
server log).
"""

from __future__ import annotations

import functools
import hmac
import io
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from flask import Request, Response

from .. import shutdown
from ..admission import Admission, QueueFullError, ShuttingDownError
from ..errors import ServiceError, from_ocr_error
from ..events import (
    WEBHOOK_LABELS,
    EventError,
    IgnoredEvent,
    UnsupportedEventError,
    labels,
    minio,
    references,
)
from ..hocr import render_hocr
from ..ingest import Ingest, unique
from ..lifecycle import Lifecycle
from ..metrics import Metrics
from ..ocr import OcrEngine, OcrError, OcrOptions, OcrResult
from ..ocr.document import DocumentResult, PageResult, read_document, reading_plan
from ..ocr.pages import PageSelection
from ..outputs import document_payload, document_text, dumps, error_payload, result_payload, result_text
from ..request_log import log_event, log_request
from ..settings import Settings
from ..storage import Storage
from .events import decode_cloudevent, is_cloudevent, no_content, reply, safe_header_value, wants_reply
from .inputs import parse_json, parse_ocr_request, read_body

log = logging.getLogger("ocrfn")

_ALLOWED = {
    "/api/ocr": ("POST",),
    "/api/events": ("POST",),
    "/": ("GET", "HEAD", "POST"),
    "/health": ("GET", "HEAD"),
    "/ready": ("GET", "HEAD"),
    "/metrics": ("GET",),
    "/webui": ("GET",),
    "/openapi.json": ("GET",),
}
#: Methods counted under their own name in the metrics; anything else is ``other`` (labels stay bounded).
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"})
#: Successful answers on these routes are not logged; probes (Knative asks /ready every 50 ms while a pod
#: starts) are not logged at all: loading, stopping and a failed load are logged once where they happen.
_QUIET = ("/health", "/ready", "/metrics", "/webui", "/openapi.json")
_PROBES = ("/health", "/ready")
_WEB = Path(__file__).resolve().parents[1] / "web"
_OPENAPI = Path(__file__).resolve().parent / "openapi.json"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
RETRY_AFTER_SECONDS = "1"
#: hOCR is XHTML; served as such so browsers and XML tools open it.
HOCR_TYPE = "application/xhtml+xml; charset=utf-8"
#: What a request may be, from its headers alone: an event, JSON (an OCR request or a MinIO webhook), OCR.
_CANDIDATES = {"event": ("event",), "json": ("ocr", "event"), "ocr": ("ocr",)}


class OcrApp:
    """Everything one serving process needs to answer requests; ``handle`` is the whole HTTP surface."""

    def __init__(
        self,
        settings: Settings,
        lifecycle: Lifecycle,
        metrics: Metrics,
        admission: Admission,
        storage: Storage,
    ) -> None:
        self.settings = settings
        self.lifecycle = lifecycle
        self.metrics = metrics
        self.admission = admission
        self.ingest = Ingest(settings, storage, self._read_for_event, lambda: self.lifecycle.model_name or "")
        metrics.queue_depth.set_function(lambda: admission.waiting)
        metrics.in_flight.set_function(lambda: admission.admitted)
        metrics.store_clients.set_function(lambda: storage.clients)
        #: Requests (POST) answered since shutdown began: finished (``drained``) or refused with 503.
        self._after_stop = {"drained": 0, "refused": 0}
        self._after_stop_lock = threading.Lock()
        shutdown.on_begin(self._stop)
        shutdown.on_end(self._stopped)

    def _stop(self) -> None:
        """Shutdown began: refuse what has not started (503 at once) and say what is still running."""
        log_event(
            {
                "event": "shutdown",
                "running": self.admission.running,
                "refused": self.admission.waiting,
                "service": self.settings.service,
                "revision": self.settings.revision,
            }
        )
        self.admission.close()

    def _stopped(self, cut_off: int) -> None:
        """Log what was drained, refused and (past the timeout) cut off."""
        with self._after_stop_lock:
            counts = dict(self._after_stop)
        fields: dict[str, Any] = {"event": "stopped", **counts, "cut_off": cut_off}
        if cut_off:
            fields["message"] = (
                f"{cut_off} connection(s) still busy after the shutdown timeout of "
                f"{self.settings.shutdown_timeout:g} s; their requests are cut off"
            )
        fields.update(service=self.settings.service, revision=self.settings.revision)
        log_event(fields, "ERROR" if cut_off else "INFO")

    def _count_after_stop(self, request: Request, details: dict[str, Any]) -> None:
        if request.method != "POST" or not shutdown.begun():
            return
        kind = "refused" if details.get("error") == "shutting_down" else "drained"
        with self._after_stop_lock:
            self._after_stop[kind] += 1

    def handle(self, request: Request) -> Response:
        """Answer one request (any path, any method); never raises."""
        started = time.perf_counter()
        self.lifecycle.start()
        request_id = _request_id(request)
        path = request.path.rstrip("/") or "/"
        route = path if path in _ALLOWED else "unmatched"
        details: dict[str, Any] = {"request_id": request_id}
        try:
            response = self._route(request, path, details)
        except ServiceError as exc:
            response = _error(exc.status, exc.error, exc.message, request_id, exc.headers)
            details["error"] = exc.error
            if exc.detail:
                details["detail"] = exc.detail
            if exc.status >= 500:
                details["exception"] = exc.exception
        except BaseException as exc:
            if isinstance(exc, (SystemExit, KeyboardInterrupt, GeneratorExit)):
                raise
            # Exception, and what native extensions raise beside it (pyo3's PanicException derives from
            # BaseException): the worker stays up and the client gets a 500 with the request id.
            log.exception("request %s failed", request_id)
            details["error"] = "internal_error"
            details["exception"] = type(exc).__name__
            message = "The server failed to process this request; quote the request id when reporting it."
            response = _error(500, "internal_error", message, request_id)
        _abandon_body(request)
        for name, value in list(response.headers.items()):
            safe = safe_header_value(value)
            if safe != value:
                response.headers[name] = safe
        elapsed = time.perf_counter() - started
        response.headers["X-Request-Id"] = request_id
        method = request.method if request.method in _KNOWN_METHODS else "other"
        self._count_after_stop(request, details)
        self.metrics.requests.labels(route, method, str(response.status_code)).inc()
        self.metrics.latency.labels(route).observe(elapsed)
        if route not in _PROBES and not (route in _QUIET and response.status_code < 400):
            log_request(
                {
                    "request_id": request_id,
                    "method": method,
                    "route": route,
                    "status": response.status_code,
                    "bytes_in": request.content_length or 0,
                    "bytes_out": response.content_length,
                    "latency_ms": round(elapsed * 1000, 1),
                    **details,  # bytes_in here is what was actually read (chunked bodies have no length)
                    "service": self.settings.service,
                    "revision": self.settings.revision,
                }
            )
        return response

    def _route(self, request: Request, path: str, details: dict[str, Any]) -> Response:
        allowed = _ALLOWED.get(path)
        if allowed is None:
            raise ServiceError(404, "not_found", f"No route {_shown(path)}; POST images to /api/ocr.")
        if request.method not in allowed:
            shown = request.method if request.method in _KNOWN_METHODS else "This method"
            raise ServiceError(
                405,
                "method_not_allowed",
                f"{shown} is not allowed on {path}; use {', '.join(allowed)}.",
                {"Allow": ", ".join(allowed)},
            )
        declared = request.content_length
        if declared is not None and declared > self.settings.max_body_bytes:
            raise ServiceError(
                413,
                "payload_too_large",
                f"The request body is larger than the limit of {self.settings.max_body_bytes} bytes.",
            )
        if request.method in ("GET", "HEAD"):
            return self._get(request, path)
        kind = (
            "event" if is_cloudevent(request) else "json" if request.mimetype == "application/json" else "ocr"
        )
        if path == "/api/events" and kind == "ocr":
            raise ServiceError(
                400, "not_an_event", "POST a CloudEvent or a MinIO notification to /api/events."
            )
        self._engine()  # not ready: 503 (a broker retries it) before anything is read
        roles = self._roles(request)
        if not any(role in roles for role in _CANDIDATES[kind]):
            raise _unauthorized()
        with self._admitted():
            if kind == "event":
                return self._event(request, details, None)
            body = read_body(request, self.settings.max_body_bytes, self.settings.body_timeout)
            payload = None
            if kind == "json":
                payload = parse_json(body, self.settings.max_json_depth, self.settings.max_json_values)
                if minio.is_webhook(payload):
                    if "event" not in roles:
                        raise _unauthorized()
                    return self._event(request, details, payload)
                if path == "/api/events":
                    raise ServiceError(
                        400, "not_an_event", "POST a CloudEvent or a MinIO notification to /api/events."
                    )
            if "ocr" not in roles:
                raise _unauthorized()
            return self._ocr(request, details, body, payload)

    def _get(self, request: Request, path: str) -> Response:
        """Answer the GET and HEAD routes: probes, metrics, the page, the description."""
        if path == "/health":
            return self._health()
        if path == "/ready":
            return self._ready()
        if path == "/metrics":
            return Response(self.metrics.exposition(), 200, content_type=self.metrics.content_type)
        if path == "/" and request.method == "HEAD":
            return Response(status=200)
        if path == "/webui" or (path == "/" and _prefers_html(request)):
            return Response(_static(_WEB / "index.html"), 200, content_type="text/html; charset=utf-8")
        if path == "/openapi.json":
            return Response(_static(_OPENAPI), 200, content_type="application/json")
        return _json(200, self._describe())

    def _roles(self, request: Request) -> set[str]:
        """Return the roles the request may act in (``ocr``, ``event``); one is open when its token is unset.

        ``OCRFN_API_TOKEN`` guards OCR requests; ``OCRFN_WEBHOOK_TOKEN`` guards every event delivery
        (MinIO webhooks and CloudEvents of any type, in either mode, on any path): the same notification
        must not be accepted without the token just because it arrived wrapped in another event.
        """
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        presented = given.strip().encode() if scheme.lower() == "bearer" else None
        roles = set()
        for role, token in (("ocr", self.settings.api_token), ("event", self.settings.webhook_token)):
            if token is None or (presented is not None and hmac.compare_digest(presented, token.encode())):
                roles.add(role)
        return roles

    def _health(self) -> Response:
        if self.lifecycle.error is not None:
            return _json(503, {"status": "failed", "message": "Model loading failed; see the server log."})
        return _json(200, {"status": "ok"})

    def _ready(self) -> Response:
        if self.lifecycle.ready and not self.admission.closed:
            return _json(200, {"status": "ready"})
        if self.admission.closed:
            state = "stopping"
        else:
            state = "failed" if self.lifecycle.error is not None else "loading"
        return _json(503, {"status": state}, {"Retry-After": RETRY_AFTER_SECONDS})

    def _describe(self) -> dict[str, Any]:
        return {
            "service": "ocrfn",
            "ready": self.lifecycle.ready,
            "model": self.lifecycle.model_name,
            "endpoints": {
                "ocr": "POST /api/ocr",
                "health": "/health",
                "ready": "/ready",
                "metrics": "/metrics",
            },
        }

    def _engine(self) -> OcrEngine:
        engine = self.lifecycle.engine
        if engine is None:
            if self.lifecycle.error is not None:
                raise ServiceError(503, "model_failed", "The models failed to load; see the server log.")
            raise ServiceError(
                503,
                "not_ready",
                "The models are still loading; retry shortly.",
                {"Retry-After": RETRY_AFTER_SECONDS},
            )
        return engine

    @contextmanager
    def _admitted(self) -> Iterator[None]:
        """Count the block as one admitted request: 429 when full, 503 when the server is stopping."""
        try:
            with self.admission.admit():
                yield
        except QueueFullError as exc:
            raise ServiceError(
                429, "too_many_requests", str(exc), {"Retry-After": RETRY_AFTER_SECONDS}
            ) from None
        except ShuttingDownError:
            raise _shutting_down() from None

    @contextmanager
    def _running(self) -> Iterator[None]:
        """Hold a CPU slot for the block (waiting in the queue); 503 when the server stops meanwhile."""
        try:
            with self.admission.run():
                yield
        except ShuttingDownError:
            raise _shutting_down() from None

    def _read(
        self,
        data: bytes,
        options: OcrOptions,
        request_id: str,
        orient_page: bool | None = None,
        text_layer: bool = True,
        pages: PageSelection | None = None,
    ) -> OcrResult | DocumentResult:
        """OCR an image, or every page of a PDF / multi-page TIFF, in a CPU slot and within its budget.

        *orient_page* ``None`` turns document pages upright and reads single images as they are;
        *text_layer* ``False`` OCRs PDF pages that carry text instead of taking their text; *pages*
        reads only those pages of a document (a single image is page 1 of 1).
        """
        engine = self._engine()
        document, options = reading_plan(data, options, orient_page, pages)
        if not document:
            with self._running():
                result = engine.run(data, replace(options, time_budget=self.settings.time_budget))
            self.metrics.observe_stages(result.timings)
            self.metrics.images.inc()
            self.metrics.lines.inc(len(result.lines))
            return result
        limits = self.settings.document_limits(text_layer)

        read = 0

        def progress(page: PageResult, total: int) -> None:
            nonlocal read
            read += 1
            self.metrics.observe_stages(page.timings)
            self.metrics.pages.labels(page.source).inc()
            self.metrics.lines.inc(len(page.lines))
            log_request(
                {
                    "request_id": request_id,
                    "progress": f"page {read}/{total}",
                    "page": page.number,
                    "source": page.source,
                    "angle": page.angle,
                    "lines": len(page.lines),
                    "service": self.settings.service,
                    "revision": self.settings.revision,
                }
            )

        budgeted = replace(options, time_budget=self.settings.document_time_budget)
        with self._running():
            document = read_document(engine, data, budgeted, limits, progress, pages)
        self.metrics.document_seconds.observe(document.seconds)
        self.metrics.document_pages.observe(len(document.pages))
        return document

    def _read_for_event(
        self, data: bytes, options: OcrOptions, request_id: str
    ) -> OcrResult | DocumentResult:
        return self._read(data, options, request_id)

    def _event(self, request: Request, details: dict[str, Any], webhook: Any) -> Response:
        """Handle one event delivery; every event is counted once per object, or once by what ended it."""
        source, kind = WEBHOOK_LABELS if webhook is not None else labels(request.headers.get("ce-type", ""))
        outcome = "internal_error"
        try:
            if webhook is not None:
                details["event_type"] = "minio.webhook"
                refs = minio.webhook_references(webhook)
            else:
                body = read_body(request, self.settings.max_body_bytes, self.settings.body_timeout)
                limits = (self.settings.max_json_depth, self.settings.max_json_values)
                event = decode_cloudevent(request.headers, body, limits)
                source, kind = labels(event.type)
                details.update(event_type=event.type, event_id=event.id, event_source=event.source)
                refs = references(event)
            summaries = []
            for ref in unique(refs):
                done = self.ingest.process(ref, details["request_id"])
                self.metrics.events.labels(source, kind, done.status).inc()
                summaries.append(done.summary())
            outcome = ""
        except IgnoredEvent as exc:
            details["outcome"] = f"ignored: {exc}"
            outcome = "ignored"
            return no_content()
        except UnsupportedEventError as exc:
            outcome = "unsupported_event"
            raise ServiceError(400, outcome, str(exc)) from None
        except EventError as exc:
            outcome = "invalid_event"
            raise ServiceError(400, outcome, str(exc)) from None
        except ServiceError as exc:
            outcome = exc.error
            raise
        finally:
            if outcome:
                self.metrics.events.labels(source, kind, outcome).inc()
        details["objects"] = summaries
        produced = any(s["status"] in ("completed", "duplicate") for s in summaries)
        send = self.settings.event_reply and wants_reply(request) and produced
        return reply(summaries, send, self.settings.service)

    def _ocr(self, request: Request, details: dict[str, Any], body: bytes, payload: Any) -> Response:
        parsed = parse_ocr_request(request, self.settings, body, payload)
        details["bytes_in"] = parsed.body_bytes
        asked = parsed.options
        details["detect"] = asked.ocr.detect
        hocr = asked.format == "hocr"
        try:
            result = self._read(
                parsed.image,
                asked.ocr,
                details["request_id"],
                asked.orient_page,
                asked.text_layer,
                asked.pages,
            )
        except OcrError as exc:
            client = from_ocr_error(exc)
            if client is None:
                raise
            raise client from None
        model = self.lifecycle.model_name
        if isinstance(result, DocumentResult):
            details["pages"] = len(result.pages)
            details["lines"] = sum(len(p.lines) for p in result.pages)
            if asked.format == "text":
                return Response(document_text(result), 200, content_type="text/plain; charset=utf-8")
            if hocr:
                return Response(render_hocr(result.pages, model), 200, content_type=HOCR_TYPE)
            return _json(200, document_payload(result, model))
        details["lines"] = len(result.lines)
        details["width"], details["height"] = result.width, result.height
        details["inference_ms"] = round(result.timings.get("total", 0.0) * 1000, 1)
        if asked.format == "text":
            return Response(result_text(result), 200, content_type="text/plain; charset=utf-8")
        if hocr:
            page = PageResult.of_image(result)
            return Response(render_hocr([page], model), 200, content_type=HOCR_TYPE)
        return _json(200, result_payload(result, model))


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(payload), status, headers=headers, content_type="application/json")


def _error(
    status: int, error: str, message: str, request_id: str, headers: dict[str, str] | None = None
) -> Response:
    return _json(status, error_payload(status, error, message, request_id), headers)


def _unauthorized() -> ServiceError:
    return ServiceError(
        401,
        "unauthorized",
        "This request needs Authorization: Bearer <token>.",
        {"WWW-Authenticate": "Bearer"},
    )


def _shutting_down() -> ServiceError:
    return ServiceError(
        503,
        "shutting_down",
        "This server is shutting down and did not start the request; retry it.",
        {"Retry-After": RETRY_AFTER_SECONDS},
    )


def _abandon_body(request: Request) -> None:
    """Make sure nothing reads what is left of the body once the answer is decided.

    functions-framework's after-request hook calls ``request.get_data()``, which would read (and hold in
    memory) the whole remaining body of a request answered without reading it: a 404 for a 1.5 GB upload
    would cost 1.5 GB. Pointing the request's stream at an empty buffer makes that read free; the server
    then closes the connection instead of reusing it.
    """
    request.stream = io.BytesIO()  # type: ignore[misc]  # werkzeug's cached_property accepts assignment


@functools.cache
def _static(path: Path) -> bytes:
    """Read a file shipped with the function (once)."""
    return path.read_bytes()


def _prefers_html(request: Request) -> bool:
    """Whether the client (a browser) would rather have HTML than JSON."""
    accept = request.accept_mimetypes
    return accept.quality("text/html") > accept.quality("application/json")


def _shown(text: str) -> str:
    """Quote a client's string (a path) for a message: its repr, at most 80 characters."""
    cut = text if len(text) <= 80 else text[:77] + "..."
    return repr(cut)


def _request_id(request: Request) -> str:
    given = request.headers.get("X-Request-Id", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex
