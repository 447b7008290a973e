"""A local API Gateway front: each HTTP request becomes an HTTP API (payload 2.0) event.

The Lambda handlers that run in AWS answer unchanged; this is the translation API Gateway
does, in both directions, as a WSGI app (so any WSGI server, or a test client, can host it).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


def http_api_event(
    method: str, path: str, query: str, headers: dict[str, str], body: bytes, source_ip: str
) -> dict[str, Any]:
    """The event API Gateway's HTTP API sends a Lambda for this request."""
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    params = dict(parse_qsl(query, keep_blank_values=True))
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {name.lower(): value for name, value in headers.items()},
        "queryStringParameters": params or None,
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip},
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": int(time.time() * 1000),
        },
        "body": text or None,
        "isBase64Encoded": encoded,
    }


class ApiGateway:
    """Routes requests by path prefix to Lambda handlers; a WSGI application."""

    def __init__(self, routes: list[tuple[str, LambdaHandler]], context_for: Callable[[str], Any]):
        self.routes = routes
        self.context_for = context_for

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        target = next((h for prefix, h in self.routes if path.startswith(prefix)), None)
        if target is None:
            return answer_json(start_response, 404, {"message": "Not Found"})
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY_BYTES:
            return answer_json(start_response, 413, {"message": "Request Entity Too Large"})
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-"): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        event = http_api_event(
            environ["REQUEST_METHOD"],
            path,
            environ.get("QUERY_STRING", ""),
            headers,
            body,
            environ.get("REMOTE_ADDR", "127.0.0.1"),
        )
        response = target(event, self.context_for(path))
        payload = response.get("body") or ""
        data = (
            base64.b64decode(payload) if response.get("isBase64Encoded") else str(payload).encode()
        )
        return answer(
            start_response,
            int(response.get("statusCode", 200)),
            response.get("headers") or {},
            data,
        )


def answer_json(start_response: StartResponse, status: int, body: Any) -> list[bytes]:
    """A JSON response (the local stack's own routes answer with these too)."""
    headers = {"content-type": "application/json; charset=utf-8"}
    return answer(start_response, status, headers, json.dumps(body).encode())


def answer(
    start_response: StartResponse, status: int, headers: dict[str, str], body: bytes
) -> list[bytes]:
    """Start a WSGI response with its reason phrase and Content-Length."""
    header_list = [
        (name, str(value)) for name, value in headers.items() if name.lower() != "content-length"
    ]
    header_list.append(("Content-Length", str(len(body))))
    start_response(f"{status} {_reason(status)}", header_list)
    return [body]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # a status the standard does not name
        return "Status"
