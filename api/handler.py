"""The HTTP API (API Gateway HTTP API, payload 2.0): start runs, read them, decide, cancel,
report usage, and take long-running jobs' completions.

Routes are Powertools' APIGatewayHttpResolver with validation on: the pydantic models in
``api.models`` validate every request and generate ``/openapi.json``. Deciding goes
through ``agent.control.runs.ControlPlane``, the same exactly-once path as a Slack click.

Auth: in AWS the routes use IAM authorisation and the caller's IAM identity is recorded with
each decision; locally a bearer token (``SIGNOFF_API_TOKEN``) is required. A job's completion
URL (``/callbacks/{token}``) is its own credential: it needs neither.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from botocore.exceptions import ClientError
from pydantic import ValidationError

from agent.approvals.decisions import DECISION_ADAPTER, Decision
from agent.config import Settings, running_in_lambda
from agent.control.completions import Accepted, JobCompletions, JobReport
from agent.control.completions import Refused as JobRefused
from agent.control.runs import Closed, ControlPlane, Decided, Refused, RunConflict, RunNotFound
from agent.control.usage import DEFAULT_DAYS, MAX_DAYS, since, summarise
from agent.json_limits import TooDeep, check_depth
from agent.models import MAX_PRINCIPAL_LENGTH, SLACK_ID, RunRequest, describe_validation_error
from agent.secrets import with_secrets
from api.cursor import NOT_OURS, BadCursor, decode_cursor, encode_cursor
from api.models import (
    ApprovalView,
    CancelBody,
    DecisionAccepted,
    DecisionBody,
    ErrorBody,
    JobAccepted,
    JobCompletion,
    RunAccepted,
    RunPage,
    RunStatus,
    RunSummary,
    RunView,
    StartRun,
    UsageTotalsView,
    UsageView,
)

MAX_BODY_BYTES = 64 * 1024
MAX_CURSOR_LENGTH = 16 * 1024  # a requester's cursor carries the requester: up to 2 KB, twice
CALLBACKS_PREFIX = "/callbacks/"  # authorised by the token in the path
EXECUTION_STATUS: dict[str, RunStatus] = {
    "RUNNING": "running",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "STOPPED": "stopped",
    "TIMED_OUT": "timed_out",
}


class ApiError(Exception):
    """An answer with a status and a message naming the problem."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def build_api(settings: Settings, control: ControlPlane) -> APIGatewayHttpResolver:
    """The resolver with every route; ``control`` does the work."""
    app = APIGatewayHttpResolver(enable_validation=True)
    app.use(middlewares=[_authenticate(settings)])
    app.exception_handler(ApiError)(_api_error)
    app.exception_handler(RequestValidationError)(_validation_error)
    app.not_found(lambda _: _error(404, "no such route"))

    @app.post("/runs")
    def start_run(body: StartRun) -> Response[str]:
        caller = _caller(app)
        run_id = (
            run_id_for(body.idempotency_key)
            if body.idempotency_key
            else f"api-{uuid.uuid4().hex[:24]}"
        )
        existing = control.store.get_run(run_id)
        if existing is not None and existing.get("task") != body.task:
            raise ApiError(
                409, f"idempotency_key {body.idempotency_key!r} was used for another task"
            )
        try:
            request = RunRequest(
                task=body.task,
                requester=body.requester or caller,
                channel=body.channel,
                source="api",
                run_id=run_id,
                notify=body.notify,
                budget_usd=body.budget_usd,
                budget_tokens=body.budget_tokens,
            )
        except ValidationError as err:  # the caller's identity, when it is the requester
            raise ApiError(422, describe_validation_error(err, "run request")) from None
        try:
            control.start_run(request)
        except RunConflict as err:
            raise ApiError(409, str(err)) from None
        accepted = RunAccepted(run_id=run_id, status="running")
        return Response(202, "application/json", accepted.model_dump_json())

    @app.get("/runs/<run_id>")
    def get_run(run_id: str) -> RunView:
        return run_view(control, run_id)

    @app.get("/runs")
    def list_runs(
        status: Annotated[str | None, Query(max_length=32)] = None,
        requester: Annotated[str | None, Query(max_length=MAX_PRINCIPAL_LENGTH)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
    ) -> RunPage:
        try:
            start = decode_cursor(cursor, requester=requester)
            runs, after = control.store.list_runs(
                requester=requester, status=status, limit=limit, cursor=start
            )
        except BadCursor as err:
            raise ApiError(400, str(err)) from None
        except ClientError as err:  # a well-formed key the table still refuses as a start
            if start is None or err.response.get("Error", {}).get("Code") != "ValidationException":
                raise
            raise ApiError(400, NOT_OURS) from None
        summaries = [RunSummary.model_validate(run, from_attributes=False) for run in runs]
        return RunPage(runs=summaries, cursor=encode_cursor(after))

    @app.get("/usage")
    def usage(
        requester: Annotated[
            str | None, Query(min_length=1, max_length=MAX_PRINCIPAL_LENGTH)
        ] = None,
        channel: Annotated[str | None, Query(pattern=SLACK_ID)] = None,
        days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = DEFAULT_DAYS,
    ) -> UsageView:
        if requester is None and channel is None:
            raise ApiError(400, "give a requester, a channel or both")
        start = since(datetime.now(UTC), days)

        def totals(**key: str | None) -> UsageTotalsView:
            runs, more = control.store.runs_since(since=start, **key)
            return UsageTotalsView(**summarise(runs, partial=more).to_json())

        return UsageView(
            since=start,
            days=days,
            requester=totals(requester=requester) if requester else None,
            channel=totals(channel=channel) if channel else None,
        )

    @app.post("/approvals/<approval_id>/decision")
    def decide(approval_id: str, body: DecisionBody) -> DecisionAccepted:
        decision = _decision(body, _caller(app))
        match control.decide(approval_id, decision):
            case Decided(record=record):
                return DecisionAccepted(approval_id=approval_id, state=record.state)
            case Refused(reason=reason):
                raise ApiError(403, reason)
            case Closed(reason=reason):
                raise ApiError(404 if "does not exist" in reason else 409, reason)

    jobs = JobCompletions(control.store, control.lambda_client, control.lease_seconds)

    @app.post("/callbacks/<token>")
    def complete_job(
        token: str, body: Annotated[JobCompletion | None, Body()] = None
    ) -> JobAccepted:
        # No body at all is a bare "done": success with no result.
        fields = body.model_dump(exclude_unset=True) if body is not None else {}
        report = JobReport.from_body(fields)
        return _job_answer(jobs.complete(token, report))

    @app.post("/callbacks/<token>/heartbeat")
    def job_heartbeat(token: str) -> JobAccepted:
        return _job_answer(jobs.heartbeat(token))

    @app.post("/runs/<run_id>/cancel")
    def cancel(run_id: str, body: CancelBody) -> dict[str, str]:
        try:
            return {"run_id": run_id, "message": control.cancel(run_id, body.by)}
        except RunNotFound as err:
            raise ApiError(404, str(err)) from None

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> Response[str]:
        return Response(
            200, "application/json", app.get_openapi_json_schema(title="signoff API", version="1")
        )

    return app


def _job_answer(answer: Accepted | JobRefused) -> JobAccepted:
    if isinstance(answer, JobRefused):
        raise ApiError(answer.status, answer.reason)
    return JobAccepted(job_id=answer.job_id, state=answer.state)


def run_id_for(idempotency_key: str) -> str:
    """The run (and durable execution) name an idempotency key always maps to."""
    return "api-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]


def run_view(control: ControlPlane, run_id: str) -> RunView:
    """A run as the API shows it: live status, waiting approvals, decisions, result."""
    run = control.store.get_run(run_id)
    if run is None:
        raise ApiError(404, f"no run {run_id!r}")
    execution = _execution(control, run)
    records = [control.store.get_approval(a) for a in run.get("approval_ids", [])]
    gates = sorted((r for r in records if r is not None), key=lambda r: r.created_at)
    pending = [
        ApprovalView.model_validate(r.model_dump())
        for r in gates
        if r.state in ("pending", "claimed")
    ]
    decisions = [r.decision for r in gates if r.decision]
    status = EXECUTION_STATUS.get(str(execution.get("Status")), "running")
    if status == "running" and pending:
        status = "waiting_for_approval"
    return RunView(
        run_id=run_id,
        status=status,
        task=run["task"],
        requester=run["requester"],
        channel=run.get("channel"),
        created_at=run.get("created_at"),
        finished_at=run.get("finished_at"),
        note=run.get("note"),
        pending_approvals=pending,
        decisions=decisions,
        usage=run.get("usage"),
        usage_by_model=run.get("usage_by_model"),
        cost_usd=run.get("cost_usd"),
        budget=run.get("budget"),
        result=_result_text(execution),
    )


def _execution(control: ControlPlane, run: dict[str, Any]) -> dict[str, Any]:
    if not run.get("execution_arn"):
        return {"Status": "RUNNING"}
    try:
        response: dict[str, Any] = control.lambda_client.get_durable_execution(
            DurableExecutionArn=run["execution_arn"]
        )
        return response
    except ClientError:
        return {"Status": "RUNNING"}


def _result_text(execution: dict[str, Any]) -> str | None:
    try:
        result = json.loads(execution.get("Result") or "null")
    except json.JSONDecodeError:
        return None
    text = (result or {}).get("text") if isinstance(result, dict) else None
    if isinstance(text, dict):
        return str(text.get("text") or text.get("preview") or "") or None
    return None


def _decision(body: DecisionBody, caller: str) -> Decision:
    payload = body.model_dump(exclude_none=True, exclude={"by"})
    payload["decider"] = {"id": body.by, "name": body.by if caller.startswith("token:") else caller}
    payload["at"] = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        return DECISION_ADAPTER.validate_python(payload)
    except ValidationError as err:
        raise ApiError(422, describe_validation_error(err, "decision")) from None


def _caller(app: APIGatewayHttpResolver) -> str:
    """The IAM identity API Gateway verified, or the local token's holder."""
    iam = (
        app.current_event.request_context.authorizer.iam
        if app.current_event.request_context.authorizer
        else None
    )
    arn = getattr(iam, "user_arn", None) if iam else None
    return str(arn) if arn else "token:local"


def _authenticate(settings: Settings) -> Any:
    def middleware(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        path = app.current_event.path
        if path == "/openapi.json" or path.startswith(CALLBACKS_PREFIX):
            return next_middleware(app)
        authorizer = app.current_event.request_context.authorizer
        if authorizer is not None and authorizer.iam is not None and authorizer.iam.user_arn:
            return next_middleware(app)
        if not settings.api_token:
            return _error(401, "the API needs IAM auth or SIGNOFF_API_TOKEN")
        sent = app.current_event.headers.get("authorization", "")
        expected = f"Bearer {settings.api_token.value}"
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            return _error(401, "missing or wrong bearer token")
        return next_middleware(app)

    return middleware


def _error(status: int, message: str) -> Response[str]:
    return Response(status, "application/json", ErrorBody(error=message).model_dump_json())


def _api_error(err: ApiError) -> Response[str]:
    return _error(err.status, str(err))


def _validation_error(err: RequestValidationError) -> Response[str]:
    problems = []
    for item in err.errors():
        where = ".".join(str(part) for part in item.get("loc", ()) if part != "body") or "body"
        problems.append(f"{where}: {item.get('msg')}")
    return _error(422, "invalid request: " + "; ".join(problems))


@cache
def _api() -> APIGatewayHttpResolver:
    import boto3

    from agent.deps import build_slack_client
    from agent.storage.store import Store

    settings = Settings.from_env(with_secrets(os.environ))
    session = boto3.session.Session(region_name=settings.aws_region)
    control = ControlPlane(
        store=Store(session.resource("dynamodb").Table(settings.table_name)),
        lambda_client=session.client("lambda"),
        agent_function=settings.agent_function,
        slack=build_slack_client(settings),
        slash_command=settings.slash_command,
        approvers=settings.approvers,
        lease_seconds=settings.claim_lease_seconds,
    )
    return build_api(settings, control)


def serve(api: APIGatewayHttpResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer one API Gateway event; a body too big or too deeply nested is refused before
    anything parses it."""
    refusal = body_refusal(event)
    if refusal is not None:
        status, message = refusal
        headers = {"content-type": "application/json"}
        return {
            "statusCode": status,
            "headers": headers,
            "body": ErrorBody(error=message).model_dump_json(),
        }
    response: dict[str, Any] = api.resolve(event, context)
    return response


def body_refusal(event: dict[str, Any]) -> tuple[int, str] | None:
    """(status, why) for a body no route may read: over the size limit in bytes (not
    characters), not base64 where it says it is, or JSON nested too deep to parse."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except binascii.Error:
            return 400, "the body is marked base64 but is not"
    else:
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        return 413, f"the body is {len(raw)} bytes; at most {MAX_BODY_BYTES} are allowed"
    try:
        check_depth(raw.decode("utf-8", "replace"), "the body")
    except TooDeep as err:
        return 400, str(err)
    return None


def cold_start() -> None:
    """Read and check every setting and build the clients now (Lambda's init phase, below;
    ``signoff dev`` at start): a bad setting stops the start, named, instead of failing
    every request."""
    _api()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    return serve(_api(), event, context)


if running_in_lambda(os.environ):
    cold_start()
