"""Every setting of ocrfn, read from the environment once.

| variable | default | meaning |
|---|---|---|
| ``OCRFN_MODEL_DIR`` | ``<repo>/model`` | directory holding ``manifest.json`` and the model files |
| ``OCRFN_MODEL_SET`` | the manifest's ``default_set`` | which model set to load (e.g. ``ppocrv6-tiny``) |
| ``OCRFN_THREADS`` | the container's CPU limit | onnxruntime intra-op threads per session |
| ``OCRFN_MAX_PIXELS`` | ``40000000`` | largest image accepted, in pixels (checked from the header) |
| ``OCRFN_DETECT_MAX_PIXELS`` | ``600000`` | larger images are scaled down to this many pixels for text
  detection (recognition always reads the full-resolution crops); raise it for pages of very small text,
  at the cost of detection time and memory |
| ``OCRFN_MAX_BODY_BYTES`` | ``50331648`` (48 MiB) | largest request body; larger ones get 413 (checked from
  ``Content-Length`` before reading, and enforced while reading) |
| ``OCRFN_CONCURRENCY`` | ``1`` | OCR jobs run at once per process (each already uses every CPU thread) |
| ``OCRFN_MAX_QUEUE`` | ``4`` | OCR jobs that may wait for a free slot; one more gets 429. Keep
  ``OCRFN_CONCURRENCY + OCRFN_MAX_QUEUE`` below the server's request threads (functions-framework's
  ``THREADS``, default 4 per CPU) so health probes always find a free thread |
| ``OCRFN_STORAGE`` | ``file`` | ``file``: every bucket named by an event is a directory under
  ``OCRFN_FILE_ROOT`` (runs on a laptop); ``s3``: S3-family events read ``s3://`` (``AWS_*``
  variables: ``AWS_ENDPOINT_URL``, ``AWS_REGION``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
  ``AWS_ALLOW_HTTP``); ``gs``: GCS events read ``gs://``; ``s3,gs`` (or ``cloud``): both. Objects of
  a scheme the mode does not serve (``file://`` in a cloud mode, ``gs://`` in ``s3``) are refused (400) |
| ``OCRFN_FILE_ROOT`` | ``buckets`` (in the working directory) | the local directory of buckets |
| ``OCRFN_RESULT_BUCKET`` | the source object's bucket | where event results are written |
| ``OCRFN_RESULT_PREFIX`` | ``ocr-results/`` | results go to ``<prefix><key>.json``; events for keys
  under it are ignored |
| ``OCRFN_RESULT_FORMATS`` | ``json`` | comma-separated results written per object: ``json`` (always; it
  records the source version that makes deliveries idempotent), plus ``text`` (``<key>.txt``, pages
  separated by form feeds) and ``hocr`` (``<key>.hocr``, for OCRmyPDF-style tools) |
| ``OCRFN_EVENT_REPLY`` | ``true`` | answer events that carry ``Prefer: reply`` with a
  ``dev.ocrfn.ocr.completed`` CloudEvent; ``false``: always an empty 204 |
| ``OCRFN_TIME_BUDGET`` | ``30`` | seconds one image may take in the engine; a longer one is stopped (also
  mid-inference) and answered 422 ``time_budget_exceeded``; keep it below Knative's ``timeoutSeconds`` |
| ``OCRFN_PDF_DPI`` | ``200`` | resolution PDF pages are rendered at for OCR |
| ``OCRFN_MAX_PAGES`` | ``50`` | pages a PDF or multi-page TIFF may have; more is a 422 (never truncated) |
| ``OCRFN_MAX_DOCUMENT_PIXELS`` | ``400000000`` | pixels all pages of a document may add up to |
| ``OCRFN_DOCUMENT_TIME_BUDGET`` | ``140`` | seconds a whole document may take; keep it under half of the
  Service's ``timeoutSeconds`` (300 s in ``knative/service.yaml``): a document may wait behind another |
| ``OCRFN_API_TOKEN`` | unset | when set, OCR requests must carry ``Authorization: Bearer <token>`` (401
  otherwise); probes, metrics, the web page and the OpenAPI document stay open |
| ``OCRFN_WEBHOOK_TOKEN`` | unset | when set, every event delivery must carry it the same way: MinIO webhook
  notifications (MinIO's ``auth_token``) and CloudEvents of any type, binary or structured, on any path.
  Knative brokers cannot add a header: leave it unset for broker deliveries and keep the Service
  cluster-local |
| ``OCRFN_BODY_TIMEOUT`` | ``60`` | seconds a request body may take to arrive (408 beyond): a client that
  drips bytes must not hold a request |
| ``OCRFN_HEADER_TIMEOUT`` | ``10`` | seconds the request line and headers may take to arrive (ocrfn's
  server closes the connection beyond; it holds no thread meanwhile) |
| ``OCRFN_SHUTDOWN_TIMEOUT`` | ``150`` | seconds a stopping server lets running requests finish (longer than
  ``OCRFN_DOCUMENT_TIME_BUDGET``); requests not yet running get 503 with ``Retry-After`` at once |
| ``OCRFN_MAX_JSON_DEPTH`` | ``32`` | deepest nesting accepted in a JSON body or event (ocrfn's own formats
  nest at most 6 deep) |
| ``OCRFN_MAX_JSON_VALUES`` | ``100000`` | most values (objects, arrays, members) in a JSON body or event:
  each costs a Python object, so this bounds the memory of parsing |
| ``OCRFN_MAX_FORM_PARTS`` | ``16`` | most parts of a multipart body |
| ``OCRFN_MAX_RESULT_BYTES`` | ``67108864`` (64 MiB) | largest existing result record read back to
  recognise a duplicate delivery; a larger (or unreadable) one is treated as absent and written anew |
| ``OCRFN_DECODER_MEMORY`` | ``536870912`` (512 MiB) | address space of each decoder process (images and
  documents are decoded in child processes with this limit, within the request's time budget; an image
  that needs more is a 422 ``image_too_large``) |
| ``OCRFN_MAX_PAGE_CHARS`` | ``100000`` | characters a PDF page's text layer may have, pdfium's generated
  spaces and line ends included (422 beyond; a dense page has a few thousand) |
| ``OCRFN_STORE_CLIENTS`` | ``32`` | object store clients kept for reuse in cloud mode (one per bucket,
  about 110 KB each; the least recently used are dropped) |
| ``THREADS`` | 4 per CPU (``os.cpu_count``) | functions-framework's request threads (read here only to warn
  when ``OCRFN_CONCURRENCY + OCRFN_MAX_QUEUE`` leaves fewer than two for probes) |
| ``K_SERVICE``, ``K_REVISION`` | unset | set by Knative; copied into every request log line |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .ocr.decode import DEFAULT_MAX_PIXELS
from .ocr.detect import DetectorParams
from .ocr.models import DEFAULT_MODEL_DIR
from .ocr.pages import DocumentLimits
from .ocr.runtime import resolve_threads


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one process."""

    model_dir: Path
    model_set: str | None
    threads: int
    max_pixels: int
    detect_max_pixels: int
    max_body_bytes: int
    concurrency: int
    max_queue: int
    server_threads: int
    storage: str
    storage_schemes: tuple[str, ...]
    file_root: Path
    allow_http: bool
    result_bucket: str | None
    result_prefix: str
    result_formats: tuple[str, ...]
    event_reply: bool
    time_budget: float
    pdf_dpi: int
    max_pages: int
    max_document_pixels: int
    document_time_budget: float
    api_token: str | None
    webhook_token: str | None
    body_timeout: float
    header_timeout: float
    shutdown_timeout: float
    max_json_depth: int
    max_json_values: int
    max_form_parts: int
    max_result_bytes: int
    store_clients: int
    decoder_memory: int
    max_page_chars: int
    service: str | None
    revision: str | None

    def __repr__(self) -> str:
        """Show every field except the secrets (never their values)."""
        shown = {k: ("<set>" if k.endswith("_token") and v else v) for k, v in self.__dict__.items()}
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    @property
    def probe_threads(self) -> int:
        """Server threads left for probes when every inference slot and queue place is taken."""
        return self.server_threads - self.concurrency - self.max_queue

    def document_limits(self, text_layer: bool = True) -> DocumentLimits:
        """Return the rendering resolution and bounds for PDFs and multi-page TIFFs.

        *text_layer* ``False`` OCRs PDF pages that carry text instead of taking their text.
        """
        return DocumentLimits(
            dpi=self.pdf_dpi,
            max_pages=self.max_pages,
            max_page_pixels=self.max_pixels,
            max_total_pixels=self.max_document_pixels,
            max_page_chars=self.max_page_chars,
            use_text_layer=text_layer,
        )


