"""Prometheus metrics of one serving process (prometheus-client, text exposition at ``GET /metrics``)."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

#: Request latency buckets (seconds): probes answer in milliseconds, dense pages take seconds, documents
#: up to the document budget (140 s by default).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
#: Whole-document buckets (seconds) and pages-per-document buckets.
DOCUMENT_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 90.0, 120.0, 180.0, 300.0)
PAGE_COUNT_BUCKETS = (1, 2, 3, 5, 10, 20, 30, 50, 100)
#: Inference stage buckets (seconds).
STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STAGES = ("decode", "orient_page", "detect", "classify", "recognize", "order", "total")


class Metrics:
    """Every metric ocrfn exports, in a registry of its own (plus process and platform collectors)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        r = self.registry
        self.requests = Counter(
            "ocrfn_http_requests",
            "HTTP requests answered, by route, method and status",
            ("route", "method", "status"),
            registry=r,
        )
        self.latency = Histogram(
            "ocrfn_http_request_duration_seconds",
            "Time from request received to response built, by route",
            ("route",),
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.stages = Histogram(
            "ocrfn_inference_stage_duration_seconds",
            "Time spent in each OCR stage per image (total = the whole engine call)",
            ("stage",),
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge("ocrfn_ocr_requests_in_flight", "OCR requests being handled now", registry=r)
        self.queue_depth = Gauge(
            "ocrfn_ocr_queue_depth", "OCR jobs waiting for an inference slot", registry=r
        )
        self.lines = Counter("ocrfn_lines_recognized", "Text lines returned", registry=r)
        self.images = Counter("ocrfn_images_processed", "Images OCRed successfully", registry=r)
        self.pages = Counter(
            "ocrfn_document_pages",
            "Pages of PDFs and multi-page TIFFs read, by source (ocr, text-layer)",
            ("source",),
            registry=r,
        )
        self.document_seconds = Histogram(
            "ocrfn_document_duration_seconds",
            "Time to read a whole PDF or multi-page TIFF (size OCRFN_DOCUMENT_TIME_BUDGET from it)",
            buckets=DOCUMENT_BUCKETS,
            registry=r,
        )
        self.document_pages = Histogram(
            "ocrfn_document_page_count",
            "Pages read per PDF or multi-page TIFF",
            buckets=PAGE_COUNT_BUCKETS,
            registry=r,
        )
        self.events = Counter(
            "ocrfn_events",
            "Events handled, by source adapter, type and outcome: per object (completed, duplicate, "
            "skipped), per event (ignored), or the error that ended the event (invalid_event, "
            "object_missing, storage_unavailable, ...)",
            ("source", "type", "outcome"),
            registry=r,
        )
        self.store_clients = Gauge(
            "ocrfn_store_clients", "Object store clients held for reuse (cloud mode; bounded)", registry=r
        )
        self.model = Info("ocrfn_model", "The loaded model set and runtime settings", registry=r)
        self.ready = Gauge("ocrfn_ready", "1 once the models are loaded and warmed up", registry=r)
        self.cold_start = Gauge(
            "ocrfn_cold_start_seconds",
            "Seconds from process start to ready (models loaded, warm-up run)",
            registry=r,
        )
        self.startup = Gauge(
            "ocrfn_startup_phase_seconds",
            "Start-up phases of this process: interpreter, imports, server, load, warmup, total",
            ("phase",),
            registry=r,
        )
        self.load_time = Gauge(
            "ocrfn_model_load_seconds", "Seconds spent creating the inference sessions", registry=r
        )

    def observe_stages(self, timings: Mapping[str, float]) -> None:
        """Record one engine call's per-stage timings (seconds)."""
        for stage in STAGES:
            if stage in timings:
                self.stages.labels(stage).observe(timings[stage])

    def exposition(self) -> bytes:
        """Render the current metrics in Prometheus text format."""
        return generate_latest(self.registry)
