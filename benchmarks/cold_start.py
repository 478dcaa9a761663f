"""Cold start of the served function, phase by phase, and what the image carries.

Starts the server (the README/Dockerfile command) ``--runs`` times in fresh processes and reads the
server's own start-up marks (``ocrfn_startup_phase_seconds``): interpreter (Python, functions-framework,
Flask), the function's imports (numpy, OpenCV, onnxruntime, ...), gunicorn's start and fork, session
creation, warm-up inference, and process start to ready; the client side adds the first OCR response.
The same is measured with no bytecode available (an empty ``PYTHONPYCACHEPREFIX``, nothing written), as a
container without precompiled ``.pyc`` files would start. Then it prints the installed size of the
runtime dependencies (``requirements.txt`` and everything they pull in) and of the model files.

Example (from the repository root)::

    python3 benchmarks/cold_start.py --runs 5
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import re
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import requests

_REPO = Path(__file__).resolve().parents[1]
for extra in (_REPO, _REPO / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from server import Server  # noqa: E402  (tests/server.py: the launcher the tests use)

from benchmarks.evaluate import machine_info  # noqa: E402

PHASES = ("interpreter", "imports", "server", "load", "warmup", "total")
LINE = (_REPO / "tests" / "data" / "images" / "line_en.png").read_bytes()


def one_start(workdir: Path, env: dict[str, str]) -> dict[str, float]:
    """Start a server, wait for the first OCR answer; the phases (seconds) and ``first_response``."""
    server = Server(workdir, env)
    try:
        first = server.first_ocr_seconds(LINE)
        text = requests.get(server.url + "/metrics", timeout=10).text
    finally:
        server.stop()
    phases = {
        m.group(1): float(m.group(2))
        for m in re.finditer(r'^ocrfn_startup_phase_seconds\{phase="(\w+)"\} (\S+)$', text, re.M)
    }
    phases["first_response"] = first
    return phases


def closure(requirements: Path) -> list[str]:
    """Names of the distributions ``requirements.txt`` installs, with their dependencies."""
    todo = [
        re.split(r"[=<>\[ ]", line.strip())[0]
        for line in requirements.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    seen: dict[str, str] = {}
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        seen[key] = dist.metadata["Name"]
        for req in dist.requires or []:
            if "extra ==" in req:
                continue
            if ";" in req and "platform_system" in req and "Windows" in req and "!=" not in req:
                continue
            todo.append(re.split(r"[=<>!~\[ ;(]", req.strip())[0])
    return sorted(seen.values(), key=str.lower)


def installed_bytes(name: str) -> int:
    """Bytes on disk of one installed distribution's files."""
    dist = md.distribution(name)
    total = 0
    for file in dist.files or []:
        path = Path(str(dist.locate_file(file)))
        if path.is_file():
            total += path.stat().st_size
    return total


def summarize(runs: list[dict[str, float]]) -> dict[str, float]:
    """Median per phase."""
    return {
        k: statistics.median(r[k] for r in runs)
        for k in (*PHASES, "first_response")
        if all(k in r for r in runs)
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="starts per configuration (default 5)")
    args = parser.parse_args(argv)
    info = machine_info()
    with tempfile.TemporaryDirectory(prefix="ocrfn-cold-") as tmp:
        workdir = Path(tmp)
        warm = [one_start(workdir, {}) for _ in range(args.runs)]
        cold = []
        for i in range(args.runs):
            prefix = workdir / f"pycache-{i}"
            cold.append(
                one_start(workdir, {"PYTHONPYCACHEPREFIX": str(prefix), "PYTHONDONTWRITEBYTECODE": "1"})
            )
    with_pyc, without_pyc = summarize(warm), summarize(cold)

    print("### Cold start of the served function\n")
    print(f"- Machine: {info['cpu']}, {info['usable_cpus']} usable CPUs, Python {info['python']}")
    print(f"- Date: {info['date']}; {args.runs} fresh processes per column, medians; page cache warm\n")
    print("| phase | with bytecode (the image) | without bytecode |")
    print("|---|---:|---:|")
    labels = {
        "interpreter": "interpreter + functions-framework + Flask",
        "imports": "function imports (numpy, OpenCV, onnxruntime, ...)",
        "server": "gunicorn start + fork",
        "load": "ONNX sessions",
        "warmup": "warm-up inference",
        "total": "**process start → ready**",
        "first_response": "command start → first OCR response (client)",
    }
    for key, label in labels.items():
        print(f"| {label} | {with_pyc[key] * 1000:.0f} ms | {without_pyc[key] * 1000:.0f} ms |")

    names = closure(_REPO / "requirements.txt")
    sizes = sorted(((installed_bytes(n), n) for n in names), reverse=True)
    total = sum(s for s, _ in sizes)
    print(
        f"\nRuntime dependencies ({len(names)} distributions from requirements.txt), installed: "
        f"{total / 1e6:.0f} MB. Largest:\n"
    )
    print("| distribution | MB |")
    print("|---|---:|")
    for size, name in sizes[:8]:
        print(f"| {name} | {size / 1e6:.1f} |")
    manifest = json.loads((_REPO / "model" / "manifest.json").read_text(encoding="utf-8"))
    default = manifest["default_set"]
    model_total = sum(f["bytes"] for f in manifest["files"].values())
    # Every file the default set's entry names (its models, character set and the shared page classifier).
    used = {
        value
        for part in manifest["sets"][default].values()
        if isinstance(part, dict)
        for key, value in part.items()
        if key in ("file", "charset")
    }
    default_total = sum(manifest["files"][name]["bytes"] for name in used)
    print(
        f"\nModel files: {model_total / 1e6:.1f} MB in all sets, {default_total / 1e6:.1f} MB in the default "
        f"set ({default})."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