#: Room for a 50-page scanned PDF (about 0.6 MB a page as colour JPEG at 200 dpi: 31 MB).
DEFAULT_MAX_BODY_BYTES = 48 * 1024 * 1024


def _positive_int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {raw!r}")
    return value


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a positive number of seconds, got {raw!r}") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = env.get(name, "").strip().lower() or default
    if raw not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
    return raw


def _prefix(raw: str) -> str:
    prefix = raw.strip().lstrip("/")
    if not prefix:
        raise ValueError("OCRFN_RESULT_PREFIX must not be empty (results would land among the sources)")
    return prefix if prefix.endswith("/") else prefix + "/"


def _storage(raw: str) -> tuple[str, tuple[str, ...]]:
    """Return the storage mode (``file`` or ``cloud``) and the cloud schemes it serves."""
    value = raw.strip().lower() or "file"
    if value == "file":
        return "file", ()
    if value == "cloud":
        return "cloud", ("s3", "gs")
    schemes = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    if not schemes or set(schemes) - {"s3", "gs"}:
        raise ValueError(f"OCRFN_STORAGE must be file, s3, gs, s3,gs or cloud, got {raw!r}")
    return "cloud", schemes


RESULT_FORMATS = ("json", "text", "hocr")


def _result_formats(raw: str) -> tuple[str, ...]:
    chosen = [part.strip().lower() for part in raw.split(",") if part.strip()] or ["json"]
    unknown = [f for f in chosen if f not in RESULT_FORMATS]
    if unknown:
        allowed = ", ".join(RESULT_FORMATS)
        raise ValueError(f"OCRFN_RESULT_FORMATS: unknown format(s) {unknown}; use {allowed}")
    if "json" not in chosen:
        raise ValueError("OCRFN_RESULT_FORMATS must include json: it records which version was read")
    return tuple(f for f in RESULT_FORMATS if f in chosen)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from *env* (default: ``os.environ``); invalid values raise ``ValueError``."""
    env = os.environ if env is None else env
    try:
        threads = resolve_threads(env.get("OCRFN_THREADS"))
    except ValueError as exc:
        raise ValueError(f"OCRFN_THREADS: {exc}") from None
    storage, schemes = _storage(env.get("OCRFN_STORAGE", ""))
    return Settings(
        model_dir=Path(env.get("OCRFN_MODEL_DIR") or DEFAULT_MODEL_DIR),
        model_set=env.get("OCRFN_MODEL_SET") or None,
        threads=threads,
        max_pixels=_positive_int(env, "OCRFN_MAX_PIXELS", DEFAULT_MAX_PIXELS),
        detect_max_pixels=_positive_int(env, "OCRFN_DETECT_MAX_PIXELS", DetectorParams().max_area),
        max_body_bytes=_positive_int(env, "OCRFN_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
        concurrency=_positive_int(env, "OCRFN_CONCURRENCY", 1),
        max_queue=_positive_int(env, "OCRFN_MAX_QUEUE", 4, minimum=0),
        server_threads=_positive_int(env, "THREADS", (os.cpu_count() or 1) * 4),
        storage=storage,
        storage_schemes=schemes,
        file_root=Path(env.get("OCRFN_FILE_ROOT") or "buckets").absolute(),
        allow_http=env.get("AWS_ALLOW_HTTP", "").strip().lower() in ("1", "true", "yes"),
        result_bucket=env.get("OCRFN_RESULT_BUCKET") or None,
        result_prefix=_prefix(env.get("OCRFN_RESULT_PREFIX", "ocr-results/")),
        result_formats=_result_formats(env.get("OCRFN_RESULT_FORMATS", "json")),
        event_reply=_choice(env, "OCRFN_EVENT_REPLY", ("true", "false"), "true") == "true",
        time_budget=_positive_float(env, "OCRFN_TIME_BUDGET", 30.0),
        pdf_dpi=_positive_int(env, "OCRFN_PDF_DPI", 200),
        max_pages=_positive_int(env, "OCRFN_MAX_PAGES", 50),
        max_document_pixels=_positive_int(env, "OCRFN_MAX_DOCUMENT_PIXELS", 400_000_000),
        document_time_budget=_positive_float(env, "OCRFN_DOCUMENT_TIME_BUDGET", 140.0),
        api_token=env.get("OCRFN_API_TOKEN") or None,
        webhook_token=env.get("OCRFN_WEBHOOK_TOKEN") or None,
        body_timeout=_positive_float(env, "OCRFN_BODY_TIMEOUT", 60.0),
        header_timeout=_positive_float(env, "OCRFN_HEADER_TIMEOUT", 10.0),
        shutdown_timeout=_positive_float(env, "OCRFN_SHUTDOWN_TIMEOUT", 150.0),
        max_json_depth=_positive_int(env, "OCRFN_MAX_JSON_DEPTH", 32),
        max_json_values=_positive_int(env, "OCRFN_MAX_JSON_VALUES", 100_000),
        max_form_parts=_positive_int(env, "OCRFN_MAX_FORM_PARTS", 16),
        max_result_bytes=_positive_int(env, "OCRFN_MAX_RESULT_BYTES", 64 * 1024 * 1024),
        store_clients=_positive_int(env, "OCRFN_STORE_CLIENTS", 32),
        decoder_memory=_positive_int(
            env, "OCRFN_DECODER_MEMORY", 512 * 1024 * 1024, minimum=256 * 1024 * 1024
        ),
        max_page_chars=_positive_int(env, "OCRFN_MAX_PAGE_CHARS", 100_000),
        service=env.get("K_SERVICE") or None,
        revision=env.get("K_REVISION") or None,
    )
