"""The local simulators' HTTP plumbing (departments, the real-name check): a threaded loopback server
that hands every POST to its simulator's ``_handle`` (a GET to ``_handle_get``: 404 unless it
answers) and answers JSON (or the bytes, headers and type given), closing each connection, and
the start/stop every simulator shares (``LoopbackSimulator``)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() never waits for a "slow" answer still sleeping
    simulator: Any  # has _handle(handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is expected here, not worth a traceback


class SimulatorHandler(BaseHTTPRequestHandler):
    server: SimulatorServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.server.simulator._handle(self)

    def do_GET(self) -> None:  # noqa: N802
        self.server.simulator._handle_get(self)

    def reply(self, status: int, body: Any, headers: dict[str, str] | None = None,
              content_type: str | None = "application/json; charset=utf-8") -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        self.wfile.write(raw)


class LoopbackSimulator:
    """A simulator served on loopback in a daemon thread; subclasses answer in ``_handle``."""

    thread_name = "simulator"
    host: str
    port: int
    _server: SimulatorServer | None = None
    _thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Any:
        self._server = SimulatorServer((self.host, self.port), SimulatorHandler)
        self._server.simulator = self
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _handle(self, h: SimulatorHandler) -> None:
        raise NotImplementedError

    def _handle_get(self, h: SimulatorHandler) -> None:
        h.reply(404, {"error": "not_found"})
