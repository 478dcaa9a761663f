"""Serve the ``ocr`` function: ``python -m function.server [--host HOST] [--port PORT]``.

The app is the one ``functions-framework --target ocr --source function/main.py`` builds (so the handler,
its routes and its answers are the same); the difference is the server around it: one gunicorn worker of
class :class:`~.worker.OcrWorker`, request threads from ``THREADS`` (4 per CPU by default, as in
functions-framework), and gunicorn settings taken from ocrfn's own (shutdown timeout, limits on the
request line and headers) instead of fixed ones. gunicorn's control socket is off: the service needs
none, and it would be written under ``$HOME``, which a read-only container does not have.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

from ..settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "function" / "main.py"
#: Connections one worker holds at most (idle and reading heads cost a poller entry each, no thread).
WORKER_CONNECTIONS = 4096


def gunicorn_options(settings: Settings, host: str, port: int) -> dict[str, Any]:
    """Return the gunicorn settings of the server, from ocrfn's settings."""
    options: dict[str, Any] = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": 1,
        "worker_class": "function.server.worker.OcrWorker",
        "threads": settings.server_threads,
        "worker_connections": WORKER_CONNECTIONS,
        "timeout": 0,  # as functions-framework: a long document must not get its worker killed
        "graceful_timeout": math.ceil(settings.shutdown_timeout),
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        "loglevel": os.environ.get("GUNICORN_LOG_LEVEL", "error"),
        "control_socket_disable": True,
    }
    if Path("/dev/shm").is_dir():
        options["worker_tmp_dir"] = "/dev/shm"  # the heartbeat file, on a filesystem that is writable
    return options


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, build the app, serve until stopped."""
    parser = argparse.ArgumentParser(prog="python -m function.server", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"), help="address to listen on")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")), help="port")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ValueError as exc:
        print(f"ocrfn: {exc}", file=sys.stderr)
        return 2

    import functions_framework
    from gunicorn.app.base import BaseApplication

    app = functions_framework.create_app("ocr", str(SOURCE), "http")
    # functions-framework answers /favicon.ico and /robots.txt itself with an HTML 404, unlogged and
    # without a request id; route them to the function like every other path.
    run = app.view_functions["run"]
    app.view_functions["error"] = lambda **_: run("")
    options = gunicorn_options(settings, args.host, args.port)

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return app

    Server().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
