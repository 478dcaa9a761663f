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

Every error is JSON ``{"code", "error", "message", "request_id"}`` with its HTTP status; an unexpected
failure is a 500 carrying the request id, never a traceback (that goes to the server log).
"""

from __future__ import annotations

import functools
import hmac
import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from flask import Request, Response

from ..admission import Admission, QueueFullError
from ..events import EventError, IgnoredEvent, minio, references
from ..ingest import EventResult, Ingest
from ..lifecycle import Lifecycle
from ..metrics import Metrics
from ..ocr import OcrEngine, OcrError, OcrOptions, OcrResult
from ..ocr.document import DocumentResult, PageResult, PageSelection, document_kind, read_document
from ..request_log import log_request
from ..settings import Settings
from ..storage import Storage
from .errors import ApiError, from_ocr_error
from .events import decode_cloudevent, is_cloudevent, reply, wants_reply
from .hocr import render_hocr
from .inputs import parse_json, parse_ocr_request, read_body
from .outputs import document_payload, document_text, dumps, error_payload, result_payload, result_text

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
#: Successful answers on these routes are not logged: Knative probes readiness every 50 ms at start-up.
_QUIET = ("/health", "/ready", "/metrics", "/webui", "/openapi.json")
_WEB = Path(__file__).resolve().parents[1] / "web"
_OPENAPI = Path(__file__).resolve().parent / "openapi.json"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
RETRY_AFTER_SECONDS = "1"
#: hOCR is XHTML; served as such so browsers and XML tools open it.
HOCR_TYPE = "application/xhtml+xml; charset=utf-8"


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
        self.ingest = Ingest(settings, storage, self._ocr_for_event)
        metrics.queue_depth.set_function(lambda: admission.waiting)

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
        except ApiError as exc:
            response = _error(exc.status, exc.error, exc.message, request_id, exc.headers)
        except Exception as exc:
            log.exception("request %s failed", request_id)
            details["error"] = type(exc).__name__
            message = "The server failed to process this request; quote the request id when reporting it."
            response = _error(500, "internal_error", message, request_id)
        elapsed = time.perf_counter() - started
        response.headers["X-Request-Id"] = request_id
        self.metrics.requests.labels(route, request.method, str(response.status_code)).inc()
        self.metrics.latency.labels(route).observe(elapsed)
        if not (route in _QUIET and response.status_code < 400):
            log_request(
                {
                    "request_id": request_id,
                    "method": request.method,
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
            raise ApiError(404, "not_found", f"No route {path}; POST images to /api/ocr.")
        if request.method not in allowed:
            raise ApiError(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed on {path}; use {', '.join(allowed)}.",
                {"Allow": ", ".join(allowed)},
            )
        if path == "/health":
            return self._health()
        if path == "/ready":
            return self._ready()
        if path == "/metrics":
            return Response(self.metrics.exposition(), 200, content_type=self.metrics.content_type)
        if path == "/" and request.method == "HEAD":
            return Response(status=200)
        if path == "/webui" or (path == "/" and request.method == "GET" and _prefers_html(request)):
            return Response(_static(_WEB / "index.html"), 200, content_type="text/html; charset=utf-8")
        if path == "/openapi.json":
            return Response(_static(_OPENAPI), 200, content_type="application/json")
        if path == "/" and request.method == "GET":
            return _json(200, self._describe())
        if is_cloudevent(request):
            return self._event(request, details, None)
        body = None
        if request.mimetype == "application/json":
            body = read_body(request, self.settings.max_body_bytes)
            payload = parse_json(body)
            if minio.is_webhook(payload):
                _authorize(request, self.settings.webhook_token)
                return self._event(request, details, payload)
        if path == "/api/events":
            raise ApiError(400, "not_an_event", "POST a CloudEvent or a MinIO notification to /api/events.")
        _authorize(request, self.settings.api_token)
        return self._ocr(request, details, body)

    def _health(self) -> Response:
        if self.lifecycle.error is not None:
            return _json(503, {"status": "failed", "message": "Model loading failed; see the server log."})
        return _json(200, {"status": "ok"})

    def _ready(self) -> Response:
        if self.lifecycle.ready:
            return _json(200, {"status": "ready"})
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
                raise ApiError(503, "model_failed", "The models failed to load; see the server log.")
            raise ApiError(
                503,
                "not_ready",
                "The models are still loading; retry shortly.",
                {"Retry-After": RETRY_AFTER_SECONDS},
            )
        return engine

    @contextmanager
    def _admitted(self) -> Iterator[None]:
        """Hold an inference slot (waiting in the bounded queue), counted in flight; a full queue is 429."""
        self.metrics.in_flight.inc()
        try:
            try:
                with self.admission.slot():
                    yield
            except QueueFullError as exc:
                raise ApiError(
                    429, "too_many_requests", str(exc), {"Retry-After": RETRY_AFTER_SECONDS}
                ) from None
        finally:
            self.metrics.in_flight.dec()

    def _read(
        self,
        data: bytes,
        options: OcrOptions,
        request_id: str,
        orient_page: bool | None = None,
        text_layer: bool = True,
        pages: PageSelection | None = None,
    ) -> OcrResult | DocumentResult:
        """OCR an image, or every page of a PDF / multi-page TIFF, through the admission gate.

        *orient_page* ``None`` turns document pages upright and reads single images as they are;
        *text_layer* ``False`` OCRs PDF pages that carry text instead of taking their text; *pages*
        reads only those pages of a document (a single image is page 1 of 1).
        """
        engine = self._engine()
        document = document_kind(data) is not None
        options = replace(options, orient_page=document if orient_page is None else orient_page)
        if not document:
            if pages is not None:
                pages.pick(1)  # a page beyond 1 of a single image is a 422, like any page out of range
            with self._admitted():
                result = engine.run(data, replace(options, time_budget=self.settings.time_budget))
            self.metrics.observe_stages(result.timings)
            self.metrics.images.inc()
            self.metrics.lines.inc(len(result.lines))
            return result
        limits = replace(self.settings.document_limits(), use_text_layer=text_layer)

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
        with self._admitted():
            document = read_document(engine, data, budgeted, limits, progress, pages)
        self.metrics.document_seconds.observe(document.seconds)
        self.metrics.document_pages.observe(len(document.pages))
        return document

    def _ocr_for_event(self, data: bytes, request_id: str) -> EventResult:
        formats = self.settings.result_formats
        result = self._read(data, OcrOptions(words="hocr" in formats), request_id)
        model = self.lifecycle.model_name or ""
        if isinstance(result, DocumentResult):
            pages = result.pages
            payload, text = document_payload(result, model), document_text(result)
        else:
            pages = [PageResult.of_image(result)]
            payload, text = result_payload(result, model), result_text(result)
        extras: dict[str, tuple[bytes, str]] = {}
        if "text" in formats:
            extras[".txt"] = (text.encode("utf-8"), "text/plain; charset=utf-8")
        if "hocr" in formats:
            extras[".hocr"] = (render_hocr(pages, model).encode("utf-8"), HOCR_TYPE)
        return EventResult(payload, sum(len(p.lines) for p in pages), extras)

    def _event(self, request: Request, details: dict[str, Any], webhook: Any) -> Response:
        self._engine()  # not ready: 503, which the broker retries
        try:
            if webhook is not None:
                details["event_type"] = "minio.webhook"
                refs = minio.webhook_references(webhook)
            else:
                event = decode_cloudevent(request.headers, read_body(request, self.settings.max_body_bytes))
                details.update(event_type=event.type, event_id=event.id, event_source=event.source)
                refs = references(event)
        except IgnoredEvent as exc:
            details["outcome"] = f"ignored: {exc}"
            self.metrics.events.labels("ignored").inc()
            return Response(status=204)
        except EventError as exc:
            raise ApiError(400, "unsupported_event", str(exc)) from None
        outcomes = [self.ingest.process(ref, details["request_id"]) for ref in refs]
        summaries = [o.summary() for o in outcomes]
        for outcome in outcomes:
            self.metrics.events.labels(outcome.status).inc()
        details["objects"] = summaries
        produced = any(o.status in ("completed", "duplicate") for o in outcomes)
        send = self.settings.event_reply and wants_reply(request) and produced
        return reply(summaries, send, self.settings.service)

    def _ocr(self, request: Request, details: dict[str, Any], body: bytes | None) -> Response:
        self._engine()
        parsed = parse_ocr_request(request, self.settings.max_body_bytes, body)
        details["bytes_in"] = parsed.body_bytes
        details["detect"] = parsed.options.detect
        hocr = parsed.format == "hocr"
        options = replace(parsed.options, words=hocr)
        try:
            result = self._read(
                parsed.image,
                options,
                details["request_id"],
                parsed.orient_page,
                parsed.text_layer,
                parsed.pages,
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
            if parsed.format == "text":
                return Response(document_text(result), 200, content_type="text/plain; charset=utf-8")
            if hocr:
                return Response(render_hocr(result.pages, model), 200, content_type=HOCR_TYPE)
            return _json(200, document_payload(result, model))
        details["lines"] = len(result.lines)
        details["width"], details["height"] = result.width, result.height
        details["inference_ms"] = round(result.timings.get("total", 0.0) * 1000, 1)
        if parsed.format == "text":
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


def _authorize(request: Request, token: str | None) -> None:
    """Require ``Authorization: Bearer <token>`` when *token* is set (compared in constant time)."""
    if token is None:
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise ApiError(
            401,
            "unauthorized",
            "This endpoint needs Authorization: Bearer <token>.",
            {"WWW-Authenticate": "Bearer"},
        )


@functools.cache
def _static(path: Path) -> bytes:
    """Read a file shipped with the function (once)."""
    return path.read_bytes()


def _prefers_html(request: Request) -> bool:
    """Whether the client (a browser) would rather have HTML than JSON."""
    accept = request.accept_mimetypes
    return accept.quality("text/html") > accept.quality("application/json")


def _request_id(request: Request) -> str:
    given = request.headers.get("X-Request-Id", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex
