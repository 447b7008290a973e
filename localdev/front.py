"""The one port ``signoff dev`` listens on: Slack's Request URL, the HTTP API, health, and the
local Slack, each routed to what serves it in AWS (or stands in for it here).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from localdev.apigw import ApiGateway, answer_json
from localdev.health import Health

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
SLACK_EVENTS = "/slack/events"
API_PREFIXES = ("/runs", "/approvals/", "/callbacks/", "/usage", "/audit", "/openapi.json")

_logger = logging.getLogger("signoff.dev")


class FrontDoor:
    """Routes by path; answers 503 on everything but ``/healthz`` until ``ready`` is set.

    ``/healthz`` is 503 while starting, then checks each part ``health`` names whenever asked.
    """

    def __init__(
        self,
        *,
        slack_events: ApiGateway,
        api: ApiGateway,
        local_slack: WsgiApp | None,
        health: Health | None = None,
    ) -> None:
        self.slack_events = slack_events
        self.api = api
        self.local_slack = local_slack
        self.health = health or Health({})
        self.ready = threading.Event()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path == "/healthz":
            if not self.ready.is_set():
                return answer_json(start_response, 503, {"ready": False, "error": "starting"})
            status, report = self.health.report()
            return answer_json(start_response, status, report)
        if not self.ready.is_set():
            return answer_json(start_response, 503, {"message": "starting"})
        if path == SLACK_EVENTS:
            return self.slack_events(environ, start_response)
        if path.startswith(API_PREFIXES):
            return self.api(environ, start_response)
        if self.local_slack is not None:
            return self.local_slack(environ, start_response)
        return answer_json(start_response, 404, {"message": "Not Found"})


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # Slack's retries and the page's polls arrive in bursts


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        _logger.debug("%s %s", self.address_string(), format % args)


def serve(app: WsgiApp, host: str, port: int) -> WSGIServer:
    """A threaded WSGI server (a slow Slack ack must not hold up the page's polls)."""
    return make_server(
        host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
