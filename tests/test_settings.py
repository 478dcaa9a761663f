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


def test_overrides(tmp_path):
    env = {
        "OCRFN_MODEL_DIR": str(tmp_path),
        "OCRFN_MODEL_SET": "ppocrv6-tiny",
        "OCRFN_THREADS": "3",
        "OCRFN_MAX_PIXELS": "1000",
        "OCRFN_DETECT_MAX_PIXELS": "2000000",
    }
    s = load_settings(env)
    assert (s.model_dir, s.model_set, s.threads, s.max_pixels) == (tmp_path, "ppocrv6-tiny", 3, 1000)
    assert s.detect_max_pixels == 2_000_000


@pytest.mark.parametrize("name", ["OCRFN_THREADS", "OCRFN_MAX_PIXELS", "OCRFN_DETECT_MAX_PIXELS"])
@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_invalid_numbers_are_rejected(name, value):
    with pytest.raises(ValueError, match=name):
        load_settings({name: value})
