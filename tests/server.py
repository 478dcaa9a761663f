"""Start ocrfn the way users do (``python -m function.server``, the README's command) for tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def server_command() -> list[str]:
    """The README's run command, with this interpreter (the venv's)."""
    return [sys.executable, "-m", "function.server"]


def functions_framework_command() -> list[str]:
    """functions-framework's own command for the same function (still supported, e.g. for buildpacks)."""
    script = Path(sys.executable).with_name("functions-framework")
    exe = str(script) if script.exists() else shutil.which("functions-framework")
    if exe is None:
        raise RuntimeError("functions-framework is not installed")
    return [exe, "--target", "ocr", "--source", "function/main.py"]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One server process; stdout and stderr go to files so a test can read the logs."""

    def __init__(
        self,
        log_dir: Path,
        env: Mapping[str, str] | None = None,
        command: list[str] | None = None,
        cwd: Path = ROOT,
        inherit_env: bool = True,
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stdout_path = log_dir / f"server-{self.port}.out"
        self.stderr_path = log_dir / f"server-{self.port}.err"
        base = (
            os.environ
            if inherit_env
            else {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
        )
        full_env = {k: v for k, v in base.items() if not k.startswith(("OCRFN_", "K_"))}
        full_env.update({"PORT": str(self.port), "OCRFN_THREADS": "2"})
        full_env.update(env or {})
        self._out = open(self.stdout_path, "wb")  # noqa: SIM115 - closed in stop()
        self._err = open(self.stderr_path, "wb")  # noqa: SIM115
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            command or server_command(),
            cwd=cwd,
            env=full_env,
            stdout=self._out,
            stderr=self._err,
        )

    def wait_listening(self, timeout: float = 30.0) -> None:
        """Return once the port accepts connections."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.stderr()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.005)
        raise TimeoutError("server did not listen in time")

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Return once ``/ready`` answers 200."""
        self.wait_listening(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/ready", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.02)
        raise TimeoutError(f"server not ready in time: {self.stderr()}")

    def first_ocr_seconds(self, image: bytes, timeout: float = 60.0) -> float:
        """Send a single-line OCR request until one succeeds; seconds from process start to that answer."""
        self.wait_listening(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                response = requests.post(
                    self.url + "/api/ocr?detect=false",
                    data=image,
                    headers={"Content-Type": "image/png"},
                    timeout=10,
                )
                if response.status_code == 200:
                    return time.monotonic() - self.started
            except requests.RequestException:
                pass
            time.sleep(0.005)
        raise TimeoutError("no successful OCR answer in time")

    def tree_rss(self, workers_only: bool = False) -> int:
        """Resident bytes of master, worker and decoder processes (*workers_only*: without the master)."""
        return tree_rss(self.process.pid, workers_only)

    def stdout(self) -> str:
        """Everything the server wrote to stdout so far."""
        if not self._out.closed:
            self._out.flush()
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        """Everything the server wrote to stderr so far."""
        if not self._err.closed:
            self._err.flush()
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def terminate(self) -> None:
        """Send SIGTERM (what Kubernetes sends when a pod stops)."""
        self.process.send_signal(signal.SIGTERM)

    def stop(self) -> int:
        """Stop the server (SIGTERM, then SIGKILL after 30 s); returns its exit code."""
        code = end_process(self.process)
        self._out.close()
        self._err.close()
        return code


def end_process(process: subprocess.Popen, grace: float = 30.0) -> int:
    """Stop *process* if it runs (SIGTERM, then SIGKILL after *grace* seconds); return its exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def wait_for_http(process: subprocess.Popen, url: str, timeout: float) -> None:
    """Return once *url* answers 200; fail at once if *process* (the one serving it) exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            command = " ".join(str(part) for part in process.args)
            raise RuntimeError(f"{command} exited with {process.returncode}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer 200 in {timeout:g} s")


def tree_rss(root: int, without_root: bool = False) -> int:
    """Resident bytes of process *root* and all its descendants (*without_root*: descendants only)."""
    pending = [root]
    total = 0
    while pending:
        pid = pending.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
            # Children are listed per thread that started them (decoder processes come from threads).
            children = [c for t in Path(f"/proc/{pid}/task").iterdir() for c in _children(t)]
        except OSError:
            continue
        if not (without_root and pid == root):
            kb = [int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")]
            total += sum(kb) * 1024  # none for a process that is exiting
        pending.extend(int(c) for c in children)
    return total


def _children(task: Path) -> list[str]:
    try:
        return (task / "children").read_text(encoding="ascii").split()
    except OSError:
        return []


@contextmanager
def running(log_dir: Path, env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """A server started and ready for the ``with`` block, stopped after it."""
    server = Server(log_dir, env)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
