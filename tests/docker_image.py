"""Build and run ocrfn's image with a real Docker engine, for the image test and the container benchmark.

Container registries are not reachable from every machine, so the base image (``python:3.11-slim-bookworm``)
may not be there to pull. When it is absent, a faithful stand-in is built once and kept in the engine's
image store: Debian bookworm from ``debootstrap --variant=minbase`` with Debian's python3.11 at
``/usr/local/bin/python``, the host's CA certificates (so pip reaches PyPI wherever the host's pip does),
and no ``.pyc`` files in the standard library, as the official image ships it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = "python:3.11-slim-bookworm"
STANDIN = "ocrfn-standin/python:3.11-slim-bookworm"
MIRROR = "http://deb.debian.org/debian"
PACKAGES = (
    "python3.11,python3.11-venv,python3-distutils,python3-pip-whl,python3-setuptools-whl,ca-certificates"
)
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
#: How the Knative Service runs it: read-only root, memory-backed /dev/shm, 2 CPUs, 1280 MiB.
RUN_FLAGS = ["--read-only", "--tmpfs", "/dev/shm", "--cpus", "2", "-m", "1280m"]


class Unavailable(Exception):
    """No Docker engine to talk to, or no way to get a base image (the reason says which)."""


def docker(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a docker command; its output as text."""
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=check)


def engine() -> None:
    """Raise :class:`Unavailable` unless a Docker engine answers."""
    if shutil.which("docker") is None:
        raise Unavailable("no docker command (apt-get install docker.io)")
    probe = docker("info", "--format", "{{.ServerVersion}}", timeout=30, check=False)
    if probe.returncode != 0:
        raise Unavailable(f"no Docker engine reachable: {probe.stderr.strip()[:200]}")


def exists(tag: str) -> bool:
    """Whether the engine has image *tag*."""
    return docker("image", "inspect", tag, timeout=60, check=False).returncode == 0


def base_image() -> str:
    """The base to build on: the real one if the engine has it, else the stand-in (built once)."""
    if exists(BASE):
        return BASE
    if not exists(STANDIN):
        build_standin()
    return STANDIN


def build_standin() -> None:
    """Build the stand-in base with debootstrap (needs root, debootstrap and Debian's mirror)."""
    if shutil.which("debootstrap") is None:
        raise Unavailable(f"{BASE} is not in the engine and debootstrap is missing to build a stand-in")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={PACKAGES}", "bookworm", str(root), MIRROR],
            check=True,
            capture_output=True,
            timeout=1200,
        )
        for cache in (root / "usr" / "lib" / "python3.11").rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        for bulk in ("usr/share/doc", "usr/share/man", "usr/share/locale", "var/cache/apt/archives"):
            shutil.rmtree(root / bulk, ignore_errors=True)
        for name in ("python", "python3"):
            (root / "usr" / "local" / "bin" / name).symlink_to("/usr/bin/python3.11")
        if HOST_CA.is_file():
            shutil.copy(HOST_CA, root / "etc" / "ssl" / "certs" / "ca-certificates.crt")
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        changes = [
            "ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
            'CMD ["python3"]',
        ]
        command = ["docker", "import", *(a for c in changes for a in ("--change", c)), "-", STANDIN]
        subprocess.run(command, stdin=tar.stdout, check=True, capture_output=True, timeout=600)
        tar.wait()


def build(tag: str, base: str) -> float:
    """``docker build`` the repository as *tag* on *base*; the seconds it took."""
    started = time.monotonic()
    docker("build", "-q", "--build-arg", f"BASE={base}", "-t", tag, str(ROOT), timeout=1800)
    return time.monotonic() - started


def run(tag: str, *extra: str) -> tuple[str, int]:
    """Start a container of *tag* as Knative would, port 8080 on a free loopback port; (id, port)."""
    container = docker("run", "-d", *RUN_FLAGS, "-p", "127.0.0.1::8080", *extra, tag).stdout.strip()
    port = docker("port", container, "8080/tcp").stdout.strip().splitlines()[0].rsplit(":", 1)[1]
    return container, int(port)
