"""The engine's life in the serving process: load after any fork, warm up, then report ready.

functions-framework imports the function module in gunicorn's master and then forks the worker. An
onnxruntime session created before a fork keeps no thread pool in the child, so nothing is loaded at
import time: :meth:`Lifecycle.start` loads the engine in a background thread of the process that serves
(called from an ``os.register_at_fork`` hook and, for servers that do not fork, on the first request).
Readiness stays false until the sessions exist and a warm-up inference has run.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import cv2
import numpy as np

from .ocr import DetectorParams, OcrEngine, OcrOptions, load_model_set
from .ocr.sandbox import SandboxDecoder
from .request_log import log_event
from .settings import Settings


def process_start_time() -> float:
    """Wall-clock time (epoch seconds) at which this process started; now if it cannot be read.

    Linux gives the start as clock ticks since boot (``/proc/self/stat`` field 22); ``/proc/uptime``
    gives seconds since boot with the same resolution, so their difference is the process's age.
    """
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        age = uptime - ticks / os.sysconf("SC_CLK_TCK")
        return time.time() - max(0.0, age)
    except (OSError, ValueError, IndexError):
        return time.time()


#: Taken when this module is first imported, i.e. in the process the server was started as (gunicorn's
#: master); a forked worker inherits it, so cold start is measured from the command's start.
STARTED_AT = process_start_time()

#: Wall-clock marks of the start-up (epoch seconds): ``process_start``; ``module_start`` and ``imported``
#: (set by the function module around its imports); ``load_start``, ``loaded`` and ``ready`` (set here, in
#: the serving process). :func:`startup_phases` turns them into durations.
STARTUP: dict[str, float] = {"process_start": STARTED_AT}


def startup_phases(marks: dict[str, float]) -> dict[str, float]:
    """Durations of the start-up phases that the *marks* cover, in seconds.

    ``interpreter`` (process start to the function module: Python, functions-framework, Flask),
    ``imports`` (the function's own imports: numpy, OpenCV, onnxruntime, ...), ``server`` (gunicorn's
    start and fork until loading begins), ``load`` (session creation), ``warmup`` (first inference),
    ``total`` (process start to ready).
    """
    spans = {
        "interpreter": ("process_start", "module_start"),
        "imports": ("module_start", "imported"),
        "server": ("imported", "load_start"),
        "load": ("load_start", "loaded"),
        "warmup": ("loaded", "ready"),
        "total": ("process_start", "ready"),
    }
    return {name: marks[b] - marks[a] for name, (a, b) in spans.items() if a in marks and b in marks}


def build_engine(settings: Settings) -> OcrEngine:
    """Create the engine described by *settings* (sessions and decoder processes start in this process).

    Images and documents are decoded in child processes (:class:`~function.ocr.sandbox.SandboxDecoder`),
    one per inference slot, each limited to ``OCRFN_DECODER_MEMORY`` and to the request's time budget.
    """
    decoder = SandboxDecoder(settings.concurrency, settings.decoder_memory)
    return OcrEngine(
        load_model_set(settings.model_dir, settings.model_set),
        threads=settings.threads,
        max_pixels=settings.max_pixels,
        detector_params=DetectorParams(max_area=settings.detect_max_pixels),
        decoder=decoder,
    )


def warm_up(engine: OcrEngine) -> None:
    """Run every model once (page and line orientation, detector, recognizer) on a rendered text image.

    The image is decoded by the engine's decoder first, so a decoder process has answered once too.
    """
    image = np.full((96, 560, 3), 255, dtype=np.uint8)
    cv2.putText(image, "ocrfn warm-up 2026", (16, 62), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (0, 0, 0), 3)
    decoded = engine.decoder.decode(cv2.imencode(".png", image)[1].tobytes(), engine.max_pixels, 30.0)
    engine.run(decoded, OcrOptions(detect=True, orient_page=True, min_confidence=0.0))
    engine.run(image, OcrOptions(detect=False, min_confidence=0.0))


class Lifecycle:
    """Owns this process's engine: loading state, readiness and the cold-start figures."""

    def __init__(
        self,
        settings: Settings,
        build: Callable[[Settings], OcrEngine] = build_engine,
        on_ready: Callable[[Lifecycle], None] | None = None,
    ) -> None:
        self.settings = settings
        self._build = build
        self._on_ready = on_ready
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._engine: OcrEngine | None = None
        self._error: str | None = None
        self._ready = threading.Event()
        self.load_seconds: float | None = None
        self.cold_start_seconds: float | None = None

    def start(self) -> None:
        """Begin loading in a background thread, once per process; cheap to call on every request."""
        pid = os.getpid()
        if self._pid == pid:
            return
        with self._lock:
            if self._pid == pid:
                return
            self._pid = pid
            self._engine = None
            self._error = None
            self._ready = threading.Event()
            threading.Thread(target=self._load, name="ocrfn-load", daemon=True).start()

    def _load(self) -> None:
        STARTUP["load_start"] = time.time()
        try:
            engine = self._build(self.settings)
            STARTUP["loaded"] = time.time()
            warm_up(engine)
        except Exception as exc:
            self._error = f"{type(exc).__name__}: {exc}"
            log_event(
                {
                    "event": "load_failed",
                    "error": "model_failed",
                    "exception": type(exc).__name__,
                    "message": f"model loading failed: {self._error}",
                    "model_set": self.settings.model_set,
                    "model_dir": str(self.settings.model_dir),
                    "service": self.settings.service,
                    "revision": self.settings.revision,
                },
                "ERROR",
            )
            return
        self.load_seconds = STARTUP["loaded"] - STARTUP["load_start"]
        STARTUP["ready"] = time.time()
        self.cold_start_seconds = STARTUP["ready"] - STARTED_AT
        self._engine = engine
        self._ready.set()
        if self._on_ready is not None:
            self._on_ready(self)

    @property
    def model_name(self) -> str | None:
        """Name of the loaded model set (the configured one while loading; ``None`` = manifest default)."""
        engine = self._engine
        return engine.models.name if engine is not None else self.settings.model_set

    @property
    def ready(self) -> bool:
        """Whether the engine is loaded and warmed up in this process."""
        return self._ready.is_set() and self._pid == os.getpid()

    @property
    def error(self) -> str | None:
        """Why loading failed, or ``None``."""
        return self._error

    @property
    def engine(self) -> OcrEngine | None:
        """The engine once ready, else ``None``."""
        return self._engine if self.ready else None

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until ready (or *timeout* seconds); returns readiness."""
        self._ready.wait(timeout)
        return self.ready
