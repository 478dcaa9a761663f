"""Wiring: settings, model lifecycle, metrics and admission control assembled into one :class:`OcrApp`."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from .admission import Admission
from .api.app import OcrApp
from .lifecycle import STARTUP, Lifecycle, startup_phases
from .metrics import Metrics
from .ocr import ModelSet
from .request_log import log_event
from .settings import Settings, load_settings
from .storage import Storage


def ready_fields(
    settings: Settings, models: ModelSet, ready_seconds: float, phases: Mapping[str, float]
) -> dict[str, Any]:
    """Return the log line of a ready process: what it loaded, how it runs, its limits, how long."""
    return {
        "event": "ready",
        "model_set": models.name,
        "models": {
            "detector": models.detector.path.name,
            "recognizer": models.recognizer.path.name,
            "classifier": models.classifier.path.name if models.classifier else None,
        },
        "threads": settings.threads,
        "concurrency": settings.concurrency,
        "max_queue": settings.max_queue,
        "server_threads": settings.server_threads,
        "limits": {
            "max_body_bytes": settings.max_body_bytes,
            "max_pixels": settings.max_pixels,
            "max_pages": settings.max_pages,
            "time_budget_s": settings.time_budget,
            "document_time_budget_s": settings.document_time_budget,
            "decoder_memory_bytes": settings.decoder_memory,
        },
        "auth": {"api": settings.api_token is not None, "events": settings.webhook_token is not None},
        "storage": settings.storage,
        "ready_s": round(ready_seconds, 3),
        "phases_s": {name: round(seconds, 3) for name, seconds in phases.items()},
        "pid": os.getpid(),
        "service": settings.service,
        "revision": settings.revision,
    }


def create_app(env: Mapping[str, str] | None = None) -> OcrApp:
    """Build the app from the environment (read once); models load later, in the serving process."""
    settings = load_settings(env)
    if settings.probe_threads < 2:
        logging.getLogger("ocrfn").warning(
            "OCRFN_CONCURRENCY + OCRFN_MAX_QUEUE = %d of %d server THREADS: health probes may wait behind "
            "OCR requests; lower OCRFN_MAX_QUEUE or raise THREADS",
            settings.concurrency + settings.max_queue,
            settings.server_threads,
        )
    metrics = Metrics()

    def on_ready(lifecycle: Lifecycle) -> None:
        engine = lifecycle.engine
        if engine is None:
            return
        models = engine.models
        metrics.model.info(
            {
                "model_set": models.name,
                "detector": models.detector.path.name,
                "recognizer": models.recognizer.path.name,
                "classifier": models.classifier.path.name if models.classifier else "",
                "threads": str(settings.threads),
            }
        )
        metrics.ready.set(1)
        metrics.cold_start.set(lifecycle.cold_start_seconds or 0.0)
        metrics.load_time.set(lifecycle.load_seconds or 0.0)
        phases = startup_phases(STARTUP)
        for phase, seconds in phases.items():
            metrics.startup.labels(phase).set(seconds)
        log_event(ready_fields(settings, models, lifecycle.cold_start_seconds or 0.0, phases))

    lifecycle = Lifecycle(settings, on_ready=on_ready)
    storage = Storage(
        settings.storage,
        settings.file_root,
        settings.allow_http,
        settings.storage_schemes,
        settings.store_clients,
    )
    return OcrApp(settings, lifecycle, metrics, Admission(settings.concurrency, settings.max_queue), storage)
