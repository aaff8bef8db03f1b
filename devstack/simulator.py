"""The local simulators' HTTP plumbing (departments, the real-name check): a threaded loopback server
that hands every POST to its simulator's ``_handle`` and answers JSON, closing each connection."""
from __future__ import annotations

import json
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
        self.reply(404, {"error": "not_found"})

    def reply(self, status: int, body: Any) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        self.wfile.write(raw)
