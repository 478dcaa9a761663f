"""Cold start in the container, next to the host, and what the image weighs.

Builds the repository's image (on the real base when the engine has it, else the stand-in of
``tests/docker_image.py``) and a variant as the Dockerfile was before the standard library was
precompiled and pip/setuptools trimmed, then, interleaved, ``--runs`` times each: ``docker run`` (as the
Knative Service runs it: read-only, tmpfs ``/dev/shm``, 2 CPUs, 1280 MiB) until ``/ready`` answers 200,
and until a first OCR answer, timed from the command's start; the server's own mark of process start to
ready; and the same on the host (``python -m function.server``). Then the image sizes and the largest
layers.

Example (from the repository root, with a Docker engine)::

    python3 benchmarks/container.py --runs 5
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import requests

_REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_REPO), str(_REPO / "tests")]

import docker_image  # noqa: E402  (tests/docker_image.py)

from benchmarks.cold_start import LINE, one_start  # noqa: E402
from benchmarks.evaluate import machine_info  # noqa: E402

IMAGE = "ocrfn-bench:latest"
BEFORE = "ocrfn-bench:before"


def before_dockerfile() -> str:
    """The Dockerfile without this change's two steps: no precompiled stdlib, pip and setuptools kept."""
    text = (_REPO / "Dockerfile").read_text(encoding="utf-8")
    text = text.replace("    && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools \\\n", "")
    return re.sub(r" \\\n    && python -c \"import compileall, sysconfig;[^\n]*", "", text)


def start(image: str, until_ocr: bool) -> tuple[float, float]:
    """One container start: seconds from ``docker run`` to ``/ready`` 200 (or to an OCR answer), and the
    server's own process-start-to-ready mark."""
    began = time.monotonic()
    container, port = docker_image.run(image)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if until_ocr:
                    answer = requests.post(
                        url + "/api/ocr?detect=false",
                        data=LINE,
                        headers={"Content-Type": "image/png"},
                        timeout=10,
                    )
                else:
                    answer = requests.get(url + "/ready", timeout=2)
                if answer.status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() - began > 120:
                raise TimeoutError(f"{image} did not answer within 120 s")
            time.sleep(0.005)
        seconds = time.monotonic() - began
        text = requests.get(url + "/metrics", timeout=10).text
        found = re.search(r'^ocrfn_startup_phase_seconds\{phase="total"\} (\S+)$', text, re.M)
        return seconds, float(found.group(1)) if found else float("nan")
    finally:
        docker_image.docker("rm", "-f", container, check=False)


def layers(image: str, count: int = 5) -> list[tuple[str, str]]:
    """The largest layers of *image*: (size, the step that made it)."""
    rows = docker_image.docker("history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", image)
    parsed = []
    for line in rows.stdout.splitlines():
        size, _, step = line.partition("\t")
        number = re.match(r"([\d.]+)([kMG]?B)", size)
        scale = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}
        parsed.append((float(number.group(1)) * scale[number.group(2)] if number else 0.0, size, step))
    parsed.sort(reverse=True)
    return [(size, re.sub(r"\s+", " ", step)[:100]) for _, size, step in parsed[:count]]


def size(image: str) -> float:
    return int(docker_image.docker("image", "inspect", "--format", "{{.Size}}", image).stdout) / 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="starts per measurement (default 5)")
    args = parser.parse_args(argv)
    docker_image.engine()
    base = docker_image.base_image()
    built = docker_image.build(IMAGE, base)
    subprocess.run(
        ["docker", "build", "-q", "--build-arg", f"BASE={base}", "-t", BEFORE, "-f", "-", str(_REPO)],
        input=before_dockerfile(),
        text=True,
        check=True,
        capture_output=True,
    )
    results: dict[str, list[tuple[float, float]]] = {}
    host: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            for image in (IMAGE, BEFORE):
                results.setdefault(f"{image} ready", []).append(start(image, until_ocr=False))
                results.setdefault(f"{image} ocr", []).append(start(image, until_ocr=True))
            host.append(one_start(Path(tmp), {"OCRFN_THREADS": "2"}))
    print(f"- Machine: {machine_info()}")
    print(f"- Base: {base}; build of the image {built:.0f} s; {args.runs} starts each, interleaved")
    print()
    print("| | command start → /ready | command start → first OCR | process start → ready (server's mark) |")
    print("|---|---:|---:|---:|")
    for image, name in (
        (IMAGE, "container (shipped)"),
        (BEFORE, "container, stdlib not precompiled, pip kept"),
    ):
        ready = [s for s, _ in results[f"{image} ready"]]
        first = [s for s, _ in results[f"{image} ocr"]]
        marks = [m for _, m in results[f"{image} ready"]]
        print(
            f"| {name} | {statistics.median(ready):.2f} s | {statistics.median(first):.2f} s | "
            f"{statistics.median(marks):.2f} s |"
        )
    host_first = statistics.median(h["first_response"] for h in host)
    host_ready = statistics.median(h["total"] for h in host)
    print(f"| host (`python -m function.server`) | — | {host_first:.2f} s | {host_ready:.2f} s |")
    print()
    print(
        f"Image size: {size(IMAGE):.0f} MB shipped, {size(BEFORE):.0f} MB before. Largest layers (shipped):"
    )
    print()
    for layer_size, step in layers(IMAGE):
        print(f"- {layer_size}: `{step}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
