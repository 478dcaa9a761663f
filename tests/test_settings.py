"""Settings come from the environment once, with documented defaults and clear errors."""

import pytest

from function.ocr.decode import DEFAULT_MAX_PIXELS
from function.ocr.models import DEFAULT_MODEL_DIR
from function.ocr.runtime import cpu_limit
from function.settings import load_settings


def test_defaults():
    s = load_settings({})
    assert s.model_dir == DEFAULT_MODEL_DIR
    assert s.model_set is None
    assert s.threads == cpu_limit()
    assert s.max_pixels == DEFAULT_MAX_PIXELS
    assert s.detect_max_pixels == 600_000
    assert (s.max_body_bytes, s.concurrency, s.max_queue) == (48 * 1024 * 1024, 1, 4)
    assert (s.service, s.revision) == (None, None)


def test_overrides(tmp_path):
    env = {
        "OCRFN_MODEL_DIR": str(tmp_path),
        "OCRFN_MODEL_SET": "ppocrv6-tiny",
        "OCRFN_THREADS": "3",
        "OCRFN_MAX_PIXELS": "1000",
        "OCRFN_DETECT_MAX_PIXELS": "2000000",
        "OCRFN_MAX_BODY_BYTES": "1000",
        "OCRFN_CONCURRENCY": "2",
        "OCRFN_MAX_QUEUE": "0",
        "K_SERVICE": "ocr",
        "K_REVISION": "ocr-00002",
    }
    s = load_settings(env)
    assert (s.model_dir, s.model_set, s.threads, s.max_pixels) == (tmp_path, "ppocrv6-tiny", 3, 1000)
    assert s.detect_max_pixels == 2_000_000
    assert (s.max_body_bytes, s.concurrency, s.max_queue) == (1000, 2, 0)
    assert (s.service, s.revision) == ("ocr", "ocr-00002")


@pytest.mark.parametrize(
    "name",
    [
        "OCRFN_THREADS",
        "OCRFN_MAX_PIXELS",
        "OCRFN_DETECT_MAX_PIXELS",
        "OCRFN_MAX_BODY_BYTES",
        "OCRFN_CONCURRENCY",
    ],
)
@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_invalid_numbers_are_rejected(name, value):
    with pytest.raises(ValueError, match=name):
        load_settings({name: value})


@pytest.mark.parametrize("value", ["-1", "many"])
def test_queue_may_be_zero_but_not_negative(value):
    assert load_settings({"OCRFN_MAX_QUEUE": "0"}).max_queue == 0
    with pytest.raises(ValueError, match="OCRFN_MAX_QUEUE"):
        load_settings({"OCRFN_MAX_QUEUE": value})


def test_probe_threads_follow_functions_framework_threads():
    s = load_settings({"THREADS": "8", "OCRFN_CONCURRENCY": "1", "OCRFN_MAX_QUEUE": "4"})
    assert s.server_threads == 8 and s.probe_threads == 3
    assert load_settings({"THREADS": "4", "OCRFN_MAX_QUEUE": "4"}).probe_threads == -1


def test_crowded_threads_are_warned_about(caplog):
    from function.service import create_app

    create_app({"THREADS": "4", "OCRFN_MAX_QUEUE": "4", "OCRFN_THREADS": "1"})
    assert "health probes may wait" in caplog.text


def test_result_formats_always_keep_the_json_record():
    assert load_settings({}).result_formats == ("json",)
    assert load_settings({"OCRFN_RESULT_FORMATS": " hocr, JSON,text "}).result_formats == (
        "json",
        "text",
        "hocr",
    )
    with pytest.raises(ValueError, match="must include json"):
        load_settings({"OCRFN_RESULT_FORMATS": "hocr"})
    with pytest.raises(ValueError, match="unknown format"):
        load_settings({"OCRFN_RESULT_FORMATS": "json,pdf"})
