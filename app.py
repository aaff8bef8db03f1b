"""The Chalice app: one API (routes in chalicelib/handlers) plus the app's other Lambda functions.

Kept thin: it registers blueprints and middleware. Nothing here creates an AWS client.
"""
from __future__ import annotations

from typing import Any, Callable

from chalice import Chalice, ConvertToMiddleware, Response
from chalice.app import Request

from chalicelib import composition
from chalicelib.config import settings
from chalicelib.metric_names import http_status_class
from chalicelib.handlers import BLUEPRINTS
from chalicelib.observability import cold_start, logger, metrics, tracing_enabled
from chalicelib.web import request_id_of

composition.install()  # the composition root: DynamoDB repositories, built on first use (0023)
app = Chalice(app_name="public-housing")
for blueprint in BLUEPRINTS:
    app.register_blueprint(blueprint)

app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context(clear_state=True)))
if tracing_enabled():  # the X-Ray SDK costs ~200 ms of cold start: only when the city wants it (0007)
    from aws_lambda_powertools import Tracer

    app.register_middleware(ConvertToMiddleware(Tracer(service="public-housing").capture_lambda_handler))


@app.middleware("http")
def observe(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Correlation id on every log line and response; one metric per request, per city."""
    request_id = request_id_of(event)
    logger.set_correlation_id(request_id)
    logger.append_keys(city=settings().city_code)
    metrics.set_default_dimensions(city=settings().city_code)
    try:
        response = get_response(event)
        response.headers["X-Request-Id"] = request_id
        metrics.add_metric(name=http_status_class(response.status_code), unit="Count", value=1)
        return response
    finally:
        metrics.flush_metrics(raise_on_empty_metrics=False)
        metrics.clear_metrics()  # flushing does not clear when metrics are disabled (local, tests)


@app.middleware("all")
def count_events(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Every function counts its cold start; the app's other functions (workers, schedules, workflow
    steps) flush the business events they counted at the end of each invocation, per city."""
    cold_start()
    if isinstance(event, Request):
        return get_response(event)  # observe() flushes a request's metrics
    metrics.set_default_dimensions(city=settings().city_code)
    try:
        return get_response(event)
    finally:
        if metrics.metric_set:
            metrics.flush_metrics(raise_on_empty_metrics=False)
        metrics.clear_metrics()
