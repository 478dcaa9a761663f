"""Wiring: settings, model lifecycle, metrics and admission control assembled into one :class:`OcrApp`."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from .admission import Admission
from .api.app import OcrApp
from .lifecycle import STARTUP, Lifecycle, startup_phases
from .metrics import Metrics
from .settings import load_settings
from .storage import Storage


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
        for phase, seconds in startup_phases(STARTUP).items():
            metrics.startup.labels(phase).set(seconds)

    lifecycle = Lifecycle(settings, on_ready=on_ready)
    storage = Storage(
        settings.storage,
        settings.file_root,
        settings.allow_http,
        settings.storage_schemes,
        settings.store_clients,
    )
    return OcrApp(settings, lifecycle, metrics, Admission(settings.concurrency, settings.max_queue), storage)
