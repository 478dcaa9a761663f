"""The code base stays ruff-clean (lint and format), as part of the suite users run."""

import subprocess
import sys

from conftest import ROOT


def run_ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_check_clean():
    proc = run_ruff("check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_clean():
    proc = run_ruff("format", "--check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr
