"""One cold start of the Slack function: import the handler, answer one signed ``/agent``.

The caller points ``SLACK_API_URL`` and ``AWS_ENDPOINT_URL_LAMBDA`` at local stand-ins: the
ack path calls ``auth.test`` once per container and fires the lazy listener's self-invoke.
Prints ``{"status", "anthropic_imported", "import_ms", "ack_ms"}`` as JSON. A fresh Python
process per measurement is the point, so run it as ``python -m bench.cold_ack``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any


def signed_command_event(text: str = "draft the status") -> dict[str, Any]:
    """A signed ``/agent`` request, every field Slack sends, as API Gateway hands it over.

    Its ``response_url`` points at the local Slack stand-in (``SLACK_API_URL``'s server)."""
    from urllib.parse import urlencode

    from slack_sdk.signature import SignatureVerifier

    slack = os.environ.get("SLACK_API_URL", "http://127.0.0.1:9/api/").removesuffix("api/")
    form = {
        "token": "legacy",
        "team_id": "T1",
        "team_domain": "bench",
        "channel_id": "C1",
        "channel_name": "general",
        "user_id": "U1",
        "user_name": "bench",
        "command": "/agent",
        "text": text,
        "api_app_id": "A1",
        "response_url": f"{slack}respond/C1/U1",
        "trigger_id": f"bench.{time.time_ns()}",
    }
    body = urlencode(form)
    ts = str(int(time.time()))
    secret = os.environ["SLACK_SIGNING_SECRET"]
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "version": "2.0",
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {"http": {"method": "POST"}},
        "headers": {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": ts,
            "x-slack-signature": signature,
        },
    }


def main() -> None:
    started = time.perf_counter()
    os.environ.setdefault("SLACK_SIGNING_SECRET", "bench-secret")
    os.environ.setdefault("SLACK_BOT_TOKEN", "xoxb-bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from slack_app.lambda_handler import handler

    imported = time.perf_counter()
    event = signed_command_event()
    context = type(
        "Context",
        (),
        {
            "function_name": "signoff-slack",
            "aws_request_id": "bench",
            "invoked_function_arn": "arn:aws:lambda:us-east-1:0:function:x",
        },
    )
    response = handler(event, context())
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "status": response["statusCode"],
                "anthropic_imported": "anthropic" in sys.modules,
                "import_ms": round((imported - started) * 1000, 1),
                "ack_ms": round((done - started) * 1000, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
