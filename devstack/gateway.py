"""The local server's edge, answering what API Gateway answers in the deployed stack.

Chalice's local server answers an unknown path itself, with its own body ("Missing Authentication
Token", or a message that echoes the caller's Authorization header), and an unknown method with
Chalice's ``MethodNotAllowedError``. Here both answer the API's error envelope, from the one table
in chalicelib/web.py: 404 ``ROUTE_NOT_FOUND`` and 405 ``METHOD_NOT_ALLOWED`` (with ``Allow``), and
nothing of the request is echoed. In the deployed API the same envelope comes from the gateway
responses in infra/stack.py.

The server also keeps a longer listen backlog than http.server's 5, so a burst of parallel
clients (the race tests, the bench) is queued rather than reset.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

from chalice.local import ChaliceRequestHandler, ThreadedHTTPServer

#: Methods API Gateway routes; OPTIONS is answered by Chalice (CORS preflight) where a route exists.
KNOWN_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class EdgeServer(ThreadedHTTPServer):
    request_queue_size = 128
    daemon_threads = True


class EdgeRequestHandler(ChaliceRequestHandler):
    """Chalice's handler, with unknown routes and methods answered in the API's envelope."""

    def _generic_handle(self) -> None:
        refusal = self._refusal()
        if refusal is None:
            super()._generic_handle()
            return
        status, headers, body = refusal
        length = int(self.headers.get("content-length") or 0)
        if 0 < length <= 1_048_576:
            self.rfile.read(length)  # keep the connection in step; the body is not looked at
        self._send_http_response(status, headers, body)

    def _refusal(self) -> tuple[int, dict[str, str], str] | None:
        from chalicelib import errors
        from chalicelib.web import JSON_TYPE, error_body

        app: Any = self.local_gateway._app_object
        try:
            resource = self.local_gateway.event_converter._route_matcher.match_route(self.path).route
        except ValueError:
            resource = None
        request_id = str(uuid.uuid4())
        if resource is None:
            status, body = error_body(errors.RouteNotFound(), request_id)
            return status, {"Content-Type": JSON_TYPE, "x-amzn-RequestId": request_id}, json.dumps(
                body, ensure_ascii=False)
        methods = app.routes.get(resource, {})
        if self.command in methods or (self.command == "OPTIONS" and self.command in KNOWN_METHODS):
            return None
        status, body = error_body(errors.MethodNotAllowed(), request_id)
        return status, {"Content-Type": JSON_TYPE, "Allow": ", ".join(sorted(methods)),
                        "x-amzn-RequestId": request_id}, json.dumps(body, ensure_ascii=False)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle
    # anything else (TRACE, CONNECT, made-up verbs) is a 405 too, not http.server's HTML 501
    do_TRACE = do_CONNECT = do_PROPFIND = _generic_handle
