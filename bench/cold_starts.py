"""Cold and warm acks of the Slack function, and the agent's cold import.

- ``ack_cold_ms``: a fresh process imports the Slack handler and answers one signed
  ``/agent <task>`` (median of 10 processes); Slack allows 3000 ms.
- ``ack_warm_ms``: the same request on a warm handler (median of 20).
- ``agent_cold_import_ms``: a fresh process imports ``agent.handler`` (median of 5).

Bytecode is compiled first, as a Lambda bundle ships it. Slack's Web API and Lambda's Invoke
are local stand-ins (``auth.test`` once per container, the lazy listener's self-invoke).
"""

from __future__ import annotations

import compileall
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.results import merge_results
from tests.fakes.aws import FakeLambdaInvoke
from tests.fakes.slack import FakeSlack

REPO = Path(__file__).resolve().parent.parent


def fresh_process_ms(args: list[str], env: dict[str, str]) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, check=True
    )
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def agent_import_ms(env: dict[str, str]) -> float:
    code = (
        "import time; t = time.perf_counter(); import agent.handler; "
        "print(round((time.perf_counter() - t) * 1000, 1))"
    )
    started = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return float(started.stdout.strip())


def warm_ack_ms(env: dict[str, str]) -> float:
    os.environ.update(env)
    from bench.cold_ack import signed_command_event
    from slack_app.lambda_handler import handler

    context = type(
        "Context",
        (),
        {
            "function_name": "signoff-slack",
            "aws_request_id": "bench",
            "invoked_function_arn": "arn:aws:lambda:us-east-1:0:function:x",
        },
    )()
    handler(signed_command_event(), context)  # warm up
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        assert handler(signed_command_event(), context)["statusCode"] == 200
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 1)


def main() -> None:
    for folder in ("agent", "slack_app", sys.prefix):
        compileall.compile_dir(str(REPO / folder) if folder != sys.prefix else folder, quiet=1)
    invoke = FakeLambdaInvoke()
    with FakeSlack() as slack:
        env = {
            **os.environ,
            "SLACK_API_URL": slack.api_url,
            "AWS_ENDPOINT_URL_LAMBDA": invoke.endpoint_url,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "SLACK_SIGNING_SECRET": "bench-secret",
            "SLACK_BOT_TOKEN": "xoxb-bench",
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        cold = [fresh_process_ms(["-m", "bench.cold_ack"], env) for _ in range(10)]
        assert all(run["status"] == 200 and not run["anthropic_imported"] for run in cold)
        metrics = {
            "ack_cold_ms": statistics.median(run["ack_ms"] for run in cold),
            "ack_cold_import_ms": statistics.median(run["import_ms"] for run in cold),
            "agent_cold_import_ms": statistics.median(agent_import_ms(env) for _ in range(5)),
            "ack_warm_ms": warm_ack_ms(env),
        }
    invoke.stop()
    merge_results(metrics)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
